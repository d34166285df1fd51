// Workload attestation on the relay: which namespace and service account a subscription's credential proves.
import { createHash, timingSafeEqual } from 'node:crypto';
import { loadJoinTokensFile } from '../../api/join-tokens.ts';

/** How the agent attests workloads: per-workload join tokens (static discovery), by the SHA-256 of each token. */
export interface Attestation {
  readonly kind: 'join-tokens';
  readonly tokens: ReadonlyMap<string, { readonly namespace: string; readonly serviceAccount: string }>;
}

/** The verdict on one subscription. */
export type AttestationVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Decides whether `credential` proves the identity a subscription asks for. Pure.
 * Invariant: ok only when the credential's hash is a known token issued for exactly (namespace, serviceAccount).
 */
export function attest(a: Attestation, namespace: string, serviceAccount: string, credential: string): AttestationVerdict {
  if (credential === '') return { ok: false, reason: `no credential: this agent attests workloads (a join token for ${namespace}/${serviceAccount} is required)` };
  const h = Buffer.from(createHash('sha256').update(credential).digest('hex'), 'hex');
  for (const [hash, id] of a.tokens) {
    if (!timingSafeEqual(Buffer.from(hash, 'hex'), h)) continue;
    if (id.namespace === namespace && id.serviceAccount === serviceAccount) return { ok: true };
    return { ok: false, reason: `the join token was issued for ${id.namespace}/${id.serviceAccount}, not ${namespace}/${serviceAccount}` };
  }
  return { ok: false, reason: 'the join token is not one this agent knows' };
}

/** Loads --join-tokens FILE. */
export function loadJoinTokens(path: string): Attestation {
  const f = loadJoinTokensFile(path);
  return { kind: 'join-tokens', tokens: new Map(f.tokens.map((t) => [t.sha256, { namespace: t.namespace, serviceAccount: t.serviceAccount }])) };
}
