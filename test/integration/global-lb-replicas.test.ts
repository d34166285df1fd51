// Three in-process global-lb replicas on a real etcd with simulated agents: weights reach every agent whichever
// replica it is connected to; a dropped agent stream makes its zone ineligible and shares move to the next tier;
// restarting etcd lets replicas recover without a restart and loses no policy or weight table.
import { test, before, after } from 'node:test';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { skipWithoutEtcd, startEtcd, type EtcdServer } from '../support/etcd.ts';
import { openStore, type Store } from '../../global-lb/store/index.ts';
import { startGlobalLb, type GlobalLb, type ZoneView } from '../../global-lb/index.ts';
import { createLogger } from '../../common/logger.ts';
import { SimAgent, serviceReport } from '../support/agent-client.ts';
import type { ServiceReport } from '../../api/generated/meshfed/v1/ServiceReport.ts';
import { STALE_GRACE_MS } from '../../global-lb/weights/index.ts';
import { KEYS } from '../../global-lb/store/index.ts';
import { createTestPki } from '../../trust/testing.ts';
import { bundleToJson } from '../../trust/bundle.ts';

const LEASE_TTL_S = 2;
const ROOT = join(import.meta.dirname, '..', '..');

/** Runs the real CLI against a replica (asynchronously: the replicas live in this process). */
function cli(admin: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(join(ROOT, 'node_modules/.bin/node'), [join(ROOT, 'cli/meshfed.ts'), ...args], {
      encoding: 'utf8', env: { ...process.env, MESHFED_ADMIN: admin, MESHFED_LOG_LEVEL: 'silent' }, timeout: 60_000,
    }, (error, stdout, stderr) => resolve({ status: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }));
  });
}
let etcd: EtcdServer;
const stores: Store[] = [];
const replicas: GlobalLb[] = [];
const agents = new Map<string, { agent: SimAgent; timer: NodeJS.Timeout }>();

/** What each zone reports: a1 and b1 serve shop/cart; a2 has demand but no endpoints, so its traffic must leave. */
const SERVICES: Record<string, () => ServiceReport[]> = {
  a1: () => [serviceReport('shop', 'cart', { healthy: 2, capacityRps: 1000, rps: 50, endpoints: [{ address: '10.0.1.1', port: 8080 }] })],
  a2: () => [serviceReport('shop', 'cart', { healthy: 0, total: 0, capacityRps: 0, rps: 100 })],
  b1: () => [serviceReport('shop', 'cart', { healthy: 2, capacityRps: 1000, rps: 50, endpoints: [{ address: '10.0.2.1', port: 8080 }] })],
};
const REGION: Record<string, string> = { a1: 'r1', a2: 'r1', b1: 'r2' };

/** Connects a simulated agent to a replica and keeps it reporting every 300 ms (which also keeps its lease alive). */
function connect(zone: string, replica: GlobalLb): SimAgent {
  const agent = new SimAgent({ address: replica.grpcAddress, zone, region: REGION[zone]!, cloud: 'sim' });
  agent.report(SERVICES[zone]!());
  const timer = setInterval(() => {
    if (agent.status === undefined) agent.report(SERVICES[zone]!());
  }, 300);
  agents.set(zone, { agent, timer });
  return agent;
}

function disconnect(zone: string): void {
  const a = agents.get(zone);
  if (!a) return;
  clearInterval(a.timer);
  a.agent.close();
  agents.delete(zone);
}

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as T };
}

async function poll<T>(what: string, deadlineMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + deadlineMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function leader(): Promise<GlobalLb> {
  return poll('a leader', 20_000, async () => replicas.find((r) => r.leader.isLeader() && r.leader.firstComputeDone()));
}

/** Without etcd (outside CI only) every test here is skipped, with the reason. */
const SKIP = skipWithoutEtcd();

before(async () => {
  if (SKIP) return;
  etcd = await startEtcd();
  for (let i = 0; i < 3; i++) {
    const store = await openStore({ kind: 'etcd', endpoints: etcd.endpoints });
    stores.push(store);
    replicas.push(await startGlobalLb({
      store, replicaId: `replica-${i}`, insecure: true,
      grpcListen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 },
      heartbeatMs: 500, leaseTtlSeconds: LEASE_TTL_S, processMetrics: false,
      logger: createLogger({ component: 'global-lb', level: process.env['MESHFED_TEST_LOG'] ?? 'silent' }),
    }));
  }
  // Readmission without hold-down or ramp keeps the test short; the engine's own tests cover hysteresis.
  const res = await fetch(`${replicas[0]!.adminUrl}/v1/policies/shop/cart`, {
    method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ holdDown: '0s', slowStart: '0s', maxStep: 10000, deadband: 0 }),
  });
  assert.equal(res.status, 200, await res.text());
});

