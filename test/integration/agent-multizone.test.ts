// One Kubernetes cluster with three zones on the fake API server: one agent per zone reports only its zone's
// endpoints (zone from the EndpointSlice endpoint or its node), through relists, 410 Gone and periodic resync.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../common/logger.ts';
import { openStore } from '../../global-lb/store/index.ts';
import { KEYS } from '../../global-lb/store/store.ts';
import { startGlobalLb } from '../../global-lb/index.ts';
import { FakeKubeApi, endpointSlice, service, node } from '../fakes/kube-api.ts';
import { KubernetesDiscovery } from '../../zone-agent/discovery/kubernetes.ts';
import type { LocalService } from '../../zone-agent/discovery/model.ts';
import { startZoneAgent, type ZoneAgent } from '../../zone-agent/agent.ts';
import { until } from './agent-support.ts';

const quiet = (component: string) => createLogger({ component, level: process.env['MESHFED_TEST_LOG'] ?? 'silent' });
const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'] as const;
const BACKOFF = { initialMs: 20, maxMs: 200, multiplier: 2, jitter: 0.5 };

/**
 * Three zones' endpoints of one service: slice cart-mixed holds one endpoint per zone (zone on the endpoint for
 * 1a and 1c, only on the node for 1b); cart-b holds two more in us-east-1b.
 */
function seed(api: FakeKubeApi): void {
  ZONES.forEach((z, i) => api.apply('nodes', node(`node-${i}`, 'us-east-1', z)));
  api.apply('services', service('shop', 'cart'));
  api.apply('endpointslices', endpointSlice('shop', 'cart-mixed', 'cart', 8080, [
    { ip: '10.0.1.1', zone: 'us-east-1a', nodeName: 'node-0' },
    { ip: '10.0.2.1', nodeName: 'node-1' },
    { ip: '10.0.3.1', zone: 'us-east-1c' },
  ]));
  api.apply('endpointslices', endpointSlice('shop', 'cart-b', 'cart', 8080, [{ ip: '10.0.2.2', zone: 'us-east-1b' }, { ip: '10.0.2.3', nodeName: 'node-1' }]));
}

const addrs = (svcs: readonly LocalService[]) => svcs.find((s) => s.name === 'cart')?.endpoints.map((e) => e.address) ?? [];

/** Cleanups a test adds that must run before setup's own (which stops the API server and removes the directory). */
let cleanupFirst: (() => Promise<void>)[] = [];

