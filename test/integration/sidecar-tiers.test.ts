// Tiered failover and per-zone stats through real sidecars with real mTLS: a dead tier-0 zone spills to tier 1, and the relayed stats charge each outcome to its zone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Agent, request } from 'undici';
import { parseSidecarConfig } from '../../api/sidecar-config.ts';
import { startSidecar, type Sidecar } from '../../sidecar/server/sidecar.ts';
import { windowReader, type StatsWindow } from '../../sidecar/relay/stats-reader.ts';
import { seededRandom } from '../../common/random.ts';
import { diskPki, quietLogger, startEchoApp, tempDir, type DiskPki, type EchoReply } from './sidecar-support.ts';

const cleanups: (() => unknown)[] = [];
const hooks = { after: (fn: () => unknown) => { cleanups.push(fn); } };
after(async () => { for (const fn of cleanups.reverse()) await Promise.resolve().then(fn).catch(() => {}); });

let pki: DiskPki;
let dir = '';
let client: Sidecar;
const servers: Partial<Record<'b' | 'c', Sidecar>> = {};
let deadPort = 0;
const agent = new Agent({ connections: 16 });
cleanups.push(() => agent.close());

/** A loopback port nothing listens on: bound once, then closed, so connecting to it is refused. */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const ZONES = { a: { network: 'n1' }, b: { network: 'n1' }, c: { network: 'n1' } };

async function startServer(zone: 'b' | 'c'): Promise<Sidecar> {
  const app = await startEchoApp(hooks, `cart-${zone}`, zone);
  const certs = await pki.workload(dir, 'shop', 'cart');
  const sc = await startSidecar({
    service: 'shop/cart', zone, appPort: app.port, logger: quietLogger(), accessLogSample: 0,
    config: parseSidecarConfig(JSON.stringify({ trustDomain: 'mesh.test', zones: ZONES, certificates: certs.files }), `${zone}.json`),
  });
  hooks.after(() => sc.close());
  return sc;
}

before(async () => {
  dir = tempDir(hooks);
  pki = await diskPki();
  servers.b = await startServer('b');
  servers.c = await startServer('c');
  deadPort = await freePort();
  const certs = await pki.workload(dir, 'shop', 'web');
  client = await startSidecar({
    service: 'shop/web', zone: 'a', appPort: 1, logger: quietLogger(), random: seededRandom(7), accessLogSample: 0,
    config: parseSidecarConfig(JSON.stringify({
      trustDomain: 'mesh.test', zones: ZONES, certificates: certs.files,
      services: {
        'shop/cart': {
          identity: 'spiffe://mesh.test/ns/shop/sa/cart',
          endpoints: { a: [`127.0.0.1:${deadPort}`], b: [`127.0.0.1:${servers.b.inboundPort}`], c: [`127.0.0.1:${servers.c.inboundPort}`] },
          // The engine's row for a source in a: all of it to a (tier 0), b a same-region standby, c another cloud.
          weights: { a: 10000, b: 0, c: 0 },
          tiers: { a: 0, b: 1, c: 3 },
          policy: { retry: { attempts: 3, retryOn: ['connect-failure', 'reset', '503'] }, outlierDetection: { consecutiveConnectFailures: 3, baseEjectionTime: '30s' } },
        },
      },
    }), 'client.json'),
  });
  hooks.after(() => client.close());
});

