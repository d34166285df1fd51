// Unit tests of the replica view: store-key routing, trust-bundle parsing and the cold-start publish gate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KEYS } from '../store/store.ts';
import { MemoryStore } from '../store/store-memory.ts';
import { createLogger } from '../../common/logger.ts';
import { coldStartVerdict, knownZones, parseTrustBundle, ReplicaView, routeKey, type ViewChange } from './view.ts';

test('keys route to what they hold', () => {
  assert.deepEqual(routeKey(KEYS.zoneReport('a1')), { kind: 'report', zone: 'a1' });
  assert.deepEqual(routeKey(KEYS.zoneDrain('a1')), { kind: 'drain', zone: 'a1' });
  assert.deepEqual(routeKey(KEYS.policy('shop', 'cart')), { kind: 'policy', service: 'shop/cart' });
  assert.deepEqual(routeKey(KEYS.weight('shop', 'cart')), { kind: 'table', service: 'shop/cart' });
  assert.deepEqual(routeKey(KEYS.trustBundle), { kind: 'trust' });
  assert.deepEqual(routeKey(`${KEYS.root}election/global-lb/abc`), { kind: 'other' });
  assert.deepEqual(routeKey(`${KEYS.zones}a1/other`), { kind: 'other' });
  assert.deepEqual(routeKey(`${KEYS.policies}too/many/parts`), { kind: 'other' });
});

test('trust bundles parse from snake_case or camelCase, and need roots', () => {
  assert.deepEqual(parseTrustBundle(JSON.stringify({ trust_domain: 'td', rootPems: ['R'], aliases: ['x'], version: 'v1' })), {
    trust_domain: 'td', root_pems: ['R'], aliases: ['x'], revoked_serials: [], version: 'v1',
  });
  // The trust helper's bundle file format is validated: a root that is not a PEM certificate is refused.
  assert.equal(parseTrustBundle(JSON.stringify({ trustDomain: 'td', roots: ['not a pem'] })), undefined);
  assert.equal(parseTrustBundle(JSON.stringify({ trust_domain: 'td', root_pems: ['A', 'B'] }))?.root_pems?.length, 2);
  assert.equal(parseTrustBundle('{}'), undefined);
  assert.equal(parseTrustBundle('nope'), undefined);
});

const T0 = 1_000_000;
const gate = (known: string[], reported: string[], graceMs = 10_000) => ({ known: new Set(known), reported: new Set(reported), syncedAt: T0, graceMs });

test('cold-start gate: a fresh federation (nothing known) publishes at once', () => {
  assert.deepEqual(coldStartVerdict(gate([], []), T0), { open: true, reason: 'nothing-known', missing: [] });
});

test('cold-start gate: waits while a known zone has not reported again, then opens when all did', () => {
  assert.deepEqual(coldStartVerdict(gate(['b', 'a'], ['a']), T0 + 500), { open: false, waitingFor: ['b'], deadline: T0 + 10_000 });
  assert.deepEqual(coldStartVerdict(gate(['b', 'a'], []), T0), { open: false, waitingFor: ['a', 'b'], deadline: T0 + 10_000 });
  // A zone that reports but was not known (new during the outage) neither opens nor holds the gate.
  assert.deepEqual(coldStartVerdict(gate(['a', 'b'], ['a', 'b', 'c']), T0 + 1), { open: true, reason: 'all-reported', missing: [] });
});

test('cold-start gate: the grace opens it with whatever reported, naming the zones that did not', () => {
  assert.equal(coldStartVerdict(gate(['a', 'b'], ['a']), T0 + 9_999).open, false);
  assert.deepEqual(coldStartVerdict(gate(['a', 'b'], ['a']), T0 + 10_000), { open: true, reason: 'grace-elapsed', missing: ['b'] });
  assert.deepEqual(coldStartVerdict(gate(['a'], [], 0), T0), { open: true, reason: 'grace-elapsed', missing: ['a'] });
});

test('known zones are the stored tables\' source zones plus the stored reports\' zones', () => {
  const table = (sources: string[]) => ({ namespace: 'shop', name: 'cart', version: 'v', computedAt: 0, rows: sources.map((z) => ({ sourceZone: z, targets: [], panic: false })) });
  assert.deepEqual([...knownZones([table(['a', 'b']), table(['c'])], ['d', 'a'])].sort(), ['a', 'b', 'c', 'd']);
});

function storedReport(zone: string): string {
  return JSON.stringify({
    identity: { locality: { cloud: 'sim', region: 'r1', zone }, cluster: 'c', network: 'n', gatewayAddress: '', agentId: `${zone}-1`, agentVersion: '0' },
    report: { zone, sequence: 1, services: [], rtts: [], asked: [] }, receivedAt: Date.now(), replicaId: 'r0',
  });
}

test('a replica view after a cold start is not synced (nothing computed or published) until every known zone reported again', async (t) => {
  const store = new MemoryStore();
  t.after(() => store.close());
  const table = { namespace: 'shop', name: 'cart', version: 'v1', computedAt: 1, rows: [{ sourceZone: 'a', targets: [], panic: false }, { sourceZone: 'b', targets: [], panic: false }] };
  await store.put(KEYS.weight('shop', 'cart'), JSON.stringify(table));
  const view = new ReplicaView(store, createLogger({ component: 'test', level: 'silent' }), Date.now, { coldStartGraceMs: 60_000 });
  const changes: ViewChange[] = [];
  view.subscribe((c) => changes.push(c));
  t.after(() => view.stop());
  await view.start();
  assert.equal(view.synced, false, 'a and b were known and neither reported again');
  assert.deepEqual(view.coldStart(), { open: false, reason: '', waitingFor: ['a', 'b'], known: ['a', 'b'] });
  await store.put(KEYS.zoneReport('a'), storedReport('a'));
  await until(() => view.reports.has('a'));
  assert.equal(view.synced, false, 'b still missing');
  const resetsBefore = changes.filter((c) => c.reset).length;
  await store.put(KEYS.zoneReport('b'), storedReport('b'));
  await until(() => view.synced);
  assert.equal(view.coldStart()?.reason, 'all-reported');
  assert.equal(changes.filter((c) => c.reset).length, resetsBefore + 1, 'opening the gate announces one reset, so every consumer publishes');
});

test('a replica view opens after the grace when a known zone never comes back', async (t) => {
  const store = new MemoryStore();
  t.after(() => store.close());
  await store.put(KEYS.zoneReport('gone'), storedReport('gone'));
  const view = new ReplicaView(store, createLogger({ component: 'test', level: 'silent' }), Date.now, { coldStartGraceMs: 150 });
  t.after(() => view.stop());
  await view.start();
  assert.equal(view.synced, false);
  await until(() => view.synced);
  assert.equal(view.coldStart()?.reason, 'grace-elapsed');
});

async function until(fn: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
