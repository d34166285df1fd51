// Signed trust bundles: a bundle takes effect only when a key its receiver already trusts signed it (a current root,
// or an operator key pinned in the receiver's config), it holds at least one root, and it is not older than the one in force.
import { createHash, createPrivateKey, createPublicKey, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { deepFreeze } from '../common/freeze.ts';
import type { BundleSignature, TrustBundle } from '../api/trust-bundle.ts';
import { rootFingerprint } from './bundle.ts';
import { splitPem } from './pem.ts';
import { trustError, type TrustCode } from './errors.ts';

/** What a receiver trusts to sign bundles, and the bundle in force (a bundle issued before it is a replay). */
export interface BundleTrust {
  /** Roots trusted now: the bundle in force, or before any, the roots this component was configured with. */
  readonly roots: readonly string[];
  /** Operator signing keys pinned in config (PEM public keys or certificates): they may sign without being roots. */
  readonly signerKeys?: readonly string[];
  /** issuedAt of the bundle in force; an older one is refused (an old signed bundle may hold a root since removed). */
  readonly inForceIssuedAt?: string | undefined;
}

/** Why a bundle is refused; each is counted by its code where bundles are received. */
export type BundleRefusalCode = Extract<TrustCode, 'MESHFED_E_TRUST_BUNDLE_UNSIGNED' | 'MESHFED_E_TRUST_BUNDLE_SIGNER_UNKNOWN'
  | 'MESHFED_E_TRUST_BUNDLE_SIGNATURE' | 'MESHFED_E_TRUST_BUNDLE_NO_ROOTS' | 'MESHFED_E_TRUST_BUNDLE_STALE'>;

/** The verdict on a received bundle: accepted (and by whom it was signed), or refused with a code and a reason. */
export type BundleVerdict =
  | { readonly ok: true; readonly signer: string }
  | { readonly ok: false; readonly code: BundleRefusalCode; readonly message: string };

/** The bytes a signature covers: the normalised content (as makeBundle leaves it) and the issue time, never the version hash. */
export function signedBytes(b: Pick<TrustBundle, 'trustDomain' | 'roots' | 'aliases' | 'revokedSerials'>, issuedAt: string): Buffer {
  return Buffer.from(JSON.stringify(['meshfed-trust-bundle-v1', b.trustDomain, [...b.roots].sort(), [...b.aliases].sort(), [...b.revokedSerials].sort(), issuedAt]));
}

/** The signer id of a public key that is not a root: "key:" and the SHA-256 of its SubjectPublicKeyInfo, hex. */
export function signerKeyId(key: KeyObject): string {
  return `key:${createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex')}`;
}

function publicKeyOf(pem: string): KeyObject {
  return /BEGIN CERTIFICATE/.test(pem) ? new X509Certificate(splitPem(pem)[0]!).publicKey : createPublicKey(pem);
}

/**
 * Signs a bundle with a root (certPem given: the signer id is "root:<fingerprint>") or with an operator key (no
 * certPem: "key:<spki sha256>"). Returns the bundle with issuedAt and signature set. Throws on a key that does not
 * match its certificate.
 */
export function signBundle(b: TrustBundle, signer: { readonly keyPem: string; readonly certPem?: string }, issuedAt: Date): TrustBundle {
  const key = createPrivateKey(signer.keyPem);
  const publicKey = createPublicKey(key);
  if (signer.certPem !== undefined && !publicKeyOf(signer.certPem).equals(publicKey)) {
    throw trustError('MESHFED_E_TRUST_CA_INVALID', 'the signing key does not belong to the signing root certificate');
  }
  const at = issuedAt.toISOString();
  const id = signer.certPem !== undefined ? `root:${rootFingerprint(signer.certPem)}` : signerKeyId(publicKey);
  const value = sign('sha256', signedBytes(b, at), key).toString('base64');
  return deepFreeze({ ...b, issuedAt: at, signature: { signer: id, value } satisfies BundleSignature });
}

/** The public key behind a signer id, among what `trust` holds; undefined when the receiver does not trust it. */
function findSigner(id: string, trust: BundleTrust, now: Date): KeyObject | undefined {
  if (id.startsWith('root:')) {
    const root = trust.roots.find((r) => `root:${rootFingerprint(r)}` === id);
    if (root === undefined) return undefined;
    const cert = new X509Certificate(splitPem(root)[0]!);
    return new Date(cert.validFrom) <= now && now <= new Date(cert.validTo) ? cert.publicKey : undefined;
  }
  for (const pem of trust.signerKeys ?? []) {
    const key = publicKeyOf(pem);
    if (signerKeyId(key) === id) return key;
  }
  return undefined;
}

/**
 * Decides whether a received bundle may take effect. Pure but for the signature check; time is passed in.
 * Invariant: an accepted bundle was signed, over its exact content and issue time, by a key in `trust` valid at
 * `now`; it holds a root; and it was not issued before the bundle in force.
 */
export function verifyBundle(b: TrustBundle, trust: BundleTrust, now: Date): BundleVerdict {
  const refuse = (code: BundleRefusalCode, message: string): BundleVerdict => ({ ok: false, code, message });
  if (b.signature === undefined || b.issuedAt === undefined) return refuse('MESHFED_E_TRUST_BUNDLE_UNSIGNED', 'the bundle carries no signature (sign and publish it with meshfed trust publish)');
  if (b.roots.length === 0) return refuse('MESHFED_E_TRUST_BUNDLE_NO_ROOTS', 'the bundle holds no root: it would trust nobody');
  const key = findSigner(b.signature.signer, trust, now);
  if (key === undefined) return refuse('MESHFED_E_TRUST_BUNDLE_SIGNER_UNKNOWN', `signed by ${b.signature.signer}, which is neither a root trusted now nor a pinned signing key`);
  let good = false;
  try {
    good = verify('sha256', signedBytes(b, b.issuedAt), key, Buffer.from(b.signature.value, 'base64'));
  } catch {
    good = false;
  }
  if (!good) return refuse('MESHFED_E_TRUST_BUNDLE_SIGNATURE', `the signature of ${b.signature.signer} does not verify over the bundle's content`);
  if (trust.inForceIssuedAt !== undefined && Date.parse(b.issuedAt) < Date.parse(trust.inForceIssuedAt)) {
    return refuse('MESHFED_E_TRUST_BUNDLE_STALE', `issued ${b.issuedAt}, before the bundle in force (${trust.inForceIssuedAt}): a replay of an older bundle`);
  }
  return { ok: true, signer: b.signature.signer };
}

/**
 * What a receiver trusts: the signed bundle in force, or before one took effect, the roots it was configured with
 * (its CA directory, or the roots that came with its certificate). Once a bundle is in force, its roots alone count:
 * a root the rotation plan removed stops being trusted even where it signed the receiver's own chain.
 */
export function receiverTrust(inForce: TrustBundle | undefined, configuredRoots: readonly string[], signerKeys: readonly string[] = []): BundleTrust {
  return inForce !== undefined
    ? { roots: inForce.roots, signerKeys, inForceIssuedAt: inForce.issuedAt }
    : { roots: configuredRoots, signerKeys };
}

/** What a gate reports about the bundles it was offered (agent and sidecar status). */
export interface BundleGateStatus {
  readonly version: string | null;
  readonly issuedAt: string | null;
  readonly signer: string | null;
  readonly accepted: number;
  readonly refused: number;
  readonly lastRefusal: { readonly code: string; readonly message: string; readonly at: string } | null;
}

/**
 * A receiver's gate for trust bundles: offered each bundle that arrives, it lets through only one verifyBundle
 * accepts against what the receiver trusts now, and remembers it as the bundle in force.
 * Invariant: inForce is undefined or a bundle this gate accepted (or restored from the receiver's own saved state).
 */
export class BundleGate {
  private current: TrustBundle | undefined;
  private readonly configuredRoots: () => readonly string[];
  private readonly signerKeys: readonly string[];
  private accepted = 0;
  private refused = 0;
  private readonly refusedByCode = new Map<string, number>();
  private lastRefusal: BundleGateStatus['lastRefusal'] = null;

  constructor(o: { readonly configuredRoots: () => readonly string[]; readonly signerKeys?: readonly string[] }) {
    this.configuredRoots = o.configuredRoots;
    this.signerKeys = o.signerKeys ?? [];
  }

  /** The bundle in force, or undefined before any took effect. */
  get inForce(): TrustBundle | undefined {
    return this.current;
  }

  /**
   * Puts back a bundle the receiver saved itself (fail-static state): it was verified when it was accepted, and the
   * roots that signed it may since have left the configured ones. An unsigned one (saved before bundles were
   * signed) is dropped. Returns whether it is in force.
   */
  restore(b: TrustBundle | undefined): boolean {
    if (b === undefined || b.signature === undefined || b.roots.length === 0) return false;
    this.current = b;
    return true;
  }

  /** Offers a received bundle; `unchanged` when it is the bundle already in force (sent again on a reconnect). */
  offer(b: TrustBundle, now: Date): BundleVerdict & { readonly unchanged?: boolean } {
    if (this.current !== undefined && b.version === this.current.version && b.issuedAt === this.current.issuedAt && b.signature?.value === this.current.signature?.value) {
      return { ok: true, signer: b.signature!.signer, unchanged: true };
    }
    const verdict = verifyBundle(b, receiverTrust(this.current, this.configuredRoots(), this.signerKeys), now);
    if (verdict.ok) {
      this.current = b;
      this.accepted++;
    } else {
      this.refuse(verdict.code, verdict.message, now);
    }
    return verdict;
  }

  /** Counts a bundle refused before verification (it did not even parse). */
  refuse(code: string, message: string, now: Date): void {
    this.refused++;
    this.refusedByCode.set(code, (this.refusedByCode.get(code) ?? 0) + 1);
    this.lastRefusal = { code, message, at: now.toISOString() };
  }

  /** Refusals so far by code, for a counter read at scrape time. */
  *refusals(): Iterable<{ readonly labels: { readonly code: string }; readonly value: number }> {
    for (const [code, value] of this.refusedByCode) yield { labels: { code }, value };
  }

  status(): BundleGateStatus {
    const c = this.current;
    return {
      version: c?.version ?? null, issuedAt: c?.issuedAt ?? null, signer: c?.signature?.signer ?? null,
      accepted: this.accepted, refused: this.refused, lastRefusal: this.lastRefusal,
    };
  }
}
