// The relay and certificates: sidecar CSRs signed by the cluster intermediate and rotated with zero failed requests;
// garbage streams closed and counted; the balancer refusing an agent certificate of zone A reporting for zone B.
import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { createLogger } from '../../common/logger.ts';
import { createTestPki, type TestPki } from '../../trust/testing.ts';
import { createCsr } from '../../trust/ca.ts';
import { writePluginCaDir } from '../../trust/files.ts';
import { globalLbId, workloadId, zoneAgentId } from '../../api/identity.ts';
import { openStore } from '../../global-lb/store/index.ts';
import { startGlobalLb } from '../../global-lb/index.ts';
import { startZoneAgent, type ZoneAgent } from '../../zone-agent/agent.ts';
import { FederationReporter, federationCredentials } from '../../zone-agent/report/client.ts';
import { TestSidecar, until } from './agent-support.ts';
import { hashToken } from '../../common/admin-auth.ts';
import type { Attestation } from '../../zone-agent/relay/attestation.ts';

const TD = 'meshfed.local';
const quiet = (component: string) => createLogger({ component, level: process.env['MESHFED_TEST_LOG'] ?? 'silent' });

let pki: TestPki | undefined;
async function getPki(): Promise<TestPki> {
  pki ??= await createTestPki({ trustDomain: TD });
  return pki;
}

async function startAgent(t: import('node:test').TestContext, o: { caDir?: string; ttlMs?: number; services?: string; attestation?: Attestation } = {}): Promise<ZoneAgent> {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-agent-relay-'));
  const file = join(dir, 'services.yaml');
  writeFileSync(file, o.services ?? 'services:\n  - namespace: shop\n    name: web\n    endpoints: ["127.0.0.1:8080"]\n');
  const a = await startZoneAgent({
    locality: { cloud: 'sim', region: 'r1', zone: 'a1' }, cluster: 'east', network: 'n1', trustDomain: TD,
    globalLb: ['127.0.0.1:1'], insecure: true, discovery: { kind: 'static', file },
    ...(o.caDir ? { caDir: o.caDir } : {}), ...(o.ttlMs ? { workloadCertTtlMs: o.ttlMs } : {}), ...(o.attestation ? { attestation: o.attestation } : {}),
    stateDir: join(dir, 'state'), relayListen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 },
    rttIntervalMs: 0, backoff: { initialMs: 1000, maxMs: 5000, multiplier: 2, jitter: 0 }, logger: quiet('zone-agent'), processMetrics: false,
  });
  t.after(async () => {
    await a.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return a;
}

async function protocolErrors(a: ZoneAgent): Promise<number> {
  return (await a.metrics.relayProtocolErrors.get()).values[0]?.value ?? 0;
}

test('a sidecar stream sending garbage or breaking the protocol is closed and counted', async (t) => {
  const a = await startAgent(t);
  // Raw undecodable bytes on the wire.
  const raw = new grpc.Client(`127.0.0.1:${a.relayPort}`, grpc.credentials.createInsecure());
  t.after(() => raw.close());
  const call = raw.makeBidiStreamRequest('/meshfed.v1.Relay/Subscribe', (b: Buffer) => b, (b: Buffer) => b);
  let status: grpc.StatusObject | undefined;
  call.on('status', (s) => (status = s));
  call.on('data', () => undefined);
  call.on('error', () => undefined);
  call.write(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]));
  await until('garbage stream closed', () => status);
  assert.equal(status?.code, grpc.status.INVALID_ARGUMENT);
  assert.match(status?.details ?? '', /undecodable/);
  assert.equal(await protocolErrors(a), 1);

  const cases: [string, (s: TestSidecar) => void, RegExp][] = [
    ['stats before subscribe', (s) => s.call.write({ stats: { window_ms: 1000, services: [] } }), /first message must be a SubscribeRequest/],
    ['wrong zone', (s) => s.call.write({ subscribe: { namespace: 'shop', service: 'web', service_account: 'web', zone: 'b9' } }), /serves zone a1, not b9/],
    ['second subscribe', (s) => {
      s.call.write({ subscribe: { namespace: 'shop', service: 'web', service_account: 'web' } });
      s.call.write({ subscribe: { namespace: 'shop', service: 'web', service_account: 'web' } });
    }, /once per stream/],
    // The identity from the issue, which URL normalisation turned into a zone agent's; and a name Kubernetes cannot have.
    ['path traversal in the service account', (s) => s.call.write({ subscribe: { namespace: 'shop', service: 'web', service_account: '../../../meshfed/zone/a1' } }), /is not a Kubernetes service account name/],
    ['an impossible namespace', (s) => s.call.write({ subscribe: { namespace: 'Kube_System', service: 'web', service_account: 'web' } }), /is not a Kubernetes namespace name/],
    ['inconsistent stats', (s) => {
      s.call.write({ subscribe: { namespace: 'shop', service: 'web', service_account: 'web' } });
      s.call.write({ stats: { window_ms: 1000, services: [{ namespace: 'shop', name: 'web', requests: '1', successes: '5' }] } });
    }, /exceed requests/],
  ];
  for (const [i, [what, act, reason]] of cases.entries()) {
    const s = new TestSidecar(a.relayPort, {}, false);
    t.after(() => s.close());
    act(s);
    await until(`${what}: closed`, () => s.status);
    assert.equal(s.status?.code, grpc.status.INVALID_ARGUMENT, what);
    assert.match(s.status?.details ?? '', reason, what);
    assert.equal(await protocolErrors(a), 2 + i, what);
  }

  // A well-behaved sidecar is unaffected, and its stats are accepted.
  const good = new TestSidecar(a.relayPort);
  t.after(() => good.close());
  await until('state', () => good.latest());
  good.call.write({ stats: { window_ms: 1000, services: [{ namespace: 'shop', name: 'web', requests: '10', successes: '9', errors: { http_5xx: '1' }, in_flight: 2, destination_zone: 'a1' }] } });
  // A later message gets its answer (no CA here: a refusal), which proves the stats before it were taken in order.
  good.call.write({ csr: { csr_pem: 'x' } });
  await until('answer after stats', () => good.errors.length > 0);
  assert.equal(good.errors[0]?.code, 'MESHFED_E_AGENT_CSR_REJECTED');
  assert.equal(good.status, undefined, 'still open');
  assert.equal(await protocolErrors(a), 1 + cases.length);
});

