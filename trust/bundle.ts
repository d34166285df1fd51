// The trust bundle: roots valid now, trust-domain aliases, revoked intermediate serials; edits, JSON and proto forms.
import { createHash, X509Certificate } from 'node:crypto';
import { deepFreeze } from '../common/freeze.ts';
import { validateConfig, parseConfig } from '../api/load.ts';
import { TrustBundleSchema, type TrustBundle } from '../api/trust-bundle.ts';
import type { TrustBundle as TrustBundleProto } from '../api/generated/meshfed/v1/TrustBundle.ts';
import { isTrustDomain } from '../api/identity.ts';
import { normalizeSerial, splitPem } from './pem.ts';
import { trustError } from './errors.ts';

export type { TrustBundle } from '../api/trust-bundle.ts';
export { TrustBundleSchema } from '../api/trust-bundle.ts';

/**
 * Parses the first PEM certificate in `pem` with node:crypto (text around the block, CRLF and indentation are
 * tolerated). The bundle works without @peculiar/x509, so the sidecars that load it stay light.
 */
function parseCert(pem: string): X509Certificate {
  return new X509Certificate(splitPem(pem)[0] ?? pem);
}

/** The canonical PEM of a root: 64-column base64, LF line ends, one trailing newline. */
function canonicalPem(certPem: string): string {
  try {
    return parseCert(certPem).toString();
  } catch (cause) {
    throw trustError('MESHFED_E_TRUST_BUNDLE_INVALID', 'a root is not a PEM certificate', cause);
  }
}

/** The content hash used as the bundle's version: equal content, equal version, whatever the order of entries. */
export function bundleVersion(b: Omit<TrustBundle, 'version'>): string {
  const h = createHash('sha256');
  h.update(JSON.stringify([b.trustDomain, [...b.roots].sort(), [...b.aliases].sort(), [...b.revokedSerials].sort()]));
  return h.digest('hex').slice(0, 16);
}

/** Builds a frozen bundle with normalised entries (sorted, de-duplicated) and a fresh version. */
export function makeBundle(input: { trustDomain: string; roots?: readonly string[]; aliases?: readonly string[]; revokedSerials?: readonly string[] }): TrustBundle {
  if (!isTrustDomain(input.trustDomain)) throw trustError('MESHFED_E_TRUST_BUNDLE_INVALID', `"${input.trustDomain}" is not a SPIFFE trust domain`);
  for (const a of input.aliases ?? []) if (!isTrustDomain(a)) throw trustError('MESHFED_E_TRUST_BUNDLE_INVALID', `alias "${a}" is not a SPIFFE trust domain`);
  const roots = [...new Set((input.roots ?? []).map(canonicalPem))];
  const aliases = [...new Set(input.aliases ?? [])].filter((a) => a !== input.trustDomain).sort();
  const revokedSerials = [...new Set((input.revokedSerials ?? []).map(normalizeSerial))].sort();
  const body = { trustDomain: input.trustDomain, roots, aliases, revokedSerials };
  return deepFreeze({ ...body, version: bundleVersion(body) });
}

/** Adds roots (PEM text, one or more certificates); each must be a self-signed CA. Idempotent. */
export function addRoots(b: TrustBundle, pemText: string): TrustBundle {
  const pems = splitPem(pemText);
  if (pems.length === 0) throw trustError('MESHFED_E_TRUST_BUNDLE_INVALID', 'no PEM certificate found to add as a root');
  for (const p of pems) {
    const c = parseCert(p);
    if (c.subject !== c.issuer) throw trustError('MESHFED_E_TRUST_BUNDLE_INVALID', `${c.subject.replace(/\n/g, ', ')} is not self-signed; only roots belong in a bundle`);
  }
  return makeBundle({ ...b, roots: [...b.roots, ...pems] });
}

/** A short, stable name for a root: the SHA-256 fingerprint of its DER, hex. */
export function rootFingerprint(certPem: string): string {
  return createHash('sha256').update(parseCert(certPem).raw).digest('hex');
}

/**
 * Removes the roots matching `selector`: PEM text of the root, its SHA-256 fingerprint (or a unique prefix of at least
 * 8 hex digits), or its serial. Refuses to remove the last root, and refuses a selector that matches nothing.
 */
