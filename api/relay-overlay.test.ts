// Tests of the relay overlay file: shape, the check as the sidecar config it becomes, and path-named errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRelayOverlay } from './relay-overlay.ts';
import { singleConfigError } from './testing.ts';

test('an overlay keeps routes and policy as written (durations as text) for the merge with each relayed state', () => {
  const o = parseRelayOverlay(`
services:
  shop/catalog:
    port: 8080
    subsets: { v2: { version: v2 } }
    routes: [{ name: canary, match: [{ headers: [{ name: x-canary, exact: v2 }] }], subset: v2 }]
    policy: { timeout: 2s }
authz: { defaultAction: deny }
`, 'o.yaml');
  assert.equal(o.services?.['shop/catalog']?.port, 8080);
  assert.deepEqual(o.services?.['shop/catalog']?.policy, { timeout: '2s' });
  assert.deepEqual(o.authz, { defaultAction: 'deny' });
  assert.deepEqual(parseRelayOverlay('{}', 'empty.json'), {});
});

test('a bad overlay is refused with one error naming the file and the path', () => {
  const cases: [string, RegExp][] = [
    ['services: { shop/catalog: { endpoints: {} } }', /^o\.yaml: services\.shop\/catalog: unknown key "endpoints"/],
    ['services: { Catalog: { port: 80 } }', /^o\.yaml: services\.Catalog: "Catalog" is not a service; write namespace\/name/],
    ['services: { shop/catalog: { port: 0 } }', /^o\.yaml: services\.shop\/catalog\.port: /],
    ['services: { shop/catalog: { identity: "https://x" } }', /^o\.yaml: services\.shop\/catalog\.identity: /],
    ['services: { shop/catalog: { routes: [{ name: r, subset: v9 }] } }', /^o\.yaml: services\.shop\/catalog\.routes\[0\]\.subset: subset "v9" is not declared/],
    ['services: { shop/catalog: { policy: { timeout: soon } } }', /^o\.yaml: services\.shop\/catalog\.policy\.timeout: /],
    ["weights: {}", /^o\.yaml: \(top level\): unknown key "weights" \(allowed: services, authz\)/],
  ];
  for (const [text, expected] of cases) assert.match(singleConfigError(() => parseRelayOverlay(text, 'o.yaml')), expected, text);
});
