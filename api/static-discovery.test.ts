// Tests the static discovery schema: the documented example parses; mistakes are named by path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStaticDiscovery } from './static-discovery.ts';

const EXAMPLE = `
services:
  - namespace: shop
    name: cart
    capacityRps: 500
    healthCheckPath: /healthz
    endpoints:
      - 10.0.0.1:8080
      - { address: "10.0.0.2:8080", healthy: false, labels: { version: v2 } }
    policy: { timeout: 2s, retry: { attempts: 2 } }
faults: { rules: [ { service: shop/cart, delay: { fixed: 100ms, percent: 10 } } ] }
`;

test('the example from docs/zone-agent.md parses with defaults applied', () => {
  const f = parseStaticDiscovery(EXAMPLE, 'services.yaml');
  const s = f.services[0]!;
  assert.deepEqual(s.endpoints.map((e) => [e.address.host, e.address.port, e.healthy, e.labels]), [['10.0.0.1', 8080, true, {}], ['10.0.0.2', 8080, false, { version: 'v2' }]]);
  assert.equal(s.policy?.timeout, 2000);
  assert.equal(f.faults?.rules[0]?.delay?.fixed, 100);
  assert.ok(Object.isFrozen(f));
  assert.deepEqual(parseStaticDiscovery('', 'empty.yaml').services, []);
});

test('health checks: per-service overrides of the agent\'s settings and a per-endpoint probe port', () => {
  const f = parseStaticDiscovery(`
services:
  - namespace: shop
    name: cart
    healthCheckPath: /ready
    healthCheck: { interval: 500ms, unhealthyThreshold: 2, healthyThreshold: 1, initialDelay: 30s }
    endpoints: [{ address: "127.0.0.1:8443", healthCheckPort: 15000 }, "127.0.0.1:8444"]
`, 'services.yaml');
  const s = f.services[0]!;
  assert.deepEqual(s.healthCheck, { interval: 500, unhealthyThreshold: 2, healthyThreshold: 1, initialDelay: 30_000 });
  assert.deepEqual(s.endpoints.map((e) => ('healthCheckPort' in e ? e.healthCheckPort : undefined)), [15000, undefined]);
});

test('mistakes name the file and path', () => {
  const bad: [string, RegExp][] = [
    ['services: [{ namespace: shop, name: cart, endpoints: ["nope"] }]', /f\.yaml: services\[0\]\.endpoints\[0\]/],
    ['services: [{ namespace: Shop, name: cart }]', /services\[0\]\.namespace: "Shop" is not a valid name/],
    ['services: [{ namespace: shop, name: cart, healthCheckPath: healthz }]', /healthCheckPath: must start with "\/"/],
    ['services: [{ namespace: shop, name: cart, port: 80 }]', /unknown key "port"/],
    ['services: [{ namespace: shop, name: cart }, { namespace: shop, name: cart }]', /services\[1\]\.name: service shop\/cart is already listed at services\[0\]/],
    ['servics: []', /unknown key "servics"/],
    ['services: [{ namespace: shop, name: cart, healthCheck: { interval: 1s } }]', /services\[0\]\.healthCheck: needs healthCheckPath/],
    ['services: [{ namespace: shop, name: cart, healthCheckPath: /h, healthCheck: { interval: 1s, timeout: 2s } }]', /services\[0\]\.healthCheck\.timeout: must not exceed interval/],
    ['services: [{ namespace: shop, name: cart, healthCheckPath: /h, healthCheck: { interval: 10ms } }]', /healthCheck\.interval: must be between/],
    ['services: [{ namespace: shop, name: cart, endpoints: [{ address: "1.2.3.4:80", healthCheckPort: 0 }] }]', /endpoints\[0\]/],
  ];
  for (const [text, pattern] of bad) assert.throws(() => parseStaticDiscovery(text, 'f.yaml'), (e: Error) => pattern.test(e.message), text);
});
