// The certificates `meshfed up` runs etcd with: a CA of its own (never the mesh root), one server/peer certificate for
// every member on loopback, and one client certificate for the balancers and meshfed's tools.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BACKDATE_MS, exportKeyPem, generateKeys, issueCertificate } from '../trust/ca.ts';
import type { EtcdServerTls } from './etcd.ts';

/** Client credential files for etcd (paths): the CA that signed the members' certificates, and a client pair. */
export interface EtcdClientTlsFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** What createEtcdPki wrote. */
export interface EtcdPki {
  /** For every member: clients and peers must present a certificate under `ca`. */
  readonly server: EtcdServerTls;
  /** For every client (global-lb replicas, the chaos runner, tests). */
  readonly client: EtcdClientTlsFiles;
}

const DAY = 86_400_000;

/**
 * Writes a fresh etcd CA and its two leaves into `dir`. A separate CA, because etcd admits any certificate that
 * chains to its trusted CA: under the mesh root, every workload certificate would open the store.
 */
export async function createEtcdPki(dir: string, now: Date = new Date(), ttlMs: number = 30 * DAY): Promise<EtcdPki> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const window = { notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter: new Date(now.getTime() + ttlMs) };
  const caKeys = await generateKeys('ec-p256');
  const caPem = await issueCertificate({
    subject: 'O=meshfed, CN=meshfed up etcd CA', publicKey: caKeys.publicKey, issuer: 'self', selfKeys: caKeys, ca: true, pathLength: 0, ...window,
  });
  const ca = { certPem: caPem, keyPem: await exportKeyPem(caKeys.privateKey) };
  const leaf = async (name: string, subject: string, extra: { dnsNames?: string[]; ips?: string[]; usages: ('server' | 'client')[] }) => {
    const keys = await generateKeys('ec-p256');
    const certPem = await issueCertificate({ subject, publicKey: keys.publicKey, issuer: ca, ca: false, ...extra, ...window });
    const cert = join(dir, `${name}.pem`);
    const key = join(dir, `${name}-key.pem`);
    writeFileSync(cert, certPem);
    writeFileSync(key, await exportKeyPem(keys.privateKey), { mode: 0o600 });
    return { cert, key };
  };
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, caPem);
  // Members present one certificate both as servers (to clients and peers) and as clients (to peers).
  const member = await leaf('member', 'O=meshfed, CN=etcd member', { dnsNames: ['localhost'], ips: ['127.0.0.1'], usages: ['server', 'client'] });
  const client = await leaf('client', 'O=meshfed, CN=meshfed', { usages: ['client'] });
  return { server: { ca: caFile, ...member }, client: { ca: caFile, ...client } };
}