after(async () => {
  for (const zone of [...agents.keys()]) disconnect(zone);
  await Promise.all(replicas.map((r) => r.close()));
  await Promise.all(stores.map((s) => s.close()));
  await etcd?.stop();
});

test('weight tables reach every agent, whichever replica it is connected to', { skip: SKIP }, async () => {
  const a1 = connect('a1', replicas[0]!);
  const a2 = connect('a2', replicas[1]!);
  const b1 = connect('b1', replicas[2]!);
  const sum = (s: Record<string, number> | undefined) => Object.values(s ?? {}).reduce((x, y) => x + y, 0);
  for (const a of [a1, a2, b1]) {
    await a.waitFor(() => sum(a.shares('shop/cart')) === 10000, 20_000, 'a full weight row for shop/cart');
    // Each agent is sent only its own source zone's row.
    assert.deepEqual(a.weights.get('shop/cart')?.sources.map((s) => s.source_zone), [a.zone]);
    await a.waitFor(() => (a.directory?.zones.length ?? 0) === 3, 20_000, 'a directory of three zones');
  }
  // a2 has no endpoints: its traffic goes to its region's other zone (tier 1), not across regions.
  await a2.waitFor(() => a2.shares('shop/cart')?.['a1'] === 10000, 20_000, 'a2 -> a1 at 10000');
  const eps = a2.directory!.zones.find((z) => z.locality?.zone === 'b1')?.services[0]?.endpoints[0];
  assert.equal(eps?.address, '10.0.2.1');
  // Every replica serves the same table through the admin API.
  const versions = await Promise.all(replicas.map(async (r) => (await getJson<{ version: string }>(`${r.adminUrl}/v1/weights/shop/cart`)).body.version));
  assert.equal(new Set(versions).size, 1, `replicas disagree: ${versions.join(', ')}`);
  const metrics = await (await fetch(`${replicas[1]!.adminUrl}/metrics`)).text();
  assert.match(metrics, /meshfed_weight_basis_points\{service="shop\/cart",source_zone="a2",target_zone="a1"\} 10000/);
  assert.match(metrics, /meshfed_agent_streams 1/);
});

test('the CLI shows a table with reasons, as JSON, and the zone list', { skip: SKIP }, async () => {
  const admin = replicas[2]!.adminUrl;
  const explain = await cli(admin, ['weights', 'shop/cart', '--explain']);
  assert.equal(explain.status, 0, explain.stderr);
  const a2line = explain.stdout.split('\n').find((l) => /^a2\s+a1\s/.test(l));
  assert.ok(a2line, explain.stdout);
  assert.match(a2line, /100\.00%/);
  assert.ok(a2line.trim().split(/\s{2,}/).length >= 5, `a reason column: ${a2line}`);
  const json = await cli(admin, ['weights', 'shop/cart', '-o', 'json']);
  assert.equal(JSON.parse(json.stdout).service, 'shop/cart');
  const zones = await cli(admin, ['zones']);
  assert.equal(zones.status, 0, zones.stderr);
  assert.match(zones.stdout, /^ZONE\s+CLOUD\/REGION/);
  for (const z of ['a1', 'a2', 'b1']) assert.match(zones.stdout, new RegExp(`^${z}\\s+sim/r\\d\\s+net1\\s+yes`, 'm'));
  const missing = await cli(admin, ['weights', 'shop/nothing']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /MESHFED_E_ADMIN_NOT_FOUND/);
});

test('the trust bundle set in the store reaches every agent', { skip: SKIP }, async () => {
  const pki = await createTestPki({ trustDomain: 'example.org' });
  await stores[0]!.put(KEYS.trustBundle, bundleToJson(pki.bundle));
  for (const zone of ['a1', 'a2', 'b1']) {
    const a = agents.get(zone)!.agent;
    await a.waitFor(() => a.trust?.root_pems[0] === pki.root.certPem, 20_000, 'the trust bundle');
    assert.equal(a.trust?.trust_domain, 'example.org');
  }
});

test('a stationary input writes no new tables: only changed versions are written', { skip: SKIP }, async () => {
  const lead = await leader();
  const written = async () => Number(/meshfed_weight_tables_written_total (\d+)/.exec(await (await fetch(`${lead.adminUrl}/metrics`)).text())?.[1]);
  const before = await written();
  // Reports keep arriving every 300 ms with the same numbers: several debounced rounds and heartbeat ticks run.
  const end = Date.now() + 2500;
  while (Date.now() < end) await new Promise((r) => setTimeout(r, 250));
  assert.equal(await written(), before);
  assert.ok((await lead.metrics.computeDuration.get()).values.find((v) => v.metricName === 'meshfed_compute_duration_seconds_count')!.value >= 3, 'rounds did run');
});