async function setup(t: import('node:test').TestContext) {
  const api = await new FakeKubeApi().start();
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-multizone-'));
  const kubeconfig = api.writeKubeconfig(join(dir, 'kubeconfig'));
  cleanupFirst = [];
  t.after(async () => {
    for (const c of cleanupFirst.reverse()) await c();
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { api, dir, kubeconfig };
}

test('three agents of one cluster each discover only their zone, through updates, 410 Gone and relist', async (t) => {
  const { api, kubeconfig } = await setup(t);
  seed(api);
  const discs = ZONES.map((zone) => new KubernetesDiscovery({ kubeconfig, zone, logger: quiet('zone-agent'), backoff: BACKOFF, resyncMs: 0 }));
  t.after(async () => { for (const d of discs) await d.stop(); });
  await Promise.all(discs.map((d) => d.start()));
  const view = () => discs.map((d) => addrs(d.current()));
  assert.deepEqual(view(), [['10.0.1.1'], ['10.0.2.1', '10.0.2.2', '10.0.2.3'], ['10.0.3.1']]);
  for (const [i, d] of discs.entries()) {
    for (const e of d.current()[0]!.endpoints) assert.equal(e.labels['topology.kubernetes.io/zone'], ZONES[i], `${e.address} carries its zone`);
  }

  // An endpoint moving to another zone's node leaves one agent and reaches the other.
  api.apply('endpointslices', endpointSlice('shop', 'cart-b', 'cart', 8080, [{ ip: '10.0.2.2', zone: 'us-east-1b' }, { ip: '10.0.2.3', nodeName: 'node-2' }]));
  await until('10.0.2.3 moves to us-east-1c', () => addrs(discs[2]!.current()).includes('10.0.2.3') && !addrs(discs[1]!.current()).includes('10.0.2.3'));

  // 410 Gone: changes made while the watches were down and the log compacted arrive through a relist.
  const listsBefore = api.stats.lists.endpointslices;
  api.dropWatches();
  api.delete('endpointslices', 'shop', 'cart-mixed');
  api.apply('endpointslices', endpointSlice('shop', 'cart-a2', 'cart', 8080, [{ ip: '10.0.1.9', zone: 'us-east-1a' }]));
  api.compact();
  await until('relist after 410', () => JSON.stringify(view()) === JSON.stringify([['10.0.1.9'], ['10.0.2.2'], ['10.0.2.3']]));
  assert.ok(api.stats.goneSent >= 1, 'the fake really answered 410 Gone');
  assert.ok(api.stats.lists.endpointslices >= listsBefore + discs.length, 'every agent relisted');
});

test('resync relists and repairs a cache that missed a delete; a failed resync keeps the cache', async (t) => {
  const { api, kubeconfig } = await setup(t);
  seed(api);
  const disc = new KubernetesDiscovery({ kubeconfig, zone: 'us-east-1b', logger: quiet('zone-agent'), backoff: BACKOFF, resyncMs: 300 });
  t.after(() => disc.stop());
  await disc.start();
  assert.deepEqual(addrs(disc.current()), ['10.0.2.1', '10.0.2.2', '10.0.2.3']);
  const lists = api.stats.lists.endpointslices;
  assert.ok(api.forget('endpointslices', 'shop', 'cart-b'), 'the DELETED event is lost');
  await until('the periodic resync drops the lost slice', () => addrs(disc.current()).length === 1, 5000);
  assert.deepEqual(addrs(disc.current()), ['10.0.2.1']);
  assert.ok(disc.resyncCount() >= 1 && api.stats.lists.endpointslices > lists, 'a relist happened');

  await disc.stop();
  const manual = new KubernetesDiscovery({ kubeconfig, zone: 'us-east-1b', logger: quiet('zone-agent'), backoff: BACKOFF, resyncMs: 0 });
  t.after(() => manual.stop());
  await manual.start();
  const port = api.port;
  await api.stop();
  await manual.resync();
  assert.deepEqual(addrs(manual.current()), ['10.0.2.1'], 'a resync whose list failed does not empty the view');
  await api.start(port);
});

test('three real agents of one cluster report each zone\'s endpoints under that zone to the real global-lb', async (t) => {
  const { api, dir, kubeconfig } = await setup(t);
  seed(api);
  const store = await openStore({ kind: 'memory' });
  const lb = await startGlobalLb({
    store, replicaId: 'r1', insecure: true, grpcListen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 },
    heartbeatMs: 300, leaseTtlSeconds: 3, processMetrics: false, debounceMinMs: 20, debounceMaxMs: 200, logger: quiet('global-lb'),
  });
  const agents: ZoneAgent[] = [];
  // Before setup's cleanup removes the directory: a stopping agent flushes its fail-static state into it.
  cleanupFirst.push(async () => {
    for (const a of agents) await a.stop();
    await lb.close();
    await store.close();
  });
  for (const zone of ZONES) {
    agents.push(await startZoneAgent({
      locality: { cloud: 'aws', region: 'us-east-1', zone }, cluster: 'aws-use1', network: 'aws-net', trustDomain: 'meshfed.local',
      globalLb: [`127.0.0.1:${lb.grpcPort}`], insecure: true, discovery: { kind: 'kubernetes', kubeconfig },
      stateDir: join(dir, zone), relayListen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 },
      reportIntervalMs: 250, heartbeatMs: 250, rttIntervalMs: 0, backoff: { initialMs: 50, maxMs: 300, multiplier: 2, jitter: 0.5 },
      logger: quiet('zone-agent'), processMetrics: false,
    }));
  }
  const reported = async (zone: string): Promise<string[] | undefined> => {
    const kv = await store.get(KEYS.zoneReport(zone));
    if (!kv) return undefined;
    const record = JSON.parse(kv.value) as { identity: { locality: { zone: string } }; report: { services: { name: string; endpoints: { address: string; labels: Record<string, string> }[] }[] } };
    assert.equal(record.identity.locality.zone, zone);
    const cart = record.report.services.find((s) => s.name === 'cart');
    for (const e of cart?.endpoints ?? []) assert.equal(e.labels['topology.kubernetes.io/zone'], zone, `${e.address} reported under ${zone}`);
    return cart?.endpoints.map((e) => e.address).sort();
  };
  const expected: Record<string, string[]> = { 'us-east-1a': ['10.0.1.1'], 'us-east-1b': ['10.0.2.1', '10.0.2.2', '10.0.2.3'], 'us-east-1c': ['10.0.3.1'] };
  for (const zone of ZONES) {
    const got = await until(`a report from ${zone}`, async () => {
      const r = await reported(zone);
      return r !== undefined && r.length === expected[zone]!.length ? r : undefined;
    }, 20_000);
    assert.deepEqual(got, expected[zone]);
  }
});
