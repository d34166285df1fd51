// Unit tests of the `meshfed up --config` file: defaults, every bad field named by its path, bare topologies, freezing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { MeshfedError } from '../common/errors.ts';
import { DEFAULT_FEDERATION, DEFAULT_SHOP, defaultPolicies, loadFederationFile, parseFederation } from './federation-file.ts';
import { DEFAULT_TOPOLOGY, topologyZones } from './topology.ts';
import { validatePolicy } from './policy.ts';

const TOPOLOGY = `
topology:
  clusters: [{ name: c1 }, { name: c2 }]
  networks: [{ name: n1 }, { name: n2 }]
  clouds:
    - name: aws
      regions: [{ name: us-east-1, zones: [{ name: us-east-1a, cluster: c1, network: n1 }, { name: us-east-1b, cluster: c1, network: n1 }] }]
    - name: gcp
      regions: [{ name: europe-west1, zones: [{ name: europe-west1-b, cluster: c2, network: n2 }] }]
`;

const GOOD = `${TOPOLOGY}
services:
  - { name: web, calls: api }
  - { name: api }
workloads:
  - { zone: us-east-1a, service: web }
  - { zone: us-east-1b, service: api, version: v2, replicas: 3, capacityRps: 120 }
  - { zone: europe-west1-b, service: api }
policies:
  api: { holdDown: 5s, distribute: [{ from: us-east-1a, to: { us-east-1b: 60, europe-west1-b: 40 } }] }
`;

/** The error lines a text gets, or fails when it loads. */
function errors(text: string): string[] {
  try {
    parseFederation(text, 'federation.yaml');
  } catch (e) {
    assert.ok(e instanceof MeshfedError, String(e));
    assert.equal(e.code, 'MESHFED_E_CONFIG_INVALID', e.message);
    return [...e.details];
  }
  assert.fail('expected the file to be refused');
}

test('a good file loads with its defaults filled in, frozen', () => {
  const f = parseFederation(GOOD, 'federation.yaml');
  assert.deepEqual(topologyZones(f.topology).map((z) => z.locality.zone), ['us-east-1a', 'us-east-1b', 'europe-west1-b']);
  assert.deepEqual(f.layout.services, [{ name: 'web', upstream: 'api' }, { name: 'api' }]);
  assert.deepEqual(f.layout.placements, [
    { zone: 'us-east-1a', service: 'web', version: 'v1', replicas: 1, capacityRps: 500 },
    { zone: 'us-east-1b', service: 'api', version: 'v2', replicas: 3, capacityRps: 120 },
    { zone: 'europe-west1-b', service: 'api', version: 'v1', replicas: 1, capacityRps: 500 },
  ]);
  // A written policy is sent as written; a service without one gets the common policy.
  assert.deepEqual(f.policies.map((p) => [p.namespace, p.name, p.body]), [
    ['shop', 'web', { holdDown: '2s', slowStart: '0s', maxStep: 5000 }],
    ['shop', 'api', { holdDown: '5s', distribute: [{ from: 'us-east-1a', to: { 'us-east-1b': 60, 'europe-west1-b': 40 } }] }],
  ]);
  for (const p of f.policies) validatePolicy({ namespace: p.namespace, name: p.name, ...p.body }, 'round trip');
  assert.ok(Object.isFrozen(f) && Object.isFrozen(f.layout.placements[0]) && Object.isFrozen(f.policies[1]!.body));
});

test('an empty file is the default federation: default topology, the built-in shop and its 70/30 catalog split', () => {
  assert.equal(parseFederation('{}', 'federation.yaml'), DEFAULT_FEDERATION);
  assert.equal(DEFAULT_FEDERATION.topology, DEFAULT_TOPOLOGY);
  assert.equal(DEFAULT_FEDERATION.layout, DEFAULT_SHOP);
  assert.deepEqual(DEFAULT_FEDERATION.policies, defaultPolicies());
  const onlyPolicies = parseFederation('policies: { catalog: { holdDown: 1s } }', 'federation.yaml');
  assert.deepEqual(onlyPolicies.policies.map((p) => p.name), ['frontend', 'catalog', 'pricing']);
  assert.deepEqual(onlyPolicies.policies[1]!.body, { holdDown: '1s' });
});

test('a bare topology (top-level clouds) is accepted and runs the built-in shop', () => {
  const bare = `clusters: [{ name: aws-use1 }, { name: gcp-euw1 }]
networks: [{ name: aws-net }, { name: gcp-net }]
clouds:
  - { name: aws, regions: [{ name: us-east-1, zones: [{ name: us-east-1a, cluster: aws-use1, network: aws-net }, { name: us-east-1b, cluster: aws-use1, network: aws-net }] }] }
  - { name: gcp, regions: [{ name: europe-west1, zones: [{ name: europe-west1-b, cluster: gcp-euw1, network: gcp-net }] }] }
`;
  const f = parseFederation(bare, 'topology.yaml');
  assert.equal(f.layout, DEFAULT_SHOP);
  assert.deepEqual(f.policies, defaultPolicies());
  assert.equal(loadFederationFile(join(import.meta.dirname, '..', 'examples', 'topology.yaml')).layout, DEFAULT_SHOP);
});

