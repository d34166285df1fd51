// Real sidecars fed by real zone agents that report to a real global-lb: traffic follows the balancer's weights,
// survives the balancer's death and an agent restart on the last (persisted) weights with zero failed requests,
// and picks up fresh weights (a drain) when the balancer returns, with no sidecar restart.
import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../../global-lb/store/index.ts';
import { startGlobalLb, type GlobalLb } from '../../global-lb/index.ts';
import type { Store } from '../../global-lb/store/store.ts';
import type { ZoneAgent } from '../../zone-agent/agent.ts';
import { createTestPki } from '../../trust/testing.ts';
import { writePluginCaDir } from '../../trust/index.ts';
import { freePorts } from '../../local/ports.ts';
import { tempDir } from './sidecar-support.ts';
import { until } from './agent-support.ts';
import { agent, cartWeights, quiet, relayedSidecar, TD, Traffic, writeStatic } from './relay-support.ts';

function balancer(store: Store, port = 0): Promise<GlobalLb> {
  return startGlobalLb({
    store, replicaId: 'r1', insecure: true, grpcListen: { host: '127.0.0.1', port }, adminListen: { host: '127.0.0.1', port: 0 },
    heartbeatMs: 300, leaseTtlSeconds: 3, processMetrics: false, debounceMinMs: 20, debounceMaxMs: 200, logger: quiet('global-lb'),
  });
}

async function admin(lb: GlobalLb, method: string, path: string, body?: unknown): Promise<void> {
  const res = await fetch(`${lb.adminUrl}${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
}

const near = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol;

test('a relayed sidecar serves by the balancer weights and stays up through balancer loss and an agent restart', { timeout: 180_000 }, async (t) => {
  const dir = tempDir(t, 'meshfed-relay-fs-');
  const pki = await createTestPki({ trustDomain: TD });
  const caDir = join(dir, 'ca');
  writePluginCaDir(caDir, pki.east);
  const store = await openStore({ kind: 'memory' });
  let lb: GlobalLb | undefined = await balancer(store);
  const grpcPort = lb.grpcPort;
  const agents: { a?: ZoneAgent; b?: ZoneAgent } = {};
  t.after(async () => {
    await agents.a?.stop();
    await agents.b?.stop();
    await lb?.close();
    await store.close();
    // Again after the agents stopped: their last fail-static write may land after tempDir's own cleanup ran.
    rmSync(dir, { recursive: true, force: true });
  });

  const [cartA, cartB] = await freePorts(2);
  for (const z of ['a', 'b']) mkdirSync(join(dir, z), { recursive: true });
  writeStatic(join(dir, 'a', 'static.json'), [cartA!]);
  writeStatic(join(dir, 'b', 'static.json'), [cartB!]);
  const start = (zone: 'a' | 'b', relayPort?: number) =>
    agent({ zone, grpcPort, staticFile: join(dir, zone, 'static.json'), stateDir: join(dir, zone, 'state'), caDir, ...(relayPort !== undefined ? { relayPort } : {}) });
  agents.a = await start('a');
  agents.b = await start('b');
  const relayA = agents.a.relayPort;

  await relayedSidecar(t, { service: 'shop/cart', zone: 'a', relayPort: relayA, inboundPort: cartA! });
  await relayedSidecar(t, { service: 'shop/cart', zone: 'b', relayPort: agents.b.relayPort, inboundPort: cartB! });
  const web = await relayedSidecar(t, { service: 'shop/web', zone: 'a', relayPort: relayA });
  assert.ok(web.intake().certificate, 'the web sidecar holds a certificate signed through the relay');

  await admin(lb, 'PUT', '/v1/policies/shop/cart', { holdDown: '1s', slowStart: '0s', maxStep: 10000, distribute: [{ from: 'a', to: { a: 70, b: 30 } }] });
  await until('70/30 weights at the web sidecar', async () => {
    const w = await cartWeights(web);
    return w?.['a'] === 7000 && w['b'] === 3000;
  }, 30_000);

  const traffic = new Traffic(web.sidecar.outboundPort, 'cart.shop');
  t.after(() => traffic.stop());
  await until('800 requests', () => traffic.count() >= 800, 60_000);
  assert.deepEqual(traffic.failures, []);
  assert.ok(near(traffic.share('a'), 0.7, 0.05), `share to a ${traffic.share('a')} is 70% +-5%`);

  // The balancer dies: the agent goes stale, the sidecar keeps its weights and serves.
  await lb.close();
  lb = undefined;
  await until('the agent to notice the balancer is gone', () => agents.a!.status().weights.stale, 20_000);
  await until('the sidecar to get the stale state', () => web.intake().stale, 10_000);
  traffic.resetShares();
  await until('600 requests without a balancer', () => traffic.count() >= 600, 60_000);
  assert.deepEqual(traffic.failures, []);
  assert.ok(near(traffic.share('a'), 0.7, 0.05), `share to a ${traffic.share('a')} still 70% +-5% on the last weights`);
  assert.deepEqual(await cartWeights(web), { a: 7000, b: 3000 });

  // The agent restarts while the balancer is still down: the sidecar reconnects and is served the persisted weights.
  const connectsBefore = web.intake().connects;
  await agents.a.stop();
  agents.a = undefined;
  await until('the sidecar to notice the agent is gone', () => !web.intake().connected, 10_000);
  const restarted = await start('a', relayA);
  agents.a = restarted;
  assert.equal(restarted.status().weights.tables > 0, true, 'the restarted agent loaded persisted weights');
  await until('the sidecar to reconnect to the restarted agent', () => web.intake().connected && web.intake().connects > connectsBefore, 20_000);
  assert.equal(web.intake().stale, true, 'the reconnected sidecar knows the weights are the last good ones');
  traffic.resetShares();
  await until('400 requests after the agent restart', () => traffic.count() >= 400, 60_000);
  assert.deepEqual(traffic.failures, []);
  assert.deepEqual(await cartWeights(web), { a: 7000, b: 3000 });
  assert.ok(near(traffic.share('a'), 0.7, 0.06), `share to a ${traffic.share('a')} on the persisted weights`);

  // The balancer returns on the same store and port; a drain of b reaches the sidecar with no restart.
  lb = await balancer(store, grpcPort);
  await until('the agent to reconnect', () => agents.a!.status().balancer.connected, 30_000);
  await admin(lb, 'POST', '/v1/zones/b/drain');
  await until('the drain to reach the web sidecar', async () => {
    const w = await cartWeights(web);
    return w !== undefined && (w['b'] ?? 0) === 0 && !web.intake().stale;
  }, 30_000);
  traffic.resetShares();
  await until('300 requests after the drain', () => traffic.count() >= 300, 60_000);
  await traffic.stop();
  assert.deepEqual(traffic.failures, []);
  assert.equal(traffic.share('b'), 0, 'no request reaches the drained zone');
  assert.ok(traffic.total > 2000, `${traffic.total} requests in all`);
});