test('an agent that attests workloads: no join token, another identity\'s token or a forged one is refused with a code; the right one is served', async (t) => {
  const a = await startAgent(t, { attestation: { kind: 'join-tokens', tokens: new Map([[hashToken('web-join'), { namespace: 'shop', serviceAccount: 'web' }]]) } });
  const refused: [string, string][] = [['', 'no credential'], ['forged', 'not one this agent knows']];
  for (const [credential, reason] of refused) {
    const s = new TestSidecar(a.relayPort, {}, false);
    t.after(() => s.close());
    s.call.write({ subscribe: { namespace: 'shop', service: 'web', service_account: 'web', credential } });
    await until(`${reason}: closed`, () => s.status);
    assert.equal(s.status?.code, grpc.status.PERMISSION_DENIED, reason);
    assert.equal(s.errors[0]?.code, 'MESHFED_E_AGENT_ATTESTATION_FAILED', reason);
    assert.equal(s.latest(), undefined, `${reason}: no state was sent`);
  }
  // The web token used to claim the admin service account of kube-system.
  const other = new TestSidecar(a.relayPort, {}, false);
  t.after(() => other.close());
  other.call.write({ subscribe: { namespace: 'kube-system', service: 'web', service_account: 'admin', credential: 'web-join' } });
  await until('another identity: closed', () => other.status);
  assert.match(other.status?.details ?? '', /issued for shop\/web, not kube-system\/admin/);
  const good = new TestSidecar(a.relayPort, {}, false);
  t.after(() => good.close());
  good.call.write({ subscribe: { namespace: 'shop', service: 'web', service_account: 'web', credential: 'web-join' } });
  await until('state for the attested sidecar', () => good.latest());
  assert.equal(good.status, undefined, 'still open');
});

