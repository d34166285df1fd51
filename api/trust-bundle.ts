// The trust bundle file format (JSON), shared by the CLI, global-lb (which stores and distributes it) and agents.
import { z } from 'zod';
import { isTrustDomain } from './identity.ts';

const PEM_CERT = /^-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\r?\n?$/;

/**
 * A trust bundle file: `meshfed trust bundle ...` maintains it, global-lb distributes it (as the proto TrustBundle).
 * - trustDomain: the federation's own trust domain.
 * - roots: one PEM certificate per entry; every root valid now, so a root rotates by overlap.
 * - aliases: other trust domains accepted as equivalent (e.g. after a rename, or a merged mesh).
 * - revokedSerials: hex serials of revoked intermediate CAs.
 * - version: a content hash, recomputed on every edit (compare for equality only).
 * - issuedAt, signature: set by `meshfed trust publish` (trust/bundle-signature.ts); agents and sidecars take a
 *   bundle only when a key they already trust signed exactly this content at that time. An edit drops both.
 */
export const TrustBundleSchema = z.strictObject({
  trustDomain: z.string().refine(isTrustDomain, { message: 'not a SPIFFE trust domain (lowercase letters, digits, ".", "-", "_"), e.g. "example.org"' }),
  roots: z.array(z.string().regex(PEM_CERT, 'each root must be one PEM certificate ("-----BEGIN CERTIFICATE-----...")')).default([]),
  aliases: z.array(z.string().refine(isTrustDomain, { message: 'not a SPIFFE trust domain' })).default([]),
  revokedSerials: z.array(z.string().regex(/^[0-9a-fA-F:]+$/, 'a serial is hex, e.g. "1f3a..." or "1F:3A:..."')).default([]),
  version: z.string().default(''),
  issuedAt: z.iso.datetime({ message: 'an ISO 8601 UTC time, e.g. 2026-12-04T05:00:00.000Z' }).optional(),
  signature: z.strictObject({
    signer: z.string().regex(/^(root|key):[0-9a-f]{64}$/, 'root:<sha256 fingerprint> or key:<sha256 of the public key>'),
    value: z.string().regex(/^[A-Za-z0-9+/=]+$/, 'base64'),
  }).optional(),
});

/** Who signed a bundle ("root:<fingerprint>" or "key:<spki sha256>") and the signature (base64). */
export type BundleSignature = {
  readonly signer: string;
  readonly value: string;
};

/** A validated trust bundle (plain, JSON-serialisable data). */
export type TrustBundle = {
  readonly trustDomain: string;
  readonly roots: readonly string[];
  readonly aliases: readonly string[];
  readonly revokedSerials: readonly string[];
  readonly version: string;
  readonly issuedAt?: string;
  readonly signature?: BundleSignature;
};
