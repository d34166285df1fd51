// Unit tests of the relay state -> sidecar config translation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RelayState__Output } from '../../api/generated/meshfed/v1/RelayState.ts';
import { normaliseRow, relayStateToConfig } from './translate.ts';

function state(over: Partial<RelayState__Output> = {}): RelayState__Output {
  return {
    version: 'v1', locality: { cloud: 'aws', region: 'r', zone: 'a' }, network: 'n1', stale: false, weights_received_at_unix_ms: '0',
    zones: [
      { locality: { cloud: 'aws', region: 'r', zone: 'a' }, cluster: 'c1', network: 'n1', gateway_address: '', services: [
        { namespace: 'shop', name: 'cart', endpoints: [{ address: '127.0.0.1', port: 1001, healthy: true, labels: { version: 'v1' } }, { address: '127.0.0.1', port: 1002, healthy: false, labels: {} }] },
      ] },
      { locality: { cloud: 'gcp', region: 'e', zone: 'b' }, cluster: 'c2', network: 'n2', gateway_address: '127.0.0.1:2000', services: [
        { namespace: 'shop', name: 'cart', endpoints: [{ address: '10.0.0.1', port: 80, healthy: true, labels: {} }] },
      ] },
    ],
    weights: [{ namespace: 'shop', name: 'cart', version: 'w', computed_at_unix_ms: '0', sources: [{ source_zone: 'a', panic: false, exclusive: false, unavailable_reason: '', targets: [
      { zone: 'a', basis_points: 7000, tier: 0, reason: '' }, { zone: 'b', basis_points: 3000, tier: 1, reason: '' },
    ] }] }],
    policies: [{ namespace: 'shop', name: 'cart', policy_json: JSON.stringify({ timeout: '2s', retry: { attempts: 2 } }) }],
    faults_json: '',
    trust_bundle: { trust_domain: 'mesh.test', root_pems: [], aliases: [], revoked_serials: [], version: '', issued_at: '', signer: '', signature: '' },
    ...over,
  };
}

test('zones, healthy endpoints, gateways, weights and policies become the sidecar config', () => {
  const r = relayStateToConfig(state(), 'a', 'fallback.td');
  assert.ok(r.ok, r.ok ? '' : r.error);
  const c = r.value;
  assert.equal(c.trustDomain, 'mesh.test');
  assert.deepEqual(c.zones['a'], { network: 'n1' });
  assert.equal(c.zones['b']?.gateway?.port, 2000);
  const cart = c.services['shop/cart']!;
  assert.deepEqual(cart.endpoints['a']!.map((e) => `${e.address.host}:${e.address.port}`), ['127.0.0.1:1001'], 'the unhealthy endpoint is not routed to');
  assert.deepEqual(cart.weights, { a: 7000, b: 3000 });
  assert.equal(cart.policy.timeout, 2000);
  assert.equal(cart.policy.retry.attempts, 2);
});

test('the overlay adds routes, subsets and identity; the relay keeps endpoints and weights', () => {
  const r = relayStateToConfig(state(), 'a', 'td', {
    services: { 'shop/cart': { identity: 'spiffe://mesh.test/ns/shop/sa/cart', subsets: { v1: { version: 'v1' } }, routes: [{ name: 'canary', match: [{ headers: [{ name: 'x-canary', exact: 'v1' }] }], subset: 'v1' }] } },
    authz: { defaultAction: 'deny', allow: { 'shop/cart': ['spiffe://mesh.test/ns/shop/*'] } },
  });
  assert.ok(r.ok);
  const cart = r.value.services['shop/cart']!;
  assert.equal(cart.identity, 'spiffe://mesh.test/ns/shop/sa/cart');
  assert.equal(cart.routes[0]?.subset, 'v1');
  assert.deepEqual(cart.weights, { a: 7000, b: 3000 });
  assert.equal(r.value.authz.defaultAction, 'deny');
});

test('a weight row naming a zone the state does not list is rescaled over the known zones', () => {
  const s = state();
  const r = relayStateToConfig({ ...s, weights: [{ ...s.weights[0]!, sources: [{ source_zone: 'a', panic: false, exclusive: false, unavailable_reason: '', targets: [
    { zone: 'a', basis_points: 5000, tier: 0, reason: '' }, { zone: 'b', basis_points: 2500, tier: 1, reason: '' }, { zone: 'gone', basis_points: 2500, tier: 1, reason: '' },
  ] }] }] }, 'a', 'td');
  assert.ok(r.ok);
  assert.deepEqual(r.value.services['shop/cart']!.weights, { a: 6667, b: 3333 });
});

test('rows of other source zones are ignored (equal shares then)', () => {
  const s = state();
  const r = relayStateToConfig({ ...s, weights: [{ ...s.weights[0]!, sources: [{ ...s.weights[0]!.sources[0]!, source_zone: 'b' }] }] }, 'a', 'td');
  assert.ok(r.ok);
  assert.equal(r.value.services['shop/cart']!.weights, undefined);
});

