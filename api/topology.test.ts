// The topology file: defaults, freezing, flattening, and one clear, path-named error per malformed file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MeshfedError } from '../common/errors.ts';
import { DEFAULT_TOPOLOGY, findZone, loadTopologyFile, parseTopology, topologyZones } from './topology.ts';
import { singleConfigError } from './testing.ts';

const VALID = `
clusters: [{ name: c1 }, { name: c2 }]
networks: [{ name: net-a }, { name: net-b, gateways: { z3: "10.0.0.1:15443" } }]
clouds:
  - name: aws
    regions:
      - name: r1
        zones:
          - { name: z1, cluster: c1, network: net-a }
          - { name: z2, cluster: c1, network: net-a }
  - name: gcp
    regions:
      - name: r2
        zones:
          - { name: z3, cluster: c2, network: net-b }
`;

/** Parses text expected to be malformed; returns the single error line after checking the code. */
function errorOf(text: string, code?: string): string {
  return singleConfigError(() => parseTopology(text, 'topology.yaml'), code);
}

test('a valid topology loads with defaults applied and is deep-frozen', () => {
  const t = parseTopology(VALID, 'topology.yaml');
  assert.equal(t.trustDomain, 'meshfed.local');
  assert.deepEqual(t.networks[0]?.gateways, {});
  assert.deepEqual(t.networks[1]?.gateways['z3'], { host: '10.0.0.1', port: 15443 });
  assert.ok(Object.isFrozen(t) && Object.isFrozen(t.clouds[0]?.regions[0]?.zones[0]) && Object.isFrozen(t.networks[1]?.gateways));
  assert.throws(() => {
    (t as { trustDomain: string }).trustDomain = 'x';
  }, TypeError);
});

test('egressCost defaults every locality pair; a file overrides some; bad values name their path', () => {
  assert.deepEqual(parseTopology(VALID, 'topology.yaml').egressCost, { sameZone: 0, sameRegion: 1, sameCloud: 2, crossCloud: 10 });
  const t = parseTopology(`${VALID}\negressCost:\n  crossCloud: 25\n`, 'topology.yaml');
  assert.deepEqual(t.egressCost, { sameZone: 0, sameRegion: 1, sameCloud: 2, crossCloud: 25 });
  assert.ok(Object.isFrozen(t.egressCost));
  assert.throws(() => parseTopology(`${VALID}\negressCost:\n  crossCloud: -1\n`, 'topology.yaml'), (e: Error & { details?: string[] }) => e.details?.[0] === 'topology.yaml: egressCost.crossCloud: a cost cannot be negative');
  assert.throws(() => parseTopology(`${VALID}\negressCost:\n  sameContinent: 3\n`, 'topology.yaml'), (e: Error & { details?: string[] }) => e.details?.[0] === 'topology.yaml: egressCost: unknown key "sameContinent" (allowed: sameZone, sameRegion, sameCloud, crossCloud)');
});

test('topologyZones flattens zones in declaration order with their gateway; findZone looks one up', () => {
  const t = parseTopology(VALID, 'topology.yaml');
  const zones = topologyZones(t);
  assert.deepEqual(zones.map((z) => `${z.locality.cloud}/${z.locality.region}/${z.locality.zone}@${z.network}`), ['aws/r1/z1@net-a', 'aws/r1/z2@net-a', 'gcp/r2/z3@net-b']);
  assert.deepEqual(findZone(t, 'z3')?.gateway, { host: '10.0.0.1', port: 15443 });
  assert.equal(findZone(t, 'z1')?.gateway, undefined);
  assert.equal(findZone(t, 'nope'), undefined);
});