test('a bare topology the built-in shop does not fit is refused with the fix', () => {
  const bare = TOPOLOGY.replace('topology:\n', '').replace(/^ {2}/gm, '').replace('us-east-1b', 'us-east-1c');
  assert.deepEqual(errors(bare), [
    'federation.yaml: (top level): a bare topology runs the built-in shop, which places frontend in zone "us-east-1b", which this topology does not declare (zones: us-east-1a, us-east-1c, europe-west1-b); move the topology under "topology:" and list "workloads:" (see docs/configuration.md)',
  ]);
});

test('a topology without workloads must fit the built-in shop', () => {
  assert.deepEqual(errors(TOPOLOGY.replace('us-east-1b', 'us-east-1c')), [
    'federation.yaml: workloads: omitted, so the built-in shop runs, but it places frontend in zone "us-east-1b", which the topology does not declare (zones: us-east-1a, us-east-1c, europe-west1-b); list workloads for these zones',
  ]);
});

test('each bad field is named by its path, with the fix', () => {
  const cases: [string, string][] = [
    [GOOD.replace('{ zone: europe-west1-b, service: api }', '{ zone: us-east-9, service: api }'),
      'federation.yaml: workloads[2].zone: unknown zone "us-east-9" (zones: us-east-1a, us-east-1b, europe-west1-b)'],
    [GOOD.replace('  - { zone: us-east-1a, service: web }\n', '  - { zone: us-east-1a, service: cart }\n  - { zone: us-east-1a, service: web }\n'),
      'federation.yaml: workloads[0].service: unknown service "cart" (services: web, api)'],
    [GOOD.replace('replicas: 3', 'replicas: 0'), 'federation.yaml: workloads[1].replicas: at least 1 replica'],
    [GOOD.replace('replicas: 3', 'replicas: 1.5'), 'federation.yaml: workloads[1].replicas: expected a whole number of replicas'],
    [GOOD.replace('capacityRps: 120', 'capacityRps: 0'), 'federation.yaml: workloads[1].capacityRps: capacityRps must be above 0'],
    [GOOD.replace('version: v2', 'version: V2'), 'federation.yaml: workloads[1].version: "V2" is not a valid name (lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters)'],
    [GOOD.replace('capacityRps: 120', 'capacity: 120'), 'federation.yaml: workloads[1]: unknown key "capacity" (allowed: zone, service, version, replicas, capacityRps)'],
    [GOOD.replace('{ name: web, calls: api }', '{ name: web, calls: apx }'), 'federation.yaml: services[0].calls: unknown service "apx" (services: web, api)'],
    [GOOD.replace('{ name: api }', '{ name: api, calls: web }'), 'federation.yaml: services: the call chain loops (web -> api -> web); a request would never end'],
    [GOOD.replace('policies:', 'policy:'), 'federation.yaml: (top level): unknown key "policy" (allowed: topology, services, workloads, policies, deploy)'],
    [GOOD.replace('holdDown: 5s', 'holdDown: 5'), 'federation.yaml: policies.api.holdDown: expected a duration such as "10s"'],
    [GOOD.replace('holdDown: 5s', 'holdDwn: 5s'), 'federation.yaml: policies.api: unknown key "holdDwn" (allowed: failover, distribute, targetUtilization, ejection, holdDown, slowStart, maxStep, deadband, panicThreshold, drainedZones, latency, cost, crossCloud, residency)'],
    [GOOD.replace('europe-west1-b: 40', 'europe-west1-b: 30'), 'federation.yaml: policies.api.distribute[0].to: percentages sum to 90; make them sum to 100'],
    [`${GOOD}  cart: { holdDown: 1s }\n`, 'federation.yaml: policies.cart: unknown service "cart" (services: web, api)'],
    [GOOD.replace('  - { zone: us-east-1a, service: web }\n', '  - { zone: us-east-1a, service: web }\n  - { zone: us-east-1a, service: web }\n'),
      'federation.yaml: workloads[1]: web v1 in us-east-1a is already placed by workloads[0]; raise its replicas instead'],
    [GOOD.replace('  - { zone: us-east-1a, service: web }\n', ''), 'federation.yaml: services[0]: service "web" has no workloads, so calls to it would fail; place it in a zone under workloads'],
    [GOOD.replace('network: n2', 'network: n3'), 'federation.yaml: topology.clouds[1].regions[0].zones[0].network: unknown network "n3" (declared: n1, n2); add it under networks or fix the name'],
  ];
  for (const [text, line] of cases) assert.deepEqual(errors(text), [line]);
});
