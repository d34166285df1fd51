// The zone agent against the real global-lb (in process, memory store) and the fake Kubernetes API: endpoint changes
// reach the report and the sidecars within 1 s; killing the balancer keeps sidecars on the last weights; an agent
// restarted while the balancer is down serves the persisted weights; the balancer coming back brings fresh weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../common/logger.ts';
import { openStore } from '../../global-lb/store/index.ts';
import { startGlobalLb, type GlobalLb } from '../../global-lb/index.ts';
import type { Store } from '../../global-lb/store/store.ts';
import { FakeKubeApi, endpointSlice, service, node } from '../fakes/kube-api.ts';
import { startZoneAgent, type ZoneAgent } from '../../zone-agent/agent.ts';
import { TestSidecar, until } from './agent-support.ts';

const quiet = (component: string) => createLogger({ component, level: process.env['MESHFED_TEST_LOG'] ?? 'silent' });

async function balancer(store: Store, port = 0): Promise<GlobalLb> {
  return startGlobalLb({
    store, replicaId: 'r1', insecure: true, grpcListen: { host: '127.0.0.1', port }, adminListen: { host: '127.0.0.1', port: 0 },
    heartbeatMs: 300, leaseTtlSeconds: 3, processMetrics: false, debounceMinMs: 20, debounceMaxMs: 200, logger: quiet('global-lb'),
  });
}

function agent(o: { grpcPort: number; kubeconfig: string; stateDir: string }): Promise<ZoneAgent> {
  return startZoneAgent({
    locality: { cloud: 'sim', region: 'r1', zone: 'a1' }, cluster: 'c1', network: 'n1', trustDomain: 'meshfed.local',
    globalLb: [`127.0.0.1:${o.grpcPort}`], insecure: true,
    discovery: { kind: 'kubernetes', kubeconfig: o.kubeconfig },
    stateDir: o.stateDir, relayListen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 },
    reportIntervalMs: 250, heartbeatMs: 250, rttIntervalMs: 0,
    backoff: { initialMs: 50, maxMs: 300, multiplier: 2, jitter: 0.5 },
    logger: quiet('zone-agent'), processMetrics: false,
  });
}

const cartWeights = (s: TestSidecar) => s.latest()?.weights.find((w) => w.name === 'cart');

test('discovery, reporting, relay and fail-static end to end with the real global-lb', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-agent-fs-'));
  const api = await new FakeKubeApi().start();
  const store = await openStore({ kind: 'memory' });
  let lb: GlobalLb | undefined = await balancer(store);
  const port = lb.grpcPort;
  const cleanups: (() => Promise<void> | void)[] = [];
  t.after(async () => {
    for (const c of cleanups.reverse()) await c();
    await lb?.close();
    await store.close();
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  api.apply('nodes', node('n1', 'r1', 'a1'));
  api.apply('services', service('shop', 'cart'));
  api.apply('endpointslices', endpointSlice('shop', 'cart-1', 'cart', 8080, [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }]));
  const kubeconfig = api.writeKubeconfig(join(dir, 'kubeconfig'));
  const stateDir = join(dir, 'state');

  let a = await agent({ grpcPort: port, kubeconfig, stateDir });
  cleanups.push(() => a.stop());
  const sc = new TestSidecar(a.relayPort, { zone: 'a1' });
  cleanups.push(() => sc.close());

  await until('connected', () => a.status().balancer.connected);
  await until('sidecar has local endpoints', () => sc.endpoints('a1', 'cart').length === 2);
  const w1 = await until('weights from the balancer reach the sidecar', () => cartWeights(sc), 20_000);
  assert.equal(w1.sources.length, 1, 'only this zone\'s row is relayed');
  assert.equal(w1.sources[0]?.source_zone, 'a1');
  assert.equal(w1.sources[0]?.targets.reduce((s, x) => s + x.basis_points, 0), 10000);
  assert.equal(sc.latest()?.stale, false);

  // EndpointSlice create / update / delete -> report and sidecar within 1 s.
  for (const [what, change, expect] of [
    ['create', () => api.apply('endpointslices', endpointSlice('shop', 'cart-2', 'cart', 8080, [{ ip: '10.0.0.3' }])), 3],
    ['update', () => api.apply('endpointslices', endpointSlice('shop', 'cart-2', 'cart', 8080, [{ ip: '10.0.0.3' }, { ip: '10.0.0.4' }])), 4],
    ['delete', () => api.delete('endpointslices', 'shop', 'cart-1'), 2],
  ] as const) {
    const t0 = Date.now();
    change();
    await until(`${what} in sidecar`, () => sc.endpoints('a1', 'cart').length === expect);
    const inSidecar = Date.now() - t0;
    await until(`${what} in report`, () => a.lastReport()?.services?.find((s) => s.name === 'cart')?.endpoints?.length === expect);
    const inReport = Date.now() - t0;
    assert.ok(inSidecar < 1000, `${what}: sidecar after ${inSidecar} ms`);
    assert.ok(inReport < 1000, `${what}: report after ${inReport} ms`);
  }
  assert.deepEqual(sc.endpoints('a1', 'cart'), ['10.0.0.3:8080', '10.0.0.4:8080']);

  // The balancer dies: the sidecar keeps its weights, marked stale; status and metric show the age.
  const held = cartWeights(sc);
  await lb.close();
  lb = undefined;
  await until('stale pushed', () => sc.latest()?.stale === true);
  assert.deepEqual(cartWeights(sc), held, 'last weights kept');
  assert.equal(a.status().weights.stale, true);
  const statusRes = await fetch(`http://127.0.0.1:${a.adminPort}/v1/status`);
  const status = (await statusRes.json()) as { weights: { ageSeconds: number; stale: boolean; tables: number } };
  assert.equal(status.weights.stale, true);
  assert.ok(status.weights.ageSeconds >= 0 && status.weights.tables >= 1);
  const metricsText = await (await fetch(`http://127.0.0.1:${a.adminPort}/metrics`)).text();
  const age = Number(/^meshfed_weights_age_seconds (\S+)$/m.exec(metricsText)?.[1]);
  assert.ok(age >= 0, `meshfed_weights_age_seconds = ${age}`);
  // Discovery still flows while the balancer is away.
  api.apply('endpointslices', endpointSlice('shop', 'cart-3', 'cart', 8080, [{ ip: '10.0.0.5' }]));
  await until('endpoint while stale', () => sc.endpoints('a1', 'cart').length === 3);

  // Agent restart while the balancer is still down: persisted weights are served.
  sc.close();
  await a.stop();
  cleanups.length = 0;
  a = await agent({ grpcPort: port, kubeconfig, stateDir });
  cleanups.push(() => a.stop());
  const sc2 = new TestSidecar(a.relayPort, { zone: 'a1' });
  cleanups.push(() => sc2.close());
  await until('persisted weights served', () => cartWeights(sc2));
  assert.deepEqual(cartWeights(sc2), held, 'the persisted table is the last good one');
  assert.equal(sc2.latest()?.stale, true);
  assert.equal(a.status().balancer.connected, false);

  // The balancer returns on the same address: fresh weights flow, no agent restart. The table is recomputed to the
  // same content (so its version and computed_at need not change); fresh means received after the return.
  const returnedAt = Date.now();
  lb = await balancer(store, port);
  await until('reconnected', () => a.status().balancer.connected, 20_000);
  await until('fresh, not stale', () => sc2.latest()?.stale === false);
  await until('fresh weights', () => a.status().weights.receivedAtUnixMs > returnedAt && cartWeights(sc2)?.version === held?.version, 20_000);
});
