// Benchmark: certificates issued per second (P-256 vs RSA 3072) and handshake cost (mTLS vs TLS vs plain TCP).
import { connect as tcpConnect, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { performance } from 'node:perf_hooks';
import { cpus } from 'node:os';
import { createCsr, createIntermediateCa, createRootCa, issueWorkload, signCsr, type KeyType } from '../trust/ca.ts';
import { makeBundle } from '../trust/bundle.ts';
import { verifyPeer } from '../trust/verify.ts';
import { TlsCredentialSource, createMtlsServer, mtlsClientOptions } from '../trust/tls.ts';

const TD = 'bench.example';
const ID = `spiffe://${TD}/ns/bench/sa/client`;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

function summary(samples: number[]): { n: number; perSec: number; meanMs: number; p50Ms: number; p99Ms: number } {
  const s = [...samples].sort((a, b) => a - b);
  const total = s.reduce((a, b) => a + b, 0);
  return { n: s.length, perSec: (s.length / total) * 1000, meanMs: total / s.length, p50Ms: pct(s, 0.5), p99Ms: pct(s, 0.99) };
}

/** Runs fn sequentially until `budgetMs` is spent or `max` runs are done; returns per-run milliseconds. */
async function timeRuns(fn: () => Promise<unknown>, budgetMs: number, max: number): Promise<number[]> {
  const out: number[] = [];
  const end = performance.now() + budgetMs;
  while (out.length < max && performance.now() < end) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

async function pki(keyType: KeyType) {
  const root = await createRootCa({ trustDomain: TD, keyType });
  const ca = await createIntermediateCa({ root, cluster: 'east', trustDomain: TD, keyType });
  const server = await issueWorkload(ca, `spiffe://${TD}/ns/bench/sa/server`, { keyType });
  const client = await issueWorkload(ca, ID, { keyType });
  const bundle = makeBundle({ trustDomain: TD, roots: [root.certPem] });
  return { root, ca, server, client, bundle };
}

function row(name: string, s: ReturnType<typeof summary>): string {
  return `| ${name} | ${s.n} | ${s.perSec.toFixed(1)} | ${s.meanMs.toFixed(3)} | ${s.p50Ms.toFixed(3)} | ${s.p99Ms.toFixed(3)} |`;
}

export async function main(args: string[]): Promise<void> {
  const budget = Number(args[0] ?? 3000);
  console.log(`trust bench: budget ${budget} ms per case, ${cpus().length} CPUs, node ${process.version}`);
  const ec = await pki('ec-p256');
  const rsa = await pki('rsa-3072');
  const rows: string[] = [];
  const results: Record<string, ReturnType<typeof summary>> = {};
  const record = (name: string, samples: number[]) => {
    results[name] = summary(samples);
    rows.push(row(name, results[name]));
    console.log(rows[rows.length - 1]);
  };

  console.log('| case | n | per second | mean ms | p50 ms | p99 ms |\n|---|---|---|---|---|---|');
  // Signing a CSR is what a zone agent does per workload; the workload generates its own key.
  const ecCsr = (await createCsr({ spiffeId: ID, keyType: 'ec-p256' })).csrPem;
  const rsaCsr = (await createCsr({ spiffeId: ID, keyType: 'rsa-3072' })).csrPem;
  record('sign CSR, P-256 CA', await timeRuns(() => signCsr(ec.ca, ecCsr), budget, 5000));
  record('sign CSR, RSA 3072 CA', await timeRuns(() => signCsr(rsa.ca, rsaCsr), budget, 5000));
  record('issue (keygen+CSR+sign), P-256', await timeRuns(() => issueWorkload(ec.ca, ID), budget, 5000));
  record('issue (keygen+CSR+sign), RSA 3072', await timeRuns(() => issueWorkload(rsa.ca, ID, { keyType: 'rsa-3072' }), budget, 200));

  const verifyLoop = (chain: string, bundle: typeof ec.bundle) => timeRuns(async () => {
    for (let i = 0; i < 100; i++) if (!verifyPeer(chain, bundle, Date.now(), { usage: 'client' }).ok) throw new Error('verify failed');
  }, budget, 1000);
  const per100 = (s: number[]) => s.map((x) => x / 100);
  // A peer never seen before: its leaf is parsed cold (the intermediate is already cached, as in steady state).
  const fresh = await Promise.all(Array.from({ length: 200 }, (_, i) => issueWorkload(ec.ca, `spiffe://${TD}/ns/bench/sa/w${i}`)));
  let next = 0;
  record('verifyPeer, new P-256 leaf (cold parse)', await timeRuns(async () => {
    if (!verifyPeer((fresh[next++ % fresh.length] as { chainPem: string }).chainPem, ec.bundle, Date.now(), { usage: 'client' }).ok) throw new Error('verify failed');
  }, budget, fresh.length));
  record('verifyPeer, P-256 chain (cached parse)', per100(await verifyLoop(ec.client.chainPem, ec.bundle)));
  record('verifyPeer, RSA 3072 chain (cached parse)', per100(await verifyLoop(rsa.client.chainPem, rsa.bundle)));

  // Handshakes: sequential connects to a loopback server, each closed after the handshake.
  const tcp = createTcpServer((s) => s.destroy());
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  const tcpPort = (tcp.address() as AddressInfo).port;
  record('plain TCP connect', await timeRuns(() => new Promise<void>((resolve, reject) => {
    const s = tcpConnect(tcpPort, '127.0.0.1', () => { s.destroy(); resolve(); });
    s.on('error', reject);
  }), budget, 5000));
  tcp.close();

  for (const [label, p] of [['P-256', ec], ['RSA 3072', rsa]] as const) {
    // Server-auth-only TLS with OpenSSL's own verification: the peer for "what does mTLS+verifyPeer add".
    const plainTls = createTlsServer({ cert: p.server.chainPem, key: p.server.keyPem }, (s) => s.destroy());
    plainTls.on('tlsClientError', () => {});
    await new Promise<void>((r) => plainTls.listen(0, '127.0.0.1', r));
    const tlsPort = (plainTls.address() as AddressInfo).port;
    record(`TLS handshake (server auth only), ${label}`, await timeRuns(() => new Promise<void>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: tlsPort, ca: [p.root.certPem], checkServerIdentity: () => undefined }, () => { s.destroy(); resolve(); });
      s.on('error', reject);
    }), budget, 3000));
    plainTls.close();

    const serverSource = new TlsCredentialSource({ certChainPem: p.server.chainPem, keyPem: p.server.keyPem, bundle: p.bundle });
    const clientSource = new TlsCredentialSource({ certChainPem: p.client.chainPem, keyPem: p.client.keyPem, bundle: p.bundle });
    let accepted = 0;
    const mtls = createMtlsServer(serverSource, { spiffeId: ID }, (s) => { accepted++; s.destroy(); });
    const port = await mtls.listen(0, '127.0.0.1');
    const before = accepted;
    const samples = await timeRuns(() => new Promise<void>((resolve, reject) => {
      const target = accepted + 1;
      const s = tlsConnect({ host: '127.0.0.1', port, ...mtlsClientOptions(clientSource, { spiffeId: `spiffe://${TD}/ns/bench/sa/server` }) });
      s.on('error', () => {});
      // Done when the server has verified the client too (TLS 1.3: after the client's Finished).
      const poll = () => (accepted >= target ? (s.destroy(), resolve()) : s.destroyed && accepted < target ? reject(new Error('refused')) : setImmediate(poll));
      s.once('secureConnect', poll);
      s.once('close', () => { if (accepted < target) setImmediate(poll); });
    }), budget, 3000);
    record(`mTLS handshake + verifyPeer both sides, ${label}`, samples);
    if (accepted - before !== samples.length) throw new Error(`server verified ${accepted - before} of ${samples.length}`);
    await mtls.close();
  }

  const r = (a: string, b: string) => ((results[a]?.meanMs ?? NaN) / (results[b]?.meanMs ?? NaN)).toFixed(1);
  console.log('\nratios (mean time):');
  console.log(`  issue RSA 3072 / P-256: ${r('issue (keygen+CSR+sign), RSA 3072', 'issue (keygen+CSR+sign), P-256')}x`);
  console.log(`  sign CSR RSA 3072 CA / P-256 CA: ${r('sign CSR, RSA 3072 CA', 'sign CSR, P-256 CA')}x`);
  console.log(`  mTLS P-256 / plain TCP: ${r('mTLS handshake + verifyPeer both sides, P-256', 'plain TCP connect')}x`);
  console.log(`  mTLS RSA 3072 / mTLS P-256: ${r('mTLS handshake + verifyPeer both sides, RSA 3072', 'mTLS handshake + verifyPeer both sides, P-256')}x`);
  console.log(`  mTLS P-256 / server-auth TLS P-256: ${r('mTLS handshake + verifyPeer both sides, P-256', 'TLS handshake (server auth only), P-256')}x`);
}
