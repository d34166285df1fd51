// Zone routing through real sidecars with mTLS: weighted split, local failover when a zone dies, authz, L7 faults.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import { parseSidecarConfig } from '../../api/sidecar-config.ts';
import { startSidecar, type Sidecar } from '../../sidecar/server/sidecar.ts';
import { seededRandom } from '../../common/random.ts';
import { diskPki, quietLogger, startEchoApp, tempDir, waitFor, type CertPaths, type DiskPki, type EchoReply } from './sidecar-support.ts';

const cleanups: (() => unknown)[] = [];
const hooks = { after: (fn: () => unknown) => { cleanups.push(fn); } };
after(async () => { for (const fn of cleanups.reverse()) await Promise.resolve().then(fn).catch(() => {}); });

let pki: DiskPki;
let dir = '';
const servers: Record<'a' | 'b', Sidecar[]> = { a: [], b: [] };
let client: Sidecar;
let clientRaw: Record<string, unknown>;
let webCerts: CertPaths;
const denied: string[] = [];
const agent = new Agent({ connections: 64 });
cleanups.push(() => agent.close());

async function startServer(zone: 'a' | 'b', i: number, authz?: unknown): Promise<Sidecar> {
  const app = await startEchoApp(hooks, `catalog-${zone}${i}`, zone);
  const certs = await pki.workload(dir, 'shop', 'catalog');
  const sc = await startSidecar({
    service: 'shop/catalog', zone, appPort: app.port, logger: quietLogger(),
    config: parseSidecarConfig(JSON.stringify({ trustDomain: 'mesh.test', zones: { a: { network: 'n1' }, b: { network: 'n1' } }, certificates: certs.files, ...(authz ? { authz } : {}) }), 'server.json'),
  });
  hooks.after(() => sc.close());
  return sc;
}

before(async () => {
  dir = tempDir(hooks);
  pki = await diskPki();
  for (const zone of ['a', 'b'] as const) for (let i = 0; i < 2; i++) servers[zone].push(await startServer(zone, i));
  webCerts = await pki.workload(dir, 'shop', 'web');
  clientRaw = {
    trustDomain: 'mesh.test',
    zones: { a: { network: 'n1' }, b: { network: 'n1' } },
    certificates: webCerts.files,
    services: {
      'shop/catalog': {
        port: 8080,
        identity: 'spiffe://mesh.test/ns/shop/sa/catalog',
        endpoints: Object.fromEntries((['a', 'b'] as const).map((z) => [z, servers[z].map((s) => `127.0.0.1:${s.inboundPort}`)])),
        weights: { a: 7000, b: 3000 },
        policy: {
          retry: { attempts: 3, retryOn: ['connect-failure', 'reset', '503'] },
          outlierDetection: { consecutive5xx: 5, consecutiveConnectFailures: 3, baseEjectionTime: '30s' },
        },
      },
    },
  };
  client = await startSidecar({
    service: 'shop/web', zone: 'a', appPort: 1, logger: quietLogger(), random: seededRandom(42),
    onEvent: (e) => { if (e.kind === 'retry-denied') denied.push(e.reason); },
    config: parseSidecarConfig(JSON.stringify(clientRaw), 'client.json'),
  });
  hooks.after(() => client.close());
});

interface Tally { byZone: Record<string, number>; failed: number; statuses: Record<number, number>; latencies: number[] }

