// The sidecar config schema: defaults, strictness, cross-reference checks, and path-named errors with the fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { parseSidecarConfig, loadSidecarConfig } from './sidecar-config.ts';
import { MeshfedError } from '../common/errors.ts';

function problems(text: string): string {
  try {
    parseSidecarConfig(text, 's.yaml');
  } catch (e) {
    assert.ok(e instanceof MeshfedError);
    return e.message;
  }
  assert.fail('accepted');
}

test('an empty file is a valid config with every default', () => {
  const c = parseSidecarConfig('', 's.yaml');
  assert.equal(c.trustDomain, 'cluster.local');
  assert.deepEqual(c.services, {});
  assert.deepEqual(c.authz, { defaultAction: 'allow', allow: {} });
  assert.deepEqual(c.faults, { rules: [] });
  assert.ok(Object.isFrozen(c));
});

test('service defaults: policy, retry, budget, breaker and outlier detection', () => {
  const c = parseSidecarConfig('zones: { a: { network: n } }\nservices: { shop/cat: { endpoints: { a: ["127.0.0.1:1"] } } }', 's.yaml');
  const s = c.services['shop/cat']!;
  assert.equal(s.port, 80);
  assert.deepEqual(s.endpoints['a'], [{ address: { host: '127.0.0.1', port: 1 }, labels: {} }]);
  assert.deepEqual(s.policy, {
    timeout: 15000,
    retry: { attempts: 3, perTryTimeout: 0, retryOn: ['connect-failure', 'reset', '503'], backoffBase: 25, backoffMax: 250, retryNonIdempotent: false },
    retryBudget: { percent: 20, minConcurrency: 3 },
    circuitBreaker: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024 },
    outlierDetection: { consecutive5xx: 5, consecutiveConnectFailures: 5, baseEjectionTime: 30000, maxEjectionTime: 300000, maxEjectionPercent: 100 },
  });
});

test('unknown keys are refused, naming the allowed ones', () => {
  assert.match(problems('zones: { a: { network: n, gatway: "1.2.3.4:5" } }'), /s\.yaml: zones\.a: unknown key "gatway" \(allowed: network, gateway\)/);
});

test('weights must add up to 10000 and name declared zones', () => {
  assert.match(problems('zones: { a: { network: n } }\nservices: { shop/c: { weights: { a: 7000 } } }'), /services\.shop\/c\.weights: weights are basis points and must add up to 10000 \(they add up to 7000\)/);
  assert.match(problems('zones: { a: { network: n } }\nservices: { shop/c: { endpoints: { b: ["127.0.0.1:1"] } } }'), /zone "b" is not declared under zones: \(add zones\.b\.network\)/);
});

test('routes must name declared subsets and services; subset and split exclude each other', () => {
  const base = 'zones: { a: { network: n } }\nservices:\n  shop/c:\n    subsets: { v1: { version: v1 } }\n    routes:\n';
  assert.match(problems(`${base}      - { name: r, subset: v9 }`), /routes\[0\]\.subset: subset "v9" is not declared under services\.shop\/c\.subsets/);
  assert.match(problems(`${base}      - { name: r, service: shop/zz }`), /routes\[0\]\.service: service "shop\/zz" is not declared/);
  assert.match(problems(`${base}      - { name: r, subset: v1, split: [ { subset: v1, weight: 1 } ] }`), /give subset or split, not both/);
  assert.match(problems(`${base}      - { name: r, split: [ { subset: v1, weight: 0 } ] }`), /split weights must add up to more than 0/);
});

test('matches: exactly one operator, valid regexes, durations with units', () => {
  const base = 'services:\n  shop/c:\n    routes:\n';
  assert.match(problems(`${base}      - { name: r, match: [ { headers: [ { name: x, exact: a, prefix: b } ] } ] }`), /give exactly one of exact, prefix, regex, present \(got exact and prefix\)/);
  assert.match(problems(`${base}      - { name: r, match: [ { path: { regex: "(" } } ] }`), /"\(" is not a valid regular expression/);
  assert.match(problems(`${base}      - { name: r, timeout: 5 }`), /routes\[0\]\.timeout: expected a duration, got 5 \(write it with a unit/);
  assert.match(problems(`${base}      - { name: r, retry: { retryOn: [5xx] } }`), /retryOn\[0\]: unknown value "5xx" \(expected [a-z0-9 |-]*gateway-error/);
});

test('retryOn accepts 503 written as a number, as YAML reads it unquoted', () => {
  const c = parseSidecarConfig('services: { shop/c: { policy: { retry: { retryOn: [503, gateway-error] } } } }', 's.yaml');
  assert.deepEqual(c.services['shop/c']!.policy.retry.retryOn, ['503', 'gateway-error']);
});

test('the complete example in docs/sidecar-config.md is valid', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'sidecar-config.md'), 'utf8');
  const yaml = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(yaml);
  const c = parseSidecarConfig(yaml, 'docs/sidecar-config.md');
  assert.equal(c.services['shop/catalog']!.routes.length, 2);
});

test('service names, endpoints and SPIFFE IDs are checked', () => {
  assert.match(problems('services: { catalog: {} }'), /"catalog" is not a service; write namespace\/name/);
  assert.match(problems('zones: { a: { network: n } }\nservices: { shop/c: { endpoints: { a: ["nohost"] } } }'), /services\.shop\/c\.endpoints\.a\[0\]/);
  assert.match(problems('services: { shop/c: { identity: "spiffe://" } }'), /is not a SPIFFE ID/);
});

test('the example file in examples/ is valid', () => {
  const c = loadSidecarConfig(join(import.meta.dirname, '..', 'examples', 'sidecar.yaml'));
  assert.ok(Object.keys(c.services).length > 0);
});

test('tiers, exclusive and unavailableReason: standby zones, residency, a row with no share', () => {
  const base = 'zones: { a: { network: n }, b: { network: n }, c: { network: n } }\nservices:\n  shop/c:\n';
  const c = parseSidecarConfig(`${base}    weights: { a: 10000, b: 0 }\n    tiers: { a: 0, b: 1, c: 3 }\n    exclusive: true`, 's.yaml');
  const s = c.services['shop/c']!;
  assert.deepEqual([s.weights, s.tiers, s.exclusive], [{ a: 10000, b: 0 }, { a: 0, b: 1, c: 3 }, true]);
  assert.equal(parseSidecarConfig(`${base}    weights: { a: 10000 }`, 's.yaml').services['shop/c']!.exclusive, false, 'exclusive defaults to false');
  const none = parseSidecarConfig(`${base}    weights: { a: 0, b: 0 }\n    unavailableReason: every allowed zone is drained`, 's.yaml').services['shop/c']!;
  assert.equal(none.unavailableReason, 'every allowed zone is drained');
  assert.match(problems(`${base}    tiers: { z: 1 }`), /services\.shop\/c\.tiers\.z: zone "z" is not declared under zones:/);
  assert.match(problems(`${base}    tiers: { a: -1 }`), /services\.shop\/c\.tiers\.a:/);
  assert.match(problems(`${base}    exclusive: yes please`), /services\.shop\/c\.exclusive:/);
  assert.match(problems(`${base}    weights: { a: 5000 }`), /must add up to 10000 \(they add up to 5000\); all 0 means no zone may get traffic/);
});
