// Kubernetes discovery against the fake API server: create/update/delete, dropped watches, 410 Gone, malformed objects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../common/logger.ts';
import { FakeKubeApi, endpointSlice, service, node } from '../fakes/kube-api.ts';
import { KubernetesDiscovery } from '../../zone-agent/discovery/kubernetes.ts';
import type { LocalService } from '../../zone-agent/discovery/model.ts';

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function captureLogger(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
  return { logger: createLogger({ component: 'zone-agent', level: 'warn', destination }), lines };
}

async function setup(t: import('node:test').TestContext) {
  const api = await new FakeKubeApi().start();
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-agent-disc-'));
  const kubeconfig = api.writeKubeconfig(join(dir, 'kubeconfig'));
  const { logger, lines } = captureLogger();
  const disc = new KubernetesDiscovery({ kubeconfig, logger, backoff: { initialMs: 20, maxMs: 200, multiplier: 2, jitter: 0.5 } });
  t.after(async () => {
    await disc.stop();
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { api, disc, lines };
}

const addrs = (svcs: readonly LocalService[], name: string) =>
  svcs.find((s) => s.name === name)?.endpoints.map((e) => `${e.address}:${e.port}${e.healthy ? '' : '!'}`) ?? [];

test('EndpointSlice create, update and delete are reflected within 1 s', async (t) => {
  const { api, disc } = await setup(t);
  api.apply('nodes', node('n1', 'us-east-1', 'us-east-1a'));
  api.apply('services', service('shop', 'cart'));
  api.apply('services', service('shop', 'internal', false));
  api.apply('endpointslices', endpointSlice('shop', 'cart-a', 'cart', 8080, [{ ip: '10.0.0.1', nodeName: 'n1' }]));
  api.apply('endpointslices', endpointSlice('shop', 'internal-a', 'internal', 8080, [{ ip: '10.0.9.9' }]));
  await disc.start();
  assert.deepEqual(disc.current().map((s) => `${s.namespace}/${s.name}`), ['shop/cart'], 'only opted-in services');
  assert.deepEqual(addrs(disc.current(), 'cart'), ['10.0.0.1:8080']);
  assert.equal(disc.current()[0]?.endpoints[0]?.labels['topology.kubernetes.io/zone'], 'us-east-1a', 'node topology applied');

  let t0 = Date.now();
  api.apply('endpointslices', endpointSlice('shop', 'cart-b', 'cart', 8080, [{ ip: '10.0.0.2' }, { ip: '10.0.0.3', ready: false, serving: true, terminating: true }, { ip: '10.0.0.4', ready: false, serving: false }]));
  await until('create', () => addrs(disc.current(), 'cart').length === 3);
  assert.ok(Date.now() - t0 < 1000, `create took ${Date.now() - t0} ms`);
  assert.deepEqual(addrs(disc.current(), 'cart'), ['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080!'], 'not-serving dropped, terminating kept unhealthy');

  t0 = Date.now();
  api.apply('endpointslices', endpointSlice('shop', 'cart-b', 'cart', 8080, [{ ip: '10.0.0.5' }]));
  await until('update', () => addrs(disc.current(), 'cart').includes('10.0.0.5:8080'));
  assert.ok(Date.now() - t0 < 1000, `update took ${Date.now() - t0} ms`);
  assert.deepEqual(addrs(disc.current(), 'cart'), ['10.0.0.1:8080', '10.0.0.5:8080']);

  t0 = Date.now();
  api.delete('endpointslices', 'shop', 'cart-a');
  await until('delete', () => addrs(disc.current(), 'cart').length === 1);
  assert.ok(Date.now() - t0 < 1000, `delete took ${Date.now() - t0} ms`);
  assert.deepEqual(addrs(disc.current(), 'cart'), ['10.0.0.5:8080']);

  api.delete('services', 'shop', 'cart');
  await until('service removal', () => disc.current().length === 0);
});

test('a dropped watch resumes from its resourceVersion without losing or duplicating endpoints', async (t) => {
  const { api, disc } = await setup(t);
  api.apply('services', service('shop', 'cart'));
  api.apply('endpointslices', endpointSlice('shop', 'cart-a', 'cart', 8080, [{ ip: '10.0.0.1' }]));
  await disc.start();
  await until('watches open', () => api.openWatches() === 3);
  const listsBefore = api.stats.lists.endpointslices;
  assert.equal(api.dropWatches(), 3);
  // Changes while no watch is open must still arrive once the watch resumes.
  api.apply('endpointslices', endpointSlice('shop', 'cart-b', 'cart', 8080, [{ ip: '10.0.0.2' }]));
  api.apply('endpointslices', endpointSlice('shop', 'cart-a', 'cart', 8080, [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }]));
  await until('resumed', () => addrs(disc.current(), 'cart').length === 2 && api.openWatches('endpointslices') === 1);
  assert.deepEqual(addrs(disc.current(), 'cart'), ['10.0.0.1:8080', '10.0.0.2:8080'], 'endpoint in two slices appears once');
  assert.equal(api.stats.lists.endpointslices, listsBefore, 'a dropped watch resumes without a relist');
  api.apply('endpointslices', endpointSlice('shop', 'cart-c', 'cart', 8080, [{ ip: '10.0.0.3' }]));
  await until('live after resume', () => addrs(disc.current(), 'cart').length === 3);
});

test('410 Gone relists without losing or duplicating endpoints, including deletions missed meanwhile', async (t) => {
  const { api, disc } = await setup(t);
  api.apply('services', service('shop', 'cart'));
  api.apply('endpointslices', endpointSlice('shop', 'cart-a', 'cart', 8080, [{ ip: '10.0.0.1' }]));
  api.apply('endpointslices', endpointSlice('shop', 'cart-b', 'cart', 8080, [{ ip: '10.0.0.2' }]));
  await disc.start();
  await until('watches open', () => api.openWatches() === 3);
  const listsBefore = api.stats.lists.endpointslices;
  api.dropWatches();
  api.delete('endpointslices', 'shop', 'cart-a');
  api.apply('endpointslices', endpointSlice('shop', 'cart-c', 'cart', 8080, [{ ip: '10.0.0.3' }]));
  api.compact();
  await until('relisted', () => api.stats.lists.endpointslices > listsBefore && api.openWatches('endpointslices') === 1);
  assert.ok(api.stats.goneSent >= 1, 'the fake really sent 410 Gone');
  await until('converged', () => addrs(disc.current(), 'cart').join() === '10.0.0.2:8080,10.0.0.3:8080');
  api.apply('endpointslices', endpointSlice('shop', 'cart-d', 'cart', 8080, [{ ip: '10.0.0.4' }]));
  await until('live after relist', () => addrs(disc.current(), 'cart').length === 3);
  assert.deepEqual(addrs(disc.current(), 'cart'), ['10.0.0.2:8080', '10.0.0.3:8080', '10.0.0.4:8080']);
});

test('malformed EndpointSlices are skipped with a warning naming them, never a crash', async (t) => {
  const { api, disc, lines } = await setup(t);
  api.apply('services', service('shop', 'cart'));
  api.apply('endpointslices', endpointSlice('shop', 'cart-a', 'cart', 8080, [{ ip: '10.0.0.1' }]));
  const bad = endpointSlice('shop', 'cart-bad', 'cart', 8080, [{ ip: 'not-an-ip' }]);
  api.apply('endpointslices', bad);
  await disc.start();
  assert.deepEqual(addrs(disc.current(), 'cart'), ['10.0.0.1:8080']);
  await until('warning', () => lines.some((l) => l.includes('shop/cart-bad') && l.includes('MESHFED_E_AGENT_MALFORMED_OBJECT')));
  // Malformed via the watch path too: a port that is a string.
  const bad2 = endpointSlice('shop', 'cart-bad2', 'cart', 8080, [{ ip: '10.0.0.7' }]);
  (bad2['ports'] as { port: unknown }[])[0]!.port = 'eighty';
  api.apply('endpointslices', bad2);
  api.apply('endpointslices', endpointSlice('shop', 'cart-b', 'cart', 8080, [{ ip: '10.0.0.2' }]));
  await until('good slice after bad one', () => addrs(disc.current(), 'cart').length === 2);
  await until('warning 2', () => lines.some((l) => l.includes('shop/cart-bad2')));
  assert.deepEqual(addrs(disc.current(), 'cart'), ['10.0.0.1:8080', '10.0.0.2:8080']);
});

test('an unreachable API server is retried with backoff and discovery recovers', async (t) => {
  const { api, disc, lines } = await setup(t);
  api.apply('services', service('shop', 'cart'));
  api.apply('endpointslices', endpointSlice('shop', 'cart-a', 'cart', 8080, [{ ip: '10.0.0.1' }]));
  const port = api.port;
  await api.stop();
  await disc.start();
  await until('failure logged', () => lines.some((l) => l.includes('MESHFED_E_AGENT_DISCOVERY_FAILED')));
  // Same port, new server with the same objects.
  const api2 = new FakeKubeApi();
  t.after(() => api2.stop());
  await api2.start(port);
  api2.apply('services', service('shop', 'cart'));
  api2.apply('endpointslices', endpointSlice('shop', 'cart-a', 'cart', 8080, [{ ip: '10.0.0.1' }]));
  await until('recovered', () => addrs(disc.current(), 'cart').length === 1, 20_000);
});

test('namespaces limit which federated services are discovered', async (t) => {
  const api = await new FakeKubeApi().start();
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-agent-disc-'));
  const kubeconfig = api.writeKubeconfig(join(dir, 'kubeconfig'));
  const disc = new KubernetesDiscovery({ kubeconfig, namespaces: ['shop'], logger: createLogger({ component: 'zone-agent', level: 'silent' }) });
  t.after(async () => {
    await disc.stop();
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  api.apply('services', service('shop', 'cart'));
  api.apply('services', service('other', 'cart'));
  api.apply('endpointslices', endpointSlice('shop', 'cart-a', 'cart', 8080, [{ ip: '10.0.0.1' }]));
  api.apply('endpointslices', endpointSlice('other', 'cart-a', 'cart', 8080, [{ ip: '10.9.0.1' }]));
  await disc.start();
  assert.deepEqual(disc.current().map((s) => `${s.namespace}/${s.name}=${s.endpoints.map((e) => e.address).join()}`), ['shop/cart=10.0.0.1']);
});

test('a BOOKMARK moves the resume point forward, so a later compaction needs no relist', async (t) => {
  const { api, disc } = await setup(t);
  api.apply('services', service('shop', 'cart'));
  api.apply('endpointslices', endpointSlice('shop', 'cart-a', 'cart', 8080, [{ ip: '10.0.0.1' }]));
  await disc.start();
  await until('watches open', () => api.openWatches() === 3);
  // Changes elsewhere advance the global resourceVersion past what the slice watch has seen.
  for (let i = 0; i < 5; i++) api.apply('nodes', node(`n${i}`, 'r', 'z'));
  const before = Number(disc.resourceVersions()['endpointslices']);
  assert.equal(api.bookmark(), 3);
  await until('bookmark taken', () => Number(disc.resourceVersions()['endpointslices']) >= before + 5);
  const lists = api.stats.lists.endpointslices;
  api.compact();
  api.dropWatches();
  await until('resumed', () => api.openWatches('endpointslices') === 1);
  api.apply('endpointslices', endpointSlice('shop', 'cart-b', 'cart', 8080, [{ ip: '10.0.0.2' }]));
  await until('live', () => addrs(disc.current(), 'cart').length === 2);
  assert.equal(api.stats.lists.endpointslices, lists, 'resumed from the bookmark without a relist');
  assert.equal(api.stats.goneSent, 0);
});
