// The state store's public API: the contract, both implementations, the election recipe and openStore.
export * from './store.ts';
export * from './errors.ts';
export { MemoryStore, realClock } from './store-memory.ts';
export type { MemoryStoreOptions, StoreClock } from './store-memory.ts';
export { EtcdStore } from './store-etcd.ts';
export type { EtcdStoreOptions, EtcdTls } from './store-etcd.ts';
export { readEtcdCredentials, parseEtcdUserFile, type EtcdAuth, type EtcdCredentials, type EtcdCredentialFiles } from './etcd-credentials.ts';
export { campaignOn, electionPrefix, observeLeaderOn } from './election.ts';

import type { Store } from './store.ts';
import { MemoryStore } from './store-memory.ts';
import { EtcdStore } from './store-etcd.ts';
import type { EtcdTls } from './store-etcd.ts';
import type { EtcdAuth } from './etcd-credentials.ts';

/** Which store to open. */
export type StoreSpec =
  | { readonly kind: 'memory' }
  | {
      readonly kind: 'etcd';
      readonly endpoints: readonly string[];
      readonly tls?: EtcdTls;
      readonly auth?: EtcdAuth;
      /** Per-call timeout in ms (default 5000). */
      readonly callTimeoutMs?: number;
    };

/**
 * Opens a store. It does not wait for etcd to be reachable: calls fail with MESHFED_E_STORE_UNAVAILABLE until it
 * is, and the client reconnects by itself. Use health() to check.
 */
export async function openStore(spec: StoreSpec): Promise<Store> {
  if (spec.kind === 'memory') return new MemoryStore();
  const endpoints = spec.endpoints.map((e) => (/^[a-z]+:\/\//i.test(e) ? e : `http://${e}`));
  return new EtcdStore({
    endpoints,
    ...(spec.tls === undefined ? {} : { tls: spec.tls }),
    ...(spec.auth === undefined ? {} : { auth: spec.auth }),
    ...(spec.callTimeoutMs === undefined ? {} : { callTimeoutMs: spec.callTimeoutMs }),
  });
}