test('dropping an agent\'s stream leaves its zone in, stale, for the grace period; then shares move to the next tier', { skip: SKIP, timeout: 150_000 }, async () => {
  const a2 = agents.get('a2')!.agent;
  const dropped = Date.now();
  disconnect('a1');
  // Its endpoints are not presumed dead with its agent: a1 keeps its share, and the reason says it is stale.
  await a2.waitFor(() => /stale: agent lease gone/.test(a2.weights.get('shop/cart')?.sources[0]?.targets.find((t) => t.zone === 'a1')?.reason ?? ''), 4 * LEASE_TTL_S * 1000 + 5000, 'a2 to see a1 stale');
  assert.equal(a2.shares('shop/cart')?.['a1'], 10000, 'a stale zone keeps its weights');
  const lead = await leader();
  const stale = (await getJson<{ zones: ZoneView[] }>(`${lead.adminUrl}/v1/zones`)).body.zones.find((z) => z.zone === 'a1');
  assert.equal(stale?.alive, false);
  assert.ok(stale?.agentLostSeconds !== undefined && stale.agentLostSeconds < STALE_GRACE_MS / 1000, `status shows how long the agent is lost: ${JSON.stringify(stale)}`);
  // After the grace period it goes out and its share moves to the next tier.
  await a2.waitFor(() => a2.shares('shop/cart')?.['b1'] === 10000 && (a2.shares('shop/cart')?.['a1'] ?? 0) === 0, STALE_GRACE_MS + 4 * LEASE_TTL_S * 1000 + 5000, 'a2 -> b1 at 10000');
  const movedMs = Date.now() - dropped;
  const a1 = (await getJson<{ zones: ZoneView[] }>(`${(await leader()).adminUrl}/v1/zones`)).body.zones.find((z) => z.zone === 'a1');
  assert.equal(a1?.eligible, false);
  const row = a2.weights.get('shop/cart')!.sources[0]!;
  assert.ok((row.targets.find((t) => t.zone === 'b1')?.tier ?? 0) > (row.targets.find((t) => t.zone === 'a1')?.tier ?? 99) || row.targets.every((t) => t.zone !== 'a1'),
    'b1 is a farther tier than a1');
  assert.ok(movedMs >= STALE_GRACE_MS && movedMs < STALE_GRACE_MS + 2 * LEASE_TTL_S * 1000 + 3000, `shares moved after ${movedMs} ms`);
  process.stdout.write(`# shares moved ${movedMs} ms after the stream was dropped (grace ${STALE_GRACE_MS} ms)\n`);
});

test('restarting etcd: replicas recover without a restart, and no policy or table is lost', { skip: SKIP }, async () => {
  const before = (await getJson<{ version: string }>(`${replicas[0]!.adminUrl}/v1/weights/shop/cart`)).body.version;
  await etcd.restart();
  for (const r of replicas) {
    await poll(`${r.replicaId} ready`, 30_000, async () => ((await fetch(`${r.adminUrl}/readyz`)).status === 200 ? true : undefined));
  }
  const lead = await leader();
  const policy = await getJson<{ policy: { holdDown: string } }>(`${lead.adminUrl}/v1/policies/shop/cart`);
  assert.equal(policy.status, 200);
  assert.equal(policy.body.policy.holdDown, '0s');
  for (const r of replicas) {
    const t = await getJson<{ version: string }>(`${r.adminUrl}/v1/weights/shop/cart`);
    assert.equal(t.status, 200);
  }
  assert.ok(before.length > 0);
  // Weights keep flowing after the restart: a1 comes back and a2's traffic returns to its region.
  const a2 = agents.get('a2')!.agent;
  connect('a1', replicas[2]!);
  await a2.waitFor(() => (a2.shares('shop/cart')?.['a1'] ?? 0) === 10000, 30_000, 'a2 -> a1 again after the etcd restart');
  // A change made after the restart goes through every layer: drain b1 and check the zone list says so.
  const drain = await cli(replicas[1]!.adminUrl, ['drain', 'b1']);
  assert.equal(drain.status, 0, drain.stderr);
  assert.match(drain.stdout, /zone b1 drained/);
  await poll('b1 drained on every replica', 20_000, async () => {
    const all = await Promise.all(replicas.map(async (r) => (await getJson<{ zones: ZoneView[] }>(`${r.adminUrl}/v1/zones`)).body.zones.find((z) => z.zone === 'b1')?.drained));
    return all.every((d) => d === true) ? true : undefined;
  });
  const undrain = await cli(replicas[0]!.adminUrl, ['undrain', 'b1']);
  assert.equal(undrain.status, 0, undrain.stderr);
  await poll('b1 undrained', 20_000, async () => ((await getJson<{ zones: ZoneView[] }>(`${replicas[2]!.adminUrl}/v1/zones`)).body.zones.find((z) => z.zone === 'b1')?.drained === false ? true : undefined));
});