test('bad policy JSON or an invalid policy is refused as a value', () => {
  const bad = relayStateToConfig(state({ policies: [{ namespace: 'shop', name: 'cart', policy_json: '{' }] }), 'a', 'td');
  assert.equal(bad.ok, false);
  const invalid = relayStateToConfig(state({ policies: [{ namespace: 'shop', name: 'cart', policy_json: JSON.stringify({ retry: { attempts: 99 } }) }] }), 'a', 'td');
  assert.equal(invalid.ok, false);
  assert.match(invalid.ok ? '' : invalid.error, /attempts/);
  const faults = relayStateToConfig(state({ faults_json: JSON.stringify({ rules: [{ abort: { httpStatus: 503, percent: 10 } }] }) }), 'a', 'td');
  assert.ok(faults.ok);
  assert.equal(faults.value.faults.rules[0]?.abort?.httpStatus, 503);
});

test('normaliseRow sums to exactly 10000 and drops zero shares', () => {
  assert.deepEqual(normaliseRow({ a: 1, b: 1, c: 1 }), { a: 3334, b: 3333, c: 3333 });
  assert.deepEqual(normaliseRow({ a: 0, b: 4 }), { b: 10000 });
  assert.equal(normaliseRow({ a: 0 }), undefined);
  const rows: Record<string, number>[] = [{ x: 3, y: 7, z: 11 }, { x: 9999, y: 1 }, { p: 1234, q: 4321, r: 17 }];
  for (const row of rows) {
    assert.equal(Object.values(normaliseRow(row)!).reduce((s, v) => s + v, 0), 10000);
  }
});

test('policies and faults relayed as parsed (durations in ms numbers) are accepted', () => {
  const policy = { timeout: 5000, retry: { attempts: 3, perTryTimeout: 0, backoffBase: 25, backoffMax: 250, retryOn: ['503'], retryNonIdempotent: false }, outlierDetection: { baseEjectionTime: 10000, maxEjectionTime: 300000 } };
  const r = relayStateToConfig(state({
    policies: [{ namespace: 'shop', name: 'cart', policy_json: JSON.stringify(policy) }],
    faults_json: JSON.stringify({ rules: [{ service: '*', direction: 'outbound', headers: [], delay: { fixed: 40, percent: 10 } }] }),
  }), 'a', 'td');
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.equal(r.value.services['shop/cart']!.policy.timeout, 5000);
  assert.equal(r.value.services['shop/cart']!.policy.outlierDetection.baseEjectionTime, 10000);
  assert.equal(r.value.faults.rules[0]?.delay?.fixed, 40);
});

test('standby targets (0 basis points) are kept with their tiers, and exclusive and the reason travel', () => {
  const s = state();
  const targets = [
    { zone: 'a', basis_points: 10000, tier: 0, reason: '' }, { zone: 'b', basis_points: 0, tier: 1, reason: 'standby' }, { zone: 'gone', basis_points: 0, tier: 3, reason: '' },
  ];
  const r = relayStateToConfig({ ...s, weights: [{ ...s.weights[0]!, sources: [{ source_zone: 'a', panic: false, exclusive: true, unavailable_reason: '', targets }] }] }, 'a', 'td');
  assert.ok(r.ok, r.ok ? '' : r.error);
  const cart = r.value.services['shop/cart']!;
  assert.deepEqual(cart.weights, { a: 10000, b: 0 });
  assert.deepEqual(cart.tiers, { a: 0, b: 1 }, 'a zone the directory does not list is dropped, standby b stays');
  assert.equal(cart.exclusive, true);
});

test('a row where no target has a share keeps every target at 0 with the reason', () => {
  const s = state();
  const targets = [{ zone: 'a', basis_points: 0, tier: 0, reason: '' }, { zone: 'b', basis_points: 0, tier: 1, reason: '' }];
  const r = relayStateToConfig({ ...s, weights: [{ ...s.weights[0]!, sources: [{ source_zone: 'a', panic: false, exclusive: true, unavailable_reason: 'every allowed zone is drained', targets }] }] }, 'a', 'td');
  assert.ok(r.ok, r.ok ? '' : r.error);
  const cart = r.value.services['shop/cart']!;
  assert.deepEqual(cart.weights, { a: 0, b: 0 });
  assert.equal(cart.unavailableReason, 'every allowed zone is drained');
});

test('an exclusive row whose zones are all unknown stays, empty, so nothing goes elsewhere', () => {
  const s = state();
  const targets = [{ zone: 'far', basis_points: 10000, tier: 0, reason: '' }];
  const r = relayStateToConfig({ ...s, weights: [{ ...s.weights[0]!, sources: [{ source_zone: 'a', panic: false, exclusive: true, unavailable_reason: '', targets }] }] }, 'a', 'td');
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.deepEqual(r.value.services['shop/cart']!.weights, {});
  assert.equal(r.value.services['shop/cart']!.exclusive, true);
});