export function removeRoot(b: TrustBundle, selector: string): TrustBundle {
  const sel = selector.trim();
  const pemSel = splitPem(sel)[0];
  const fpSel = sel.toLowerCase().replace(/:/g, '');
  const matches = b.roots.filter((r) => {
    if (pemSel) return canonicalPem(pemSel) === r;
    const fp = rootFingerprint(r);
    if (fpSel.length >= 8 && /^[0-9a-f]+$/.test(fpSel) && fp.startsWith(fpSel)) return true;
    return /^[0-9a-f]+$/.test(fpSel) && normalizeSerial(parseCert(r).serialNumber) === normalizeSerial(fpSel);
  });
  if (matches.length === 0) throw trustError('MESHFED_E_TRUST_BUNDLE_INVALID', `no root in the bundle matches "${sel.length > 80 ? sel.slice(0, 80) + '…' : sel}"`);
  const roots = b.roots.filter((r) => !matches.includes(r));
  if (roots.length === 0) throw trustError('MESHFED_E_TRUST_BUNDLE_INVALID', 'refusing to remove the last root: add the new root first (rotation by overlap)');
  return makeBundle({ ...b, roots });
}

/** Accepts another trust domain as equivalent to the bundle's own. */
export function addAlias(b: TrustBundle, alias: string): TrustBundle {
  return makeBundle({ ...b, aliases: [...b.aliases, alias] });
}

/** Revokes intermediate CAs by serial (hex, colons allowed). */
export function revokeSerial(b: TrustBundle, serial: string): TrustBundle {
  if (!/^[0-9a-fA-F:]+$/.test(serial)) throw trustError('MESHFED_E_TRUST_BUNDLE_INVALID', `"${serial}" is not a hex serial number`);
  return makeBundle({ ...b, revokedSerials: [...b.revokedSerials, serial] });
}

/** Roots whose validity window contains `now`; the ones verifyPeer can chain to. */
export function rootsValidAt(b: TrustBundle, now: Date): string[] {
  return b.roots.filter((r) => {
    const c = parseCert(r);
    return new Date(c.validFrom) <= now && now <= new Date(c.validTo);
  });
}

/** Drops roots that have expired, so a rotated-out root leaves the bundle on its own. */
export function pruneExpiredRoots(b: TrustBundle, now: Date): TrustBundle {
  const keep = b.roots.filter((r) => new Date(parseCert(r).validTo) >= now);
  return keep.length === b.roots.length || keep.length === 0 ? b : makeBundle({ ...b, roots: keep });
}

/** JSON text of a bundle file (stable key order, trailing newline); issuedAt and signature when it is signed. */
export function bundleToJson(b: TrustBundle): string {
  const signed = b.signature !== undefined ? { issuedAt: b.issuedAt, signature: b.signature } : {};
  return JSON.stringify({ trustDomain: b.trustDomain, roots: b.roots, aliases: b.aliases, revokedSerials: b.revokedSerials, version: b.version, ...signed }, null, 2) + '\n';
}

/** The normalised bundle of `v`, keeping its issue time and signature (which cover the normalised content). */
function normalised(v: { trustDomain: string; roots?: readonly string[]; aliases?: readonly string[]; revokedSerials?: readonly string[]; issuedAt?: string | undefined; signature?: TrustBundle['signature'] }): TrustBundle {
  const b = makeBundle(v);
  if (v.signature === undefined || v.issuedAt === undefined) return b;
  return deepFreeze({ ...b, issuedAt: v.issuedAt, signature: { signer: v.signature.signer, value: v.signature.value } });
}

/** Parses and validates bundle JSON (errors name the path); entries are normalised and the version recomputed. */
export function bundleFromJson(text: string, fileName = 'bundle.json'): TrustBundle {
  return normalised(parseConfig(TrustBundleSchema, text, fileName));
}

/** Validates an already-parsed value (e.g. read from etcd). */
export function bundleFromValue(value: unknown, fileName = 'bundle'): TrustBundle {
  return normalised(validateConfig(TrustBundleSchema, value, fileName));
}

/** The Federation proto message for a bundle. */
export function bundleToProto(b: TrustBundle): TrustBundleProto {
  return {
    trust_domain: b.trustDomain, root_pems: [...b.roots], aliases: [...b.aliases], revoked_serials: [...b.revokedSerials], version: b.version,
    ...(b.signature !== undefined ? { issued_at: b.issuedAt, signer: b.signature.signer, signature: b.signature.value } : {}),
  };
}

/** A bundle from the Federation proto message; validated like a file. */
export function bundleFromProto(m: TrustBundleProto): TrustBundle {
  return bundleFromValue({
    trustDomain: m.trust_domain ?? '', roots: m.root_pems ?? [], aliases: m.aliases ?? [], revokedSerials: m.revoked_serials ?? [],
    ...(m.signer ? { issuedAt: m.issued_at, signature: { signer: m.signer, value: m.signature } } : {}),
  }, 'TrustBundle');
}
