// Test PKI builders: a root with two cluster intermediates and workload certs, for tests of trust/ and its users.
import { createRootCa, createIntermediateCa, issueWorkload, type IntermediateCa, type KeyedCert, type KeyType, type WorkloadCert } from './ca.ts';
import { makeBundle, type TrustBundle } from './bundle.ts';
import { MeshfedError } from '../common/errors.ts';

/** A small federation PKI: one root, intermediates for clusters "east" and "west", and the bundle trusting the root. */
export interface TestPki {
  readonly trustDomain: string;
  readonly root: KeyedCert;
  readonly east: IntermediateCa;
  readonly west: IntermediateCa;
  readonly bundle: TrustBundle;
  /** Issues a workload cert under the given intermediate (default east). */
  issue(spiffeId: string, opts?: { ca?: IntermediateCa; ttlMs?: number; now?: Date; usages?: readonly ('server' | 'client')[] }): Promise<WorkloadCert>;
}

/** Builds a TestPki. Key generation dominates; build once per test file and reuse. */
export async function createTestPki(opts: { trustDomain?: string; keyType?: KeyType; nameConstraints?: boolean } = {}): Promise<TestPki> {
  const trustDomain = opts.trustDomain ?? 'example.org';
  const root = await createRootCa({ trustDomain, ...(opts.keyType ? { keyType: opts.keyType } : {}) });
  const east = await createIntermediateCa({ root, cluster: 'east', trustDomain, nameConstraints: opts.nameConstraints ?? true });
  const west = await createIntermediateCa({ root, cluster: 'west', trustDomain, nameConstraints: opts.nameConstraints ?? true });
  const bundle = makeBundle({ trustDomain, roots: [root.certPem] });
  return {
    trustDomain, root, east, west, bundle,
    issue: (spiffeId, o = {}) => issueWorkload(o.ca ?? east, spiffeId, {
      ...(o.ttlMs !== undefined ? { ttlMs: o.ttlMs } : {}), ...(o.now ? { now: o.now } : {}), ...(o.usages ? { usages: o.usages } : {}),
    }),
  };
}

/** The error code `f` throws (a MeshfedError's code), 'ok' when it returns, or the text of any other error. */
export function codeOf(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    return e instanceof MeshfedError ? e.code : String(e);
  }
}