test('sidecar certificates are issued by the cluster intermediate and rotated with zero failed requests', async (t) => {
  const p = await getPki();
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-agent-ca-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writePluginCaDir(join(dir, 'ca'), p.east);
  const a = await startAgent(t, { caDir: join(dir, 'ca'), ttlMs: 3000 });
  const id = workloadId(TD, 'shop', 'web');

  // A CSR for someone else's identity is refused.
  const foreign = await createCsr({ spiffeId: workloadId(TD, 'shop', 'admin') });
  const bad = new TestSidecar(a.relayPort, { csrPem: foreign.csrPem });
  t.after(() => bad.close());
  await until('refusal', () => bad.errors.length > 0);
  assert.equal(bad.errors[0]?.code, 'MESHFED_E_AGENT_CSR_REJECTED');
  assert.equal(bad.certificates.length, 0);

  // The real thing: a sidecar with a key, serving mTLS with whatever certificate it holds, rotating on request.
  let key = await createCsr({ spiffeId: id });
  let keyPem = key.keyPem;
  const s = new TestSidecar(a.relayPort, { csrPem: key.csrPem });
  t.after(() => s.close());
  const first = await until('certificate', () => s.certificates[0]);
  assert.equal(first.spiffe_id, id);
  const leaf = new X509Certificate(first.cert_chain_pem);
  assert.equal(leaf.subjectAltName, `URI:${id}`);
  assert.ok(leaf.verify(new X509Certificate(p.east.certPem).publicKey), 'signed by the cluster intermediate');
  assert.ok(Number(first.refresh_at_unix_ms) < Number(first.not_after_unix_ms));

  let pendingKeyPem = '';
  let current = { cert: first.cert_chain_pem, key: keyPem };
  s.onRotate = () => {
    void createCsr({ spiffeId: id }).then((k) => {
      pendingKeyPem = k.keyPem;
      s.call.write({ csr: { csr_pem: k.csrPem } });
    });
  };
  const server = createHttpsServer({ cert: current.cert, key: current.key, ca: p.root.certPem, requestCert: true, rejectUnauthorized: true }, (_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  const port = (server.address() as AddressInfo).port;
  let seen = 1;
  const watcher = setInterval(() => {
    if (s.certificates.length > seen) {
      const c = s.certificates[s.certificates.length - 1]!;
      seen = s.certificates.length;
      keyPem = pendingKeyPem;
      current = { cert: c.cert_chain_pem, key: keyPem };
      server.setSecureContext({ cert: current.cert, key: current.key, ca: p.root.certPem });
    }
  }, 5);
  t.after(() => clearInterval(watcher));

  let ok = 0;
  const failures: string[] = [];
  const deadline = Date.now() + 30_000;
  while ((s.certificates.length < 3 || ok < 50) && Date.now() < deadline) {
    const body = await new Promise<string>((resolve) => {
      const req = httpsRequest({ host: '127.0.0.1', port, path: '/', agent: false, servername: 'web.shop', ca: p.root.certPem, cert: current.cert, key: current.key, checkServerIdentity: () => undefined }, (res) => {
        let b = '';
        res.on('data', (c: Buffer) => (b += String(c)));
        res.on('end', () => resolve(b));
      });
      req.on('error', (e) => resolve(`error: ${e.message}`));
      req.end();
    });
    if (body === 'ok') ok++;
    else failures.push(body);
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(s.certificates.length >= 3, `rotated twice (got ${s.certificates.length} certificates, ${s.rotations} rotations)`);
  assert.ok(s.rotations >= 2);
  const serials = new Set(s.certificates.map((c) => new X509Certificate(c.cert_chain_pem).serialNumber));
  assert.equal(serials.size, s.certificates.length, 'each rotation is a new certificate');
  assert.deepEqual(failures, [], 'zero failed requests across rotations');
  assert.ok(ok >= 50);
  assert.ok((await a.metrics.certificatesIssued.get()).values[0]!.value >= 3);
});

test('an agent certificate for zone A cannot report for zone B: the balancer refuses it', async (t) => {
  const p = await getPki();
  const store = await openStore({ kind: 'memory' });
  const lbCert = await p.issue(globalLbId(TD), { usages: ['server'] });
  const lb = await startGlobalLb({
    store, replicaId: 'r1', grpcListen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 },
    heartbeatMs: 500, leaseTtlSeconds: 3, processMetrics: false, logger: quiet('global-lb'),
    tls: { certPem: lbCert.chainPem, keyPem: lbCert.keyPem, bundlePem: p.root.certPem, trustDomain: TD },
  });
  t.after(async () => {
    await lb.close();
    await store.close();
  });
  const zoneA = await p.issue(zoneAgentId(TD, 'a1'), { usages: ['client'] });
  const creds = federationCredentials({ rootsPem: p.root.certPem, certChainPem: zoneA.chainPem, keyPem: zoneA.keyPem, balancerId: globalLbId(TD) });
  const run = (zone: string) => {
    let connected = false;
    let acks = 0;
    const r = new FederationReporter({
      addresses: [lb.grpcAddress], credentials: creds,
      hello: { locality: { cloud: 'sim', region: 'r1', zone }, cluster: 'east', network: 'n1', agent_id: 'x', agent_version: 't' },
      reportIntervalMs: 200, heartbeatMs: 200,
      buildReport: (sequence, now) => ({ zone, sequence: String(sequence), sent_at_unix_ms: String(now), window_ms: 200, services: [], rtts: [] }),
      onMessage: (m) => { if (m.msg === 'ack') acks++; },
      onConnected: (up) => { connected = up; },
      logger: quiet('zone-agent'), backoff: { initialMs: 100, maxMs: 500, multiplier: 2, jitter: 0 },
    });
    r.start();
    t.after(() => r.stop());
    return { r, connected: () => connected, acks: () => acks };
  };
  const good = run('a1');
  await until('zone A accepted', () => good.acks() > 0);
  const evil = run('b1');
  const refusal = await until('zone B refused', () => evil.r.lastRefusal);
  assert.match(refusal.message, /certificate is for zone "a1"/);
  assert.equal(evil.acks(), 0, 'no report of zone B was acknowledged');

  // The full agent over mTLS: it issues its own zone identity from the cluster CA and is accepted.
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-agent-mtls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writePluginCaDir(join(dir, 'ca'), p.east);
  writeFileSync(join(dir, 's.yaml'), 'services: []\n');
  const a = await startZoneAgent({
    locality: { cloud: 'sim', region: 'r1', zone: 'a2' }, cluster: 'east', network: 'n1', trustDomain: TD,
    globalLb: ['127.0.0.1:1', lb.grpcAddress], insecure: false, caDir: join(dir, 'ca'), discovery: { kind: 'static', file: join(dir, 's.yaml') },
    stateDir: join(dir, 'state'), relayListen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 },
    rttIntervalMs: 0, backoff: { initialMs: 50, maxMs: 200, multiplier: 2, jitter: 0.5 }, logger: quiet('zone-agent'), processMetrics: false,
  });
  t.after(() => a.stop());
  await until('agent over mTLS connected (after failing over from a dead address)', () => a.status().balancer.connected);
  assert.equal(a.status().balancer.address, lb.grpcAddress);
});
