// Unit tests of the store-key routing and trust-bundle parsing of the replica view.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KEYS } from '../store/store.ts';
import { parseTrustBundle, routeKey } from './view.ts';

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