test('DEFAULT_TOPOLOGY is the three-zone, two-cloud, two-network demo', () => {
  const zones = topologyZones(DEFAULT_TOPOLOGY);
  assert.equal(DEFAULT_TOPOLOGY.trustDomain, 'meshfed.local');
  assert.deepEqual(
    zones.map((z) => [`${z.locality.cloud}/${z.locality.region}/${z.locality.zone}`, z.cluster, z.network]),
    [
      ['aws/us-east-1/us-east-1a', 'aws-use1', 'aws-net'],
      ['aws/us-east-1/us-east-1b', 'aws-use1', 'aws-net'],
      ['gcp/europe-west1/europe-west1-b', 'gcp-euw1', 'gcp-net'],
    ],
  );
  assert.deepEqual(DEFAULT_TOPOLOGY.clusters.map((c) => c.name), ['aws-use1', 'gcp-euw1']);
  assert.ok(Object.isFrozen(DEFAULT_TOPOLOGY.clouds));
});

// Each malformed file differs from VALID in one place and must produce exactly one line naming that place.
const MALFORMED: ReadonlyArray<{ name: string; text: string; error: string | RegExp; code?: string }> = [
  {
    name: 'unknown key, with the allowed keys listed',
    text: VALID.replace('{ name: z2, cluster: c1, network: net-a }', '{ name: z2, cluster: c1, network: net-a, netwrok: x }'),
    error: 'topology.yaml: clouds[0].regions[0].zones[1]: unknown key "netwrok" (allowed: name, cluster, network)',
  },
  {
    name: 'unknown top-level key',
    text: `${VALID}\nzones: []\n`,
    error: 'topology.yaml: (top level): unknown key "zones" (allowed: trustDomain, clouds, clusters, networks, egressCost)',
  },
  {
    name: 'wrong type',
    text: VALID.replace('- name: r2\n        zones:\n          - { name: z3, cluster: c2, network: net-b }', '- name: r2\n        zones: z3'),
    error: 'topology.yaml: clouds[1].regions[0].zones: expected a list, got "z3"',
  },
  {
    name: 'missing required key',
    text: VALID.replace('{ name: z2, cluster: c1, network: net-a }', '{ name: z2, network: net-a }'),
    error: 'topology.yaml: clouds[0].regions[0].zones[1].cluster: required but missing (expected a string)',
  },
  {
    name: 'duplicate zone across clouds',
    text: VALID.replace('{ name: z3, cluster: c2, network: net-b }', '{ name: z1, cluster: c2, network: net-b }').replace('z3: "10.0.0.1:15443"', ''),
    error: 'topology.yaml: clouds[1].regions[0].zones[0].name: duplicate zone "z1" (already declared at clouds[0].regions[0].zones[0].name); zone names must be unique across the federation',
  },
  {
    name: 'undeclared network, listing the declared ones',
    text: VALID.replace('{ name: z3, cluster: c2, network: net-b }', '{ name: z3, cluster: c2, network: net-bb }'),
    error: 'topology.yaml: clouds[1].regions[0].zones[0].network: unknown network "net-bb" (declared: net-a, net-b); add it under networks or fix the name',
  },
  {
    name: 'undeclared cluster',
    text: VALID.replace('{ name: z2, cluster: c1, network: net-a }', '{ name: z2, cluster: c9, network: net-a }'),
    error: 'topology.yaml: clouds[0].regions[0].zones[1].cluster: unknown cluster "c9" (declared: c1, c2); add it under clusters or fix the name',
  },
  {
    name: 'bad locality segment',
    text: VALID.replace('- name: r1', '- name: US_East_1'),
    error: 'topology.yaml: clouds[0].regions[0].name: "US_East_1" is not a valid region name (a DNS label: lowercase letters, digits and "-", at most 63 characters)',
  },
  {
    name: 'bad trust domain',
    text: `trustDomain: "spiffe://Mesh"\n${VALID}`,
    error: /^topology\.yaml: trustDomain: "spiffe:\/\/Mesh" is not a valid SPIFFE trust domain/,
  },
  {
    name: 'duplicate network',
    text: VALID.replace('networks: [{ name: net-a },', 'networks: [{ name: net-a }, { name: net-a },'),
    error: 'topology.yaml: networks[1].name: duplicate network "net-a" (already declared at networks[0].name); network names must be unique',
  },
  {
    name: 'gateway for a zone on another network',
    text: VALID.replace('z3: "10.0.0.1:15443"', 'z1: "10.0.0.1:15443"'),
    error: 'topology.yaml: networks[1].gateways.z1: zone "z1" is on network "net-a", not "net-b"; move the gateway there',
  },
  {
    name: 'gateway that is not host:port',
    text: VALID.replace('"10.0.0.1:15443"', '"10.0.0.1"'),
    error: 'topology.yaml: networks[1].gateways.z3: "10.0.0.1" is not host:port (e.g. 127.0.0.1:7443 or [::1]:7443)',
  },
  {
    name: 'empty zone list',
    text: VALID.replace('- name: r2\n        zones:\n          - { name: z3, cluster: c2, network: net-b }', '- name: r2\n        zones: []').replace('z3: "10.0.0.1:15443"', ''),
    error: 'topology.yaml: clouds[1].regions[0].zones: a region needs at least one zone',
  },
  {
    name: 'YAML syntax error, with line and column',
    text: 'clusters: [{ name: c1 }\nnetworks: []\n',
    error: /^topology\.yaml:2:1: Flow sequence in block collection must be sufficiently indented and end with a \]$/,
    code: 'MESHFED_E_CONFIG_PARSE',
  },
  {
    name: 'duplicate YAML key',
    text: `clusters: []\n${VALID}`,
    error: /^topology\.yaml:\d+:1: Map keys must be unique$/,
    code: 'MESHFED_E_CONFIG_PARSE',
  },
];

