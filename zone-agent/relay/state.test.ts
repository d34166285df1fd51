// Tests the pure relay state: own zone from discovery, gateways only across networks, own weight rows, versions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyWeights, buildRelayState, EMPTY_BALANCER_STATE, expireHeld, HOLD_MISSING_MS, mergeDirectory, mergeWeights, nextHeldExpiry, type BalancerState, type RelayInputs } from './state.ts';
import type { WeightTable__Output } from '../../api/generated/meshfed/v1/WeightTable.ts';

const table = (name: string, version: string): WeightTable__Output => ({
  namespace: 'shop', name, version, computed_at_unix_ms: '1',
  sources: ['a1', 'b1'].map((z) => ({ source_zone: z, panic: false, exclusive: false, unavailable_reason: '', targets: [{ zone: z, basis_points: 10000, tier: 0, reason: '' }] })),
});
const zone = (name: string, network: string, gw: string) => ({
  locality: { cloud: 'c', region: 'r', zone: name }, cluster: name, network, gateway_address: gw,
  services: [{ namespace: 'shop', name: 'cart', endpoints: [{ address: `10.${name}`, port: 80, healthy: true, labels: {} }] }],
});
const balancer: BalancerState = {
  directory: { version: 'd', zones: [zone('b1', 'n2', 'gw-b:15443'), zone('a2', 'n1', 'gw-a2:15443'), zone('a1', 'n1', 'stale-self')] },
  weights: { 'shop/cart': table('cart', 'v1'), 'shop/pay': { ...table('pay', 'v1'), sources: [] } },
  bundle: undefined, weightsReceivedAtMs: 5,
};
const inputs: RelayInputs = {
  self: { locality: { cloud: 'c', region: 'r', zone: 'a1' }, cluster: 'a1', network: 'n1', gatewayAddress: 'gw-a1:15443' },
  local: [{ namespace: 'shop', name: 'cart', capacityRps: 0, endpoints: [{ address: '10.0.0.1', port: 8080, healthy: true, terminating: false, labels: {} }] }],
  balancer, policies: { 'shop/cart': '{"timeout":1000}' }, faultsJson: '', stale: false,
};

test('own zone comes from discovery; same-network zones lose the gateway, other networks keep it', () => {
  const s = buildRelayState(inputs);
  assert.deepEqual(s.zones?.map((z) => [z.locality?.zone, z.gateway_address]), [['a1', ''], ['a2', ''], ['b1', 'gw-b:15443']]);
  assert.deepEqual(s.zones?.[0]?.services?.[0]?.endpoints?.map((e) => e.address), ['10.0.0.1']);
  assert.deepEqual(s.policies, [{ namespace: 'shop', name: 'cart', policy_json: '{"timeout":1000}' }]);
});

test('only this zone\'s weight rows are relayed; tables without one are left out', () => {
  const s = buildRelayState(inputs);
  assert.deepEqual(s.weights?.map((w) => [w.name, w.sources?.map((x) => x.source_zone)]), [['cart', ['a1']]]);
});

test('the version changes with anything a sidecar acts on and only then', () => {
  const v = buildRelayState(inputs).version;
  assert.equal(buildRelayState({ ...inputs }).version, v);
  assert.equal(buildRelayState({ ...inputs, balancer: { ...balancer, weightsReceivedAtMs: 99 } }).version, v, 'receipt time alone is no change');
  assert.notEqual(buildRelayState({ ...inputs, stale: true }).version, v);
  assert.notEqual(buildRelayState({ ...inputs, faultsJson: '{"rules":[]}' }).version, v);
  assert.notEqual(buildRelayState({ ...inputs, balancer: { ...balancer, weights: { 'shop/cart': table('cart', 'v2') } } }).version, v);
  assert.notEqual(buildRelayState({ ...inputs, local: [] }).version, v);
  assert.equal(buildRelayState({ ...inputs, balancer: EMPTY_BALANCER_STATE }).zones?.length, 1, 'no directory yet: own zone only');
});

test('weight updates: full replaces, partial merges, removed deletes', () => {
  const held = { 'shop/a': table('a', '1'), 'shop/b': table('b', '1') };
  assert.deepEqual(Object.keys(applyWeights(held, { tables: [table('c', '1')], full: true, removed: [] })), ['shop/c']);
  const partial = applyWeights(held, { tables: [table('a', '2')], full: false, removed: ['shop/b'] });
  assert.deepEqual(Object.keys(partial), ['shop/a']);
  assert.equal(partial['shop/a']?.version, '2');
  assert.equal(held['shop/a'].version, '1', 'input untouched');
});

// Merge rules: a partial Directory or full WeightTables never removes what the agent held; a zone or table that is
// really gone leaves HOLD_MISSING_MS after the first message that lacked it, or at once when explicitly removed.
const T = 1_000_000;
const dir = (...zones: ReturnType<typeof zone>[]) => ({ version: zones.map((z) => z.locality.zone).join(','), zones });
const names = (s: BalancerState) => s.directory?.zones.map((z) => z.locality?.zone);
const full = (...tables: WeightTable__Output[]) => ({ tables, full: true, removed: [] as string[] });

