// An etcd3 client for the etcd of a running `meshfed up`: its members require a client certificate, named in up.json.
import { readFileSync } from 'node:fs';
import { Etcd3 } from 'etcd3';
import type { UpState } from './state.ts';

/**
 * A client for `endpoints` (default every member), with up.json's client certificate when the members require one.
 * The caller closes it. Throws when up runs on the embedded store, which no outside client can reach.
 */
export function upEtcdClient(state: UpState, endpoints: readonly string[] = state.etcdEndpoints ?? []): Etcd3 {
  if (state.store !== 'etcd' || endpoints.length === 0) throw new Error('this meshfed up runs on the embedded store: there is no etcd to connect to (meshfed up --store etcd)');
  const tls = state.etcdTls;
  return new Etcd3({
    hosts: [...endpoints],
    dialTimeout: 5_000,
    ...(tls ? { credentials: { rootCertificate: readFileSync(tls.ca), certChain: readFileSync(tls.cert), privateKey: readFileSync(tls.key) } } : {}),
  });
}