for (const c of MALFORMED) {
  test(`malformed topology: ${c.name}`, () => {
    const message = errorOf(c.text, c.code);
    if (typeof c.error === 'string') assert.equal(message, c.error);
    else assert.match(message, c.error);
  });
}

test('loadTopologyFile reads a file and names it in errors; an unreadable file is MESHFED_E_CONFIG_READ', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-topology-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const good = join(dir, 'topology.yaml');
  writeFileSync(good, VALID);
  assert.equal(topologyZones(loadTopologyFile(good)).length, 3);

  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, VALID.replace('network: net-b }', 'network: nope }'));
  assert.throws(() => loadTopologyFile(bad), (e: MeshfedError) => e.code === 'MESHFED_E_CONFIG_INVALID' && e.message.startsWith(`${bad}: clouds[1].regions[0].zones[0].network: unknown network "nope"`));

  const missing = join(dir, 'missing.yaml');
  assert.throws(() => loadTopologyFile(missing), (e: MeshfedError) => e.code === 'MESHFED_E_CONFIG_READ' && e.message === `${missing}: cannot read: no such file` && e.cause !== undefined);

  assert.throws(() => loadTopologyFile(dir), (e: MeshfedError) => e.code === 'MESHFED_E_CONFIG_READ' && e.message === `${dir}: cannot read: is a directory, not a file`);

  if (process.getuid?.() !== 0) {
    // root reads anything, so the permission case only means something for other users.
    const locked = join(dir, 'locked.yaml');
    writeFileSync(locked, VALID);
    chmodSync(locked, 0o000);
    assert.throws(() => loadTopologyFile(locked), (e: MeshfedError) => e.code === 'MESHFED_E_CONFIG_READ' && e.message === `${locked}: cannot read: permission denied`);
  }
});

test('JSON is accepted as well as YAML', () => {
  const t = parseTopology(JSON.stringify({
    clusters: [{ name: 'c' }], networks: [{ name: 'n' }],
    clouds: [{ name: 'k', regions: [{ name: 'r', zones: [{ name: 'z', cluster: 'c', network: 'n' }] }] }],
  }), 'topology.json');
  assert.equal(topologyZones(t)[0]?.locality.zone, 'z');
});