/** Sends `n` GETs at `concurrency`, tallying the serving zone, the status and the latency of each. */
async function load(n: number, concurrency: number, headers: Record<string, string> = {}, onEach?: (zone: string, status: number) => void): Promise<Tally> {
  const tally: Tally = { byZone: {}, failed: 0, statuses: {}, latencies: [] };
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const t0 = performance.now();
      try {
        const res = await request(`http://127.0.0.1:${client.outboundPort}/zone`, { dispatcher: agent, headers: { host: 'catalog.shop', ...headers } });
        const text = await res.body.text();
        tally.latencies.push(performance.now() - t0);
        tally.statuses[res.statusCode] = (tally.statuses[res.statusCode] ?? 0) + 1;
        if (res.statusCode !== 200) { tally.failed++; onEach?.('', res.statusCode); continue; }
        const zone = (JSON.parse(text) as EchoReply).zone;
        tally.byZone[zone] = (tally.byZone[zone] ?? 0) + 1;
        onEach?.(zone, res.statusCode);
      } catch {
        tally.failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return tally;
}

test('weights 70/30 over two zones split 5000 requests within 3 points', async () => {
  const t = await load(5000, 16);
  assert.equal(t.failed, 0, JSON.stringify(t.statuses));
  const shareA = (t.byZone['a'] ?? 0) / 5000;
  assert.ok(Math.abs(shareA - 0.7) <= 0.03, `zone a got ${(shareA * 100).toFixed(2)}%`);
});

test('authz: an identity not on the allow list gets 403, a listed one gets through', async (t) => {
  const guarded = await startServer('a', 9, { defaultAction: 'deny', allow: { 'shop/catalog': ['spiffe://mesh.test/ns/shop/sa/web'] } });
  const intruderCerts = await pki.workload(dir, 'shop', 'intruder');
  const svc = { port: 8080, endpoints: { a: [`127.0.0.1:${guarded.inboundPort}`] } };
  const mk = async (certs: CertPaths) => {
    const sc = await startSidecar({
      service: 'shop/x', zone: 'a', appPort: 1, logger: quietLogger(),
      config: parseSidecarConfig(JSON.stringify({ trustDomain: 'mesh.test', zones: { a: { network: 'n1' } }, certificates: certs.files, services: { 'shop/catalog': svc } }), 'c.json'),
    });
    t.after(() => sc.close());
    return sc;
  };
  const intruder = await mk(intruderCerts);
  const friend = await mk(webCerts);
  const denied = await request(`http://127.0.0.1:${intruder.outboundPort}/`, { headers: { host: 'catalog.shop' } });
  assert.equal(denied.statusCode, 403);
  await denied.body.dump();
  const allowed = await request(`http://127.0.0.1:${friend.outboundPort}/`, { headers: { host: 'catalog.shop' } });
  assert.equal(allowed.statusCode, 200);
  await allowed.body.dump();
  const metrics = await (await request(`http://127.0.0.1:${guarded.adminPort}/metrics`)).body.text();
  assert.match(metrics, /meshfed_authz_denied_total\{service="shop\/catalog"\} 1/);
});

test('injected aborts and delays hit their percentage within 3 points', async () => {
  const put = async (body: unknown) => {
    const r = await request(`http://127.0.0.1:${client.adminPort}/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(r.statusCode, 200, await r.body.text());
  };
  await put({ rules: [{ service: 'shop/catalog', abort: { httpStatus: 418, percent: 25 } }] });
  const aborted = await load(3000, 16);
  const share = (aborted.statuses[418] ?? 0) / 3000;
  assert.ok(Math.abs(share - 0.25) <= 0.03, `abort share ${(share * 100).toFixed(2)}%`);
  assert.equal((aborted.statuses[200] ?? 0) + (aborted.statuses[418] ?? 0), 3000);

  // Delays: every delayed request takes at least the delay, so the share of requests at or over it measures the
  // injected share; a baseline at the same concurrency bounds how many would be that slow anyway on this machine.
  await (await request(`http://127.0.0.1:${client.adminPort}/faults`, { method: 'DELETE' })).body.dump();
  const baseline = await load(500, 8);
  const baseSlow = baseline.latencies.filter((ms) => ms >= 300).length / 500;
  await put({ rules: [{ service: 'shop/catalog', delay: { fixed: '300ms', percent: 20 } }] });
  const delayed = await load(1500, 8);
  const slow = delayed.latencies.filter((ms) => ms >= 300).length / 1500;
  assert.equal(delayed.failed, 0);
  assert.ok(slow >= 0.17 && slow <= 0.23 + baseSlow, `delayed share ${(slow * 100).toFixed(2)}% (baseline over 300 ms: ${(baseSlow * 100).toFixed(2)}%)`);

  // Only requests with the header are faulted when the rule says so.
  await put({ rules: [{ service: 'shop/catalog', headers: [{ name: 'x-chaos', exact: 'yes' }], abort: { httpStatus: 503, percent: 100 } }] });
  assert.equal((await load(50, 4)).statuses[200], 50);
  assert.equal((await load(50, 4, { 'x-chaos': 'yes' })).statuses[503], 50);
  await (await request(`http://127.0.0.1:${client.adminPort}/faults`, { method: 'DELETE' })).body.dump();
  const metrics = await (await request(`http://127.0.0.1:${client.adminPort}/metrics`)).body.text();
  assert.match(metrics, /meshfed_fault_injections_total\{kind="outbound-abort"\} \d+/);
});

test('killing every endpoint of a zone under traffic: zero failed GETs, traffic on the other zone within 1 s', async () => {
  // The retry budget must cover the requests in flight to the dying zone at once (~30% of 8); with the default
  // 20%/min-3 budget at higher concurrency a few retries are denied by design (budget-exhausted).
  const raw = structuredClone(clientRaw) as { services: Record<string, { policy: Record<string, unknown> }> };
  raw.services['shop/catalog']!.policy['retryBudget'] = { percent: 20, minConcurrency: 8 };
  client.applyConfig(parseSidecarConfig(JSON.stringify(raw), 'client.json'));
  let killedAt = 0;
  let lastBAfterKill = 0;
  const traffic = load(4000, 8, {}, (zone) => {
    if (killedAt > 0 && zone === 'b') lastBAfterKill = performance.now();
  });
  // Kill zone b once traffic is flowing there.
  await waitFor('traffic on zone b', async () => {
    const m = await (await request(`http://127.0.0.1:${client.adminPort}/metrics`)).body.text();
    const hits = /meshfed_requests_total\{source_zone="a",dest_zone="b",dest_service="shop\/catalog",code="200"\} (\d+)/.exec(m);
    return hits && Number(hits[1]) > 1600 ? true : undefined;
  });
  killedAt = performance.now();
  await Promise.all(servers.b.map((s) => s.close()));
  const ejectedAfter = await waitFor('both zone-b endpoints ejected', async () => {
    const stats = (await (await request(`http://127.0.0.1:${client.adminPort}/stats`)).body.json()) as { services: Record<string, { ejected: string[] }> };
    const ej = stats.services['shop/catalog']?.ejected ?? [];
    return servers.b.every((s) => ej.some((id) => id.endsWith(`:${s.inboundPort}`))) ? performance.now() - killedAt : undefined;
  });
  const t = await traffic;
  assert.equal(t.failed, 0, `failed requests: ${JSON.stringify(t.statuses)}; retries denied: ${denied.join(', ')}`);
  assert.ok(ejectedAfter < 1000, `zone b fully ejected ${ejectedAfter.toFixed(0)} ms after the kill`);
  // Responses from zone b after the kill can only be requests already answered when it died.
  assert.ok(lastBAfterKill === 0 || lastBAfterKill - killedAt < 1000, `zone b still answered ${(lastBAfterKill - killedAt).toFixed(0)} ms after the kill`);
  assert.ok((t.byZone['a'] ?? 0) > 0);
});

test('an upstream connect failure that reaches the caller is counted by class, and in-flight returns to 0', async () => {
  // Runs after the kill test: zone b's endpoints are closed. Route only there, with no retries, so failures surface.
  const raw = structuredClone(clientRaw) as { services: Record<string, { endpoints: Record<string, string[]>; weights: Record<string, number>; policy: Record<string, unknown> }> };
  const svc = raw.services['shop/catalog']!;
  svc.endpoints = { b: svc.endpoints['b']! };
  svc.weights = { b: 10000 };
  svc.policy['retry'] = { attempts: 1, retryOn: [] };
  client.applyConfig(parseSidecarConfig(JSON.stringify(raw), 'client.json'));
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) {
    const res = await request(`http://127.0.0.1:${client.outboundPort}/zone`, { dispatcher: agent, headers: { host: 'catalog.shop' } });
    await res.body.text();
    statuses.push(res.statusCode);
  }
  assert.ok(statuses.every((s) => s >= 500), `every request failed: ${statuses.join(',')}`);
  const m = await (await request(`http://127.0.0.1:${client.adminPort}/metrics`)).body.text();
  const cf = /meshfed_upstream_failures_total\{dest_service="shop\/catalog",class="connect_failure"\} (\d+)/.exec(m);
  assert.ok(cf && Number(cf[1]) >= 1, 'connect failures counted by class');
  assert.match(m, /meshfed_requests_in_flight\{dest_service="shop\/catalog"\} 0\n/);
});
