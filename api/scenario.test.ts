// Scenario files: strict schema, defaults, and every reference to a zone, service, component, cluster or fault checked with its path before anything starts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeshfedError } from '../common/errors.ts';
import { componentNames, etcdMembers, parseScenario } from './scenario.ts';
import { DEFAULT_FEDERATION } from './federation-file.ts';

const base = `
name: t
steady: { probes: [{ kind: success, min: 0.99 }] }
faults:
  - { id: down, kind: process, target: app-us-east-1a-catalog-*, action: kill, duration: 5s }
expect:
  - { kind: share, fault: down, service: catalog, zone: us-east-1a, max: 0.01, within: 3s }
`;

function problems(text: string): string[] {
  try {
    parseScenario(text, 'scenarios/t.yaml');
  } catch (e) {
    assert.ok(e instanceof MeshfedError, String(e));
    return e.details.length > 0 ? [...e.details] : [e.message];
  }
  assert.fail('expected the scenario to be refused');
}

test('a valid scenario gets its defaults, fault ids and the default federation', () => {
  const s = parseScenario(base, 'scenarios/t.yaml');
  assert.equal(s.federationSource, 'default');
  assert.equal(s.load.rps, 40);
  assert.equal(s.steady.window, 3000);
  assert.equal(s.faults[0]!.id, 'down');
  assert.equal(s.faults[0]!.at, 0);
  assert.equal(s.faults[0]!.duration, 5000);
  assert.ok(Object.isFrozen(s.faults));
});

test('an unnamed fault is named <kind>-<index>', () => {
  const s = parseScenario(base.replace('id: down, ', '').replace('fault: down', 'fault: process-1'), 'scenarios/t.yaml');
  assert.equal(s.faults[0]!.id, 'process-1');
});

test('an unknown fault kind is refused with the path of the kind', () => {
  const p = problems(base.replace('kind: process', 'kind: meteor'));
  assert.ok(p.some((x) => x.includes('faults[0].kind')), p.join('\n'));
});

test('an unknown zone is refused with the path of the field', () => {
  const p = problems(base.replace('zone: us-east-1a, max', 'zone: mars-1a, max'));
  assert.ok(p.some((x) => x.includes('expect[0].zone: unknown zone "mars-1a"')), p.join('\n'));
});

test('an unknown component is refused with the components that exist', () => {
  const p = problems(base.replace('app-us-east-1a-catalog-*', 'app-us-east-1a-cart-*'));
  assert.ok(p.some((x) => x.includes('faults[0].target: "app-us-east-1a-cart-*" matches no component')), p.join('\n'));
  assert.ok(p.some((x) => x.includes('agent-us-east-1a')), p.join('\n'));
});

test('an expectation naming a fault that does not exist is refused', () => {
  const p = problems(base.replace('fault: down', 'fault: up'));
  assert.ok(p.some((x) => x.includes('expect[0].fault: unknown fault "up"')), p.join('\n'));
});

test('an L7 fault on a service that does not run in the zone is refused', () => {
  const p = problems(base.replace('{ id: down, kind: process, target: app-us-east-1a-catalog-*, action: kill, duration: 5s }', '{ id: down, kind: l7, target: { zone: us-east-1a, service: pricing }, abort: { status: 503 }, duration: 5s }'));
  assert.ok(p.some((x) => x.includes('faults[0].target: no pricing runs in us-east-1a')), p.join('\n'));
});

test('unknown keys, a bare-number duration and a bad cluster are refused with paths', () => {
  assert.ok(problems(base.replace('name: t', 'name: t\ncolour: red')).some((x) => x.includes('colour')));
  assert.ok(problems(base.replace('duration: 5s', 'duration: 5')).some((x) => x.includes('faults[0].duration')));
  const trust = base.replace('{ id: down, kind: process, target: app-us-east-1a-catalog-*, action: kill, duration: 5s }', '{ id: down, kind: trust, action: revoke-intermediate, cluster: nope, duration: 5s }');
  assert.ok(problems(trust).some((x) => x.includes('faults[0].cluster: unknown cluster "nope"')));
});

test('a network partition side must be a zone or a cloud', () => {
  const p = problems(base.replace('{ id: down, kind: process, target: app-us-east-1a-catalog-*, action: kill, duration: 5s }', '{ id: down, kind: network, action: partition, between: [aws, venus], duration: 5s }'));
  assert.ok(p.some((x) => x.includes('faults[0].between[1]: "venus" is neither a zone nor a cloud')), p.join('\n'));
});

test('a missing federation file is refused naming where it looked', () => {
  const p = problems(base.replace('name: t', 'name: t\ntopology: nowhere.yaml'));
  assert.ok(p.some((x) => x.includes('topology: no federation file "nowhere.yaml"')), p.join('\n'));
});

test('etcd members: 3 when a fault takes one member down, else 1, unless the scenario says', () => {
  const one = parseScenario(base, 'scenarios/t.yaml');
  assert.equal(etcdMembers(one), 1);
  const member = parseScenario(base.replace('target: app-us-east-1a-catalog-*', 'target: { role: etcd-member }'), 'scenarios/t.yaml');
  assert.equal(etcdMembers(member), 3);
  assert.deepEqual(componentNames(DEFAULT_FEDERATION, 3).slice(0, 3), ['etcd-1', 'etcd-2', 'etcd-3']);
  const p = problems(base.replace('target: app-us-east-1a-catalog-*', 'target: etcd-3'));
  assert.ok(p.some((x) => x.includes('"etcd-3" matches no component')), p.join('\n'));
});

test('an inline federation is checked by the federation schema, its errors prefixed with topology', () => {
  const inline = base.replace('name: t', `name: t
topology:
  topology:
    clouds: [{ name: aws, regions: [{ name: us-east-1, zones: [{ name: us-east-1a, cluster: c1, network: n1 }] }] }]
    clusters: [{ name: c1 }]
    networks: [{ name: n1 }]
  services: [{ name: catalog }]
  workloads: [{ zone: us-east-1z, service: catalog }]`);
  const p = problems(inline);
  assert.ok(p.some((x) => x.includes('topology') && x.includes('workloads[0].zone') && x.includes('us-east-1z')), p.join('\n'));
  const ok = parseScenario(inline.replace('us-east-1z', 'us-east-1a').replace('target: app-us-east-1a-catalog-*', 'target: app-us-east-1a-catalog-*'), 'scenarios/t.yaml');
  assert.equal(ok.federationSource, 'inline');
  assert.deepEqual(ok.federation.layout.services.map((s) => s.name), ['catalog']);
});