test('a zone missing from a fresh directory is kept, with its endpoints, for the hold; listing it again clears the clock', () => {
  const a1 = zone('a1', 'n1', ''), a2 = zone('a2', 'n1', ''), b1 = zone('b1', 'n2', 'gw-b:15443');
  const held = mergeDirectory(EMPTY_BALANCER_STATE, dir(a1, a2, b1), T);
  assert.deepEqual([names(held), held.heldZones], [['a1', 'a2', 'b1'], {}]);
  // A balancer that restarted knows only a1 so far.
  const partial = mergeDirectory(held, dir(a1), T + 100);
  assert.deepEqual([names(partial), partial.heldZones], [['a1', 'a2', 'b1'], { a2: T + 100, b1: T + 100 }]);
  assert.deepEqual(partial.directory?.zones.find((z) => z.locality?.zone === 'b1'), b1, 'kept as it was, endpoints and gateway included');
  assert.equal(partial.directory?.version, 'a1');
  // The sidecars still get b1's endpoints.
  const relayed = buildRelayState({ ...inputs, balancer: partial });
  assert.deepEqual(relayed.zones?.find((z) => z.locality?.zone === 'b1')?.services?.[0]?.endpoints?.map((e) => e.address), ['10.b1']);
  // b1 comes back (fresh entry wins, clock cleared); a2 stays missing and its clock keeps the first time.
  const b1new = { ...b1, services: [{ namespace: 'shop', name: 'cart', endpoints: [{ address: '10.b1.new', port: 80, healthy: true, labels: {} }] }] };
  const later = mergeDirectory(partial, dir(a1, b1new), T + 5_000);
  assert.deepEqual([names(later), later.heldZones], [['a1', 'a2', 'b1'], { a2: T + 100 }]);
  assert.equal(later.directory?.zones.find((z) => z.locality?.zone === 'b1')?.services[0]?.endpoints[0]?.address, '10.b1.new');
  // a2 really left: dropped by the next directory after its hold, or by the expiry alone.
  assert.deepEqual(names(mergeDirectory(later, dir(a1, b1new), T + 100 + HOLD_MISSING_MS)), ['a1', 'b1']);
  assert.equal(nextHeldExpiry(later), T + 100 + HOLD_MISSING_MS);
  assert.equal(expireHeld(later, T + 99 + HOLD_MISSING_MS), later, 'nothing due: the same state');
  const expired = expireHeld(later, T + 100 + HOLD_MISSING_MS);
  assert.deepEqual([names(expired), expired.heldZones, nextHeldExpiry(expired)], [['a1', 'b1'], {}, undefined]);
});

test('a service a listed zone no longer reports is gone at once (the zone\'s own entry is the truth)', () => {
  const b1 = zone('b1', 'n2', 'gw');
  const held = mergeDirectory(EMPTY_BALANCER_STATE, dir(b1), T);
  const next = mergeDirectory(held, dir({ ...b1, services: [] }), T + 1);
  assert.deepEqual(next.directory?.zones[0]?.services, []);
  assert.deepEqual(next.heldZones, {});
});

test('a table missing from a full WeightTables is kept for the hold; removed drops it at once; updates leave it alone', () => {
  const start = mergeWeights(EMPTY_BALANCER_STATE, full(table('cart', '1'), table('pay', '1'), table('ads', '1')), T);
  assert.deepEqual([Object.keys(start.weights).sort(), start.heldTables, start.weightsReceivedAtMs], [['shop/ads', 'shop/cart', 'shop/pay'], {}, T]);
  // A reconnect's full message lacks pay and ads (a partial compute): both stay.
  const partial = mergeWeights(start, full(table('cart', '2')), T + 10);
  assert.deepEqual([Object.keys(partial.weights).sort(), partial.heldTables], [['shop/ads', 'shop/cart', 'shop/pay'], { 'shop/ads': T + 10, 'shop/pay': T + 10 }]);
  assert.equal(partial.weights['shop/cart']?.version, '2');
  assert.equal(partial.weights['shop/pay']?.version, '1');
  // An update lists pay again (clock cleared) and removes ads (gone at once).
  const update = mergeWeights(partial, { tables: [table('pay', '2')], full: false, removed: ['shop/ads'] }, T + 20);
  assert.deepEqual([Object.keys(update.weights).sort(), update.heldTables], [['shop/cart', 'shop/pay'], {}]);
  // A table that stays missing leaves after the hold, by expiry or by the next full message.
  const again = mergeWeights(update, full(table('cart', '3')), T + 30);
  assert.deepEqual(again.heldTables, { 'shop/pay': T + 30 });
  assert.deepEqual(Object.keys(expireHeld(again, T + 30 + HOLD_MISSING_MS).weights), ['shop/cart']);
  assert.deepEqual(Object.keys(mergeWeights(again, full(table('cart', '3')), T + 30 + HOLD_MISSING_MS).weights), ['shop/cart']);
  assert.deepEqual(Object.keys(mergeWeights(again, { tables: [], full: true, removed: ['shop/pay'] }, T + 31).weights), ['shop/cart']);
});

test('held-over clocks of zones and tables expire independently; the earliest is the next expiry', () => {
  let s = mergeDirectory(EMPTY_BALANCER_STATE, dir(zone('a1', 'n1', ''), zone('b1', 'n1', '')), T);
  s = mergeWeights(s, full(table('cart', '1'), table('pay', '1')), T);
  s = mergeDirectory(s, dir(zone('a1', 'n1', '')), T + 1000);
  s = mergeWeights(s, full(table('cart', '1')), T + 2000);
  assert.equal(nextHeldExpiry(s), T + 1000 + HOLD_MISSING_MS);
  const first = expireHeld(s, T + 1000 + HOLD_MISSING_MS);
  assert.deepEqual([names(first), Object.keys(first.weights).sort(), nextHeldExpiry(first)], [['a1'], ['shop/cart', 'shop/pay'], T + 2000 + HOLD_MISSING_MS]);
  const both = expireHeld(first, T + 2000 + HOLD_MISSING_MS);
  assert.deepEqual([names(both), Object.keys(both.weights), nextHeldExpiry(both)], [['a1'], ['shop/cart'], undefined]);
});
