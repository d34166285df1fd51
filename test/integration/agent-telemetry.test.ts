// Telemetry at the edge: active HTTP health checks take a failing endpoint out of the relayed state and bring it
// back; RTT to a peer zone's gateway is measured as a real TLS handshake.
import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../common/logger.ts';
import { startZoneAgent } from '../../zone-agent/agent.ts';
import { measureHandshake, RttProber } from '../../zone-agent/telemetry/rtt.ts';
import { createTestPki } from '../../trust/testing.ts';
import { TestSidecar, until } from './agent-support.ts';

/** A zone agent on the static file dir/s.yaml with no balancer to reach, probing at the agent-wide `intervalMs`. */
function startStaticAgent(dir: string, intervalMs: number) {
  return startZoneAgent({
    locality: { cloud: 'sim', region: 'r1', zone: 'a1' }, cluster: 'c1', network: 'n1', trustDomain: 'meshfed.local',
    globalLb: ['127.0.0.1:1'], insecure: true, discovery: { kind: 'static', file: join(dir, 's.yaml') },
    stateDir: join(dir, 'state'), relayListen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 },
    healthCheck: { interval: intervalMs, timeout: 1000, healthyThreshold: 2, unhealthyThreshold: 3 }, rttIntervalMs: 0,
    backoff: { initialMs: 1000, maxMs: 5000, multiplier: 2, jitter: 0 }, logger: createLogger({ component: 'zone-agent', level: 'silent' }), processMetrics: false,
  });
}

/** A probe target on a free port answering `answer(path)`, counting probes, and a temp dir for the agent; both closed after the test. */
async function probeTarget(t: { after(fn: () => unknown): void }, answer: (path: string) => number): Promise<{ port: number; dir: string; probes(): number }> {
  let probes = 0;
  const app = createServer((req, res) => {
    probes++;
    res.statusCode = answer(req.url ?? '/');
    res.end();
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => { app.closeAllConnections(); app.close(() => r()); }));
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-agent-hc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { port: (app.address() as AddressInfo).port, dir, probes: () => probes };
}

test('health checks mark an endpoint unhealthy after the threshold and healthy again after recovery', async (t) => {
  let healthy = true;
  const { port, dir, probes } = await probeTarget(t, (path) => (path === '/healthz' && healthy ? 200 : 503));
  // The second endpoint has nothing listening: refused connections count as failures.
  writeFileSync(join(dir, 's.yaml'), `services:\n  - namespace: shop\n    name: cart\n    healthCheckPath: /healthz\n    endpoints: ["127.0.0.1:${port}", "127.0.0.1:1"]\n`);
  const a = await startStaticAgent(dir, 100);
  t.after(() => a.stop());
  const sc = new TestSidecar(a.relayPort);
  t.after(() => sc.close());
  await until('dead endpoint out', () => sc.endpoints('a1', 'cart').join() === `127.0.0.1:${port},127.0.0.1:1!`);
  healthy = false;
  const before = probes();
  await until('failing endpoint out', () => sc.endpoints('a1', 'cart').includes(`127.0.0.1:${port}!`));
  assert.ok(probes() - before >= 3, `went out after ${probes() - before} probes (threshold 3)`);
  healthy = true;
  await until('back in', () => sc.endpoints('a1', 'cart').includes(`127.0.0.1:${port}`));
});

test('a service\'s own health-check settings and a per-endpoint probe port: probed fast on another port than it serves on', async (t) => {
  let healthy = true;
  const { port, dir } = await probeTarget(t, (path) => (path === '/ready' && healthy ? 200 : 503));
  // The endpoint's own port has nothing listening (like an mTLS inbound a plain probe cannot pass): only the probe
  // port says how it is. The agent's interval is a minute, so only the service's 100 ms gets it out in time.
  writeFileSync(join(dir, 's.yaml'), `services:\n  - namespace: shop\n    name: cart\n    healthCheckPath: /ready\n    healthCheck: { interval: 100ms, unhealthyThreshold: 2, healthyThreshold: 1 }\n    endpoints: [{ address: "127.0.0.1:1", healthCheckPort: ${port} }]\n`);
  const a = await startStaticAgent(dir, 60_000);
  t.after(() => a.stop());
  const sc = new TestSidecar(a.relayPort);
  t.after(() => sc.close());
  await until('relayed healthy', () => sc.endpoints('a1', 'cart').join() === '127.0.0.1:1');
  healthy = false;
  await until('out after two failed probes', () => sc.endpoints('a1', 'cart').join() === '127.0.0.1:1!');
  healthy = true;
  await until('back after one passed probe', () => sc.endpoints('a1', 'cart').join() === '127.0.0.1:1');
});

test('the start-up grace: an endpoint that never passed is not taken out by failures until initialDelay; once it passed, failures count', async (t) => {
  let status = 503;
  const { port, dir, probes } = await probeTarget(t, () => status);
  writeFileSync(join(dir, 's.yaml'), `services:\n  - namespace: shop\n    name: cart\n    healthCheckPath: /ready\n    healthCheck: { interval: 100ms, unhealthyThreshold: 2, healthyThreshold: 1, initialDelay: 60s }\n    endpoints: ["127.0.0.1:${port}"]\n`);
  const a = await startStaticAgent(dir, 60_000);
  t.after(() => a.stop());
  const sc = new TestSidecar(a.relayPort);
  t.after(() => sc.close());
  await until('relayed', () => sc.endpoints('a1', 'cart').length === 1);
  await until('five failed probes', () => probes() >= 5);
  assert.deepEqual(sc.endpoints('a1', 'cart'), [`127.0.0.1:${port}`], 'still healthy: in its start-up grace, never passed');
  status = 200;
  const passedAt = probes();
  await until('a passed probe', () => probes() > passedAt + 1);
  status = 503;
  await until('out after two failed probes, the grace over', () => sc.endpoints('a1', 'cart').join() === `127.0.0.1:${port}!`);
});

test('RTT is the TLS handshake time to each peer gateway; unreachable gateways are left out', async (t) => {
  const pki = await createTestPki({ trustDomain: 'meshfed.local' });
  const gw = await pki.issue('spiffe://meshfed.local/ns/meshfed/sa/gateway', { usages: ['server'] });
  const server = createTlsServer({ cert: gw.chainPem, key: gw.keyPem }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const addr = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const ms = await measureHandshake(addr, 5000);
  assert.ok(ms !== undefined && ms > 0 && ms < 5000, `handshake ${ms} ms`);
  assert.equal(await measureHandshake('127.0.0.1:1', 2000), undefined);
  assert.equal(await measureHandshake('not-an-address', 2000), undefined);
  const p = new RttProber();
  p.setTargets({ b1: addr, c1: '127.0.0.1:1' });
  await p.probeAll();
  assert.deepEqual(Object.keys(p.current()), ['b1']);
  p.setTargets({});
  assert.deepEqual(p.current(), {});
});
