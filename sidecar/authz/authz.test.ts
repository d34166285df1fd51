// Identity-based authz: exact IDs, path prefixes, whole trust domains, the default action, plaintext callers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorize, matchesSpiffePattern } from './authz.ts';
import { parseSidecarConfig } from '../../api/sidecar-config.ts';

const { authz } = parseSidecarConfig(`
authz:
  allow:
    shop/catalog: [spiffe://td/ns/shop/sa/web, spiffe://td/ns/ops/*]
    shop/orders: [spiffe://partner.example/*]
`, 't.yaml');

test('patterns: exact, path prefix, trust domain; no partial-segment matches', () => {
  assert.equal(matchesSpiffePattern('spiffe://td/ns/shop/sa/web', 'spiffe://td/ns/shop/sa/web'), true);
  assert.equal(matchesSpiffePattern('spiffe://td/ns/shop/sa/web', 'spiffe://td/ns/shop/sa/web2'), false);
  assert.equal(matchesSpiffePattern('spiffe://td/ns/ops/*', 'spiffe://td/ns/ops/sa/x'), true);
  assert.equal(matchesSpiffePattern('spiffe://td/ns/ops/*', 'spiffe://td/ns/opsx/sa/x'), false);
  assert.equal(matchesSpiffePattern('spiffe://td/*', 'spiffe://td/ns/a/sa/b'), true);
  assert.equal(matchesSpiffePattern('spiffe://td/*', 'spiffe://td2/ns/a/sa/b'), false);
});

test('a listed identity is allowed, naming the rule', () => {
  assert.deepEqual(authorize(authz, 'shop/catalog', 'spiffe://td/ns/shop/sa/web'), { allow: true, rule: 'spiffe://td/ns/shop/sa/web' });
  assert.deepEqual(authorize(authz, 'shop/catalog', 'spiffe://td/ns/ops/sa/debug'), { allow: true, rule: 'spiffe://td/ns/ops/*' });
  assert.equal(authorize(authz, 'shop/orders', 'spiffe://partner.example/ns/x/sa/y').allow, true);
});

test('an unlisted identity is denied with a reason', () => {
  assert.deepEqual(authorize(authz, 'shop/catalog', 'spiffe://td/ns/shop/sa/evil'), { allow: false, reason: 'spiffe://td/ns/shop/sa/evil is not on the allow list of shop/catalog' });
  assert.equal(authorize(authz, 'shop/orders', 'spiffe://td/ns/shop/sa/web').allow, false);
});

test('no verified identity never matches a list', () => {
  assert.equal(authorize(authz, 'shop/catalog', undefined).allow, false);
});

test('services without a list follow the default action', () => {
  assert.equal(authorize(authz, 'shop/other', undefined).allow, true);
  const deny = { ...authz, defaultAction: 'deny' as const };
  assert.deepEqual(authorize(deny, 'shop/other', 'spiffe://td/ns/shop/sa/web'), { allow: false, reason: 'shop/other has no allow list and the default action is deny' });
});

test('the schema refuses malformed patterns', () => {
  assert.throws(() => parseSidecarConfig('authz: { allow: { shop/a: ["spiffe://td/ns/*/sa/x"] } }', 't.yaml'), /not a SPIFFE ID or pattern/);
  assert.throws(() => parseSidecarConfig('authz: { allow: { shop/a: ["td/ns/a/sa/b"] } }', 't.yaml'), /not a SPIFFE ID or pattern/);
});