/** Sends `n` GETs through the client sidecar; returns the serving zone (or status) of each. */
async function load(n: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const res = await request(`http://127.0.0.1:${client.outboundPort}/`, { dispatcher: agent, headers: { host: 'cart.shop' } });
    const text = await res.body.text();
    const key = res.statusCode === 200 ? (JSON.parse(text) as EchoReply).zone : `status-${res.statusCode}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

const entry = (w: StatsWindow, zone: string) => w.services.find((s) => s.name === 'cart' && s.destination_zone === zone);

test('tier-0 zone dead: at least 95% of requests go to the tier-1 standby, none fail, and the stats charge a for the connect failures and b for the successes', async () => {
  const asked = windowReader(() => client.metrics);
  const servedB = windowReader(() => servers.b?.metrics);
  const N = 400;
  const t = await load(N);
  assert.equal(Object.keys(t).filter((k) => k.startsWith('status-')).length, 0, `no request fails: ${JSON.stringify(t)}`);
  assert.ok((t['b'] ?? 0) >= 0.95 * N, `tier 1 (b) got ${t['b'] ?? 0} of ${N}: ${JSON.stringify(t)}`);
  assert.equal(t['c'] ?? 0, 0, 'the other cloud (tier 3) gets nothing while the region can serve');

  const w = await asked();
  const a = entry(w, 'a');
  const b = entry(w, 'b');
  assert.ok(a, JSON.stringify(w.services));
  assert.ok(Number(a.errors?.connect_failure) >= 1, `connect failures charged to a: ${JSON.stringify(a)}`);
  assert.equal(a.successes, '0');
  assert.equal(a.requests, a.errors?.connect_failure, 'every try to a was a connect failure');
  assert.ok(b, JSON.stringify(w.services));
  assert.equal(b.successes, String(t['b']), 'every success is charged to b');
  assert.equal(b.errors?.connect_failure, '0', 'b is not blamed for a');
  assert.equal(entry(w, 'c'), undefined);
  assert.equal(entry(w, '')?.local?.fault_injected ?? '0', '0');
  // What b's own sidecar reports as SERVED matches what the client saw it answer.
  const sb = (await servedB()).served.find((s) => s.name === 'cart');
  assert.equal(sb?.requests, String(t['b']));
  assert.equal(sb?.successes, String(t['b']));
});

test('an injected outbound abort shows up only as local.fault_injected, never as a destination error', async () => {
  const asked = windowReader(() => client.metrics);
  await asked();
  const put = await request(`http://127.0.0.1:${client.adminPort}/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rules: [{ service: 'shop/cart', abort: { httpStatus: 503, percent: 100 } }] }) });
  assert.equal(put.statusCode, 200, await put.body.text());
  try {
    const t = await load(20);
    assert.deepEqual(t, { 'status-503': 20 });
    const w = await asked();
    // Entries that carry only ejection gauges (zone a's endpoint is still ejected from the test before) say nothing
    // about this window's requests; every destination entry must be free of errors and requests.
    const counted = w.services.filter((s) => s.requests !== '0' || s.local?.fault_injected !== '0');
    assert.deepEqual(counted.map((s) => [s.destination_zone, s.requests, s.local?.fault_injected]), [['', '0', '20']], JSON.stringify(w.services));
    for (const s of w.services.filter((x) => x.destination_zone !== '')) assert.deepEqual([s.requests, s.errors?.http_5xx], ['0', '0']);
  } finally {
    await (await request(`http://127.0.0.1:${client.adminPort}/faults`, { method: 'DELETE' })).body.dump();
  }
});

test('served: an inbound injected 5xx counts as the workload\'s http_5xx, an unreachable app as its connect_failure', async () => {
  const certs = await pki.workload(dir, 'shop', 'cart');
  const deadApp = await freePort();
  const server = await startSidecar({
    service: 'shop/cart', zone: 'b', appPort: deadApp, logger: quietLogger(), accessLogSample: 0,
    config: parseSidecarConfig(JSON.stringify({ trustDomain: 'mesh.test', zones: ZONES, certificates: certs.files }), 'd.json'),
  });
  hooks.after(() => server.close());
  const webCerts = await pki.workload(dir, 'shop', 'web');
  const caller = await startSidecar({
    service: 'shop/web', zone: 'a', appPort: 1, logger: quietLogger(), accessLogSample: 0,
    config: parseSidecarConfig(JSON.stringify({
      trustDomain: 'mesh.test', zones: ZONES, certificates: webCerts.files,
      services: { 'shop/cart': { endpoints: { b: [`127.0.0.1:${server.inboundPort}`] }, policy: { retry: { attempts: 1 }, outlierDetection: { consecutive5xx: 0 } } } },
    }), 'caller.json'),
  });
  hooks.after(() => caller.close());
  const served = windowReader(() => server.metrics);
  const send = async (n: number) => {
    for (let i = 0; i < n; i++) await (await request(`http://127.0.0.1:${caller.outboundPort}/`, { dispatcher: agent, headers: { host: 'cart.shop' } })).body.dump();
  };
  await send(3);
  const put = await request(`http://127.0.0.1:${server.adminPort}/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rules: [{ direction: 'inbound', abort: { httpStatus: 503, percent: 100 } }] }) });
  assert.equal(put.statusCode, 200, await put.body.text());
  await send(2);
  const [s] = (await served()).served;
  assert.ok(s);
  assert.deepEqual([s.name, s.requests, s.successes, s.errors], ['cart', '5', '0', { http_5xx: '2', timeout: '0', connect_failure: '3', reset: '0' }]);
});
