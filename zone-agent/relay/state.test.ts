// Tests the pure relay state: own zone from discovery, gateways only across networks, own weight rows, versions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyWeights, buildRelayState, EMPTY_BALANCER_STATE, type BalancerState, type RelayInputs } from './state.ts';
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
