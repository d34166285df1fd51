// Unit tests for the pure planning of a local federation: ports, placements, discovery files, sidecar configs, weight rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TOPOLOGY } from '../api/topology.ts';
import { parseStaticDiscovery } from '../api/static-discovery.ts';
import { parseRelayOverlay } from '../api/relay-overlay.ts';
import { join } from 'node:path';
import { loadFederationFile } from '../api/federation-file.ts';
import { appComponent, buildPlan, componentPorts, DEFAULT_SHOP, defaultPolicies, gatewayArgs, PlanError, planForInstance, relayOverlayFor, staticDiscoveryFor, frontendUrl, zonePlan, type FederationPlan } from './plan.ts';
import { describeDistribution } from './up.ts';
import { formatWindow } from './load.ts';

function plan(replicas = 2): FederationPlan {
  let p = 20000;
  return buildPlan(DEFAULT_TOPOLOGY, DEFAULT_SHOP, replicas, () => p++);
}

test('every port in the plan is distinct and each zone runs its placements', () => {
  const pl = plan();
  const ports = [
    ...pl.adminUrls.map((u) => Number(new URL(u).port)), ...pl.grpcAddresses.map((a) => Number(a.split(':')[1])),
    ...pl.zones.flatMap((z) => [z.gatewayPort, z.gatewayAdminPort, z.agentAdminPort, z.agentRelayPort, ...z.instances.flatMap((i) => [i.appPort, i.inboundPort, i.outboundPort, i.adminPort])]),
  ];
  assert.equal(new Set(ports).size, ports.length);
  assert.equal(pl.adminUrls.length, 2);
  const east = pl.zones.find((z) => z.zone === 'us-east-1a')!;
  assert.deepEqual(east.instances.map((i) => i.instance), ['frontend-v1-0', 'catalog-v1-0', 'catalog-v1-1', 'catalog-v2-0']);
  assert.equal(pl.zones.find((z) => z.zone === 'us-east-1b')!.instances.some((i) => i.service === 'catalog'), false, 'us-east-1b must call catalog cross-zone');
  assert.match(frontendUrl(east)!, /^http:\/\/127\.0\.0\.1:\d+\/$/);
});

test('each zone\'s gateway listens where its agent advertises it, is fed by that zone\'s relay plus the overlay, and has its own admin port', () => {
  const pl = plan();
  for (const z of pl.zones) {
    assert.deepEqual(gatewayArgs(z, '/run/overlay.json'), [
      'gateway', '--zone', z.zone, '--listen', `127.0.0.1:${z.gatewayPort}`, '--agent', `127.0.0.1:${z.agentRelayPort}`, '--overlay', '/run/overlay.json', '--admin', `127.0.0.1:${z.gatewayAdminPort}`,
    ]);
  }
  // The overlay is what lets a gateway resolve canary SNIs (outbound_.80_.v2_.catalog...): it must pass the overlay check.
  assert.deepEqual(parseRelayOverlay(JSON.stringify(relayOverlayFor(pl)), 'overlay.json').services?.['shop/catalog']?.subsets, { v1: { version: 'v1' }, v2: { version: 'v2' } });
  assert.equal(new Set(pl.zones.map((z) => z.gatewayAdminPort)).size, pl.zones.length, 'one admin port per gateway');
});

test('a placement in an unknown zone or of an unknown service is refused with the fix', () => {
  assert.throws(() => buildPlan(DEFAULT_TOPOLOGY, { ...DEFAULT_SHOP, placements: [{ zone: 'mars-1a', service: 'frontend', version: 'v1', replicas: 1 }] }, 1, () => 1), (e: unknown) => e instanceof PlanError && /mars-1a.*zones: us-east-1a/.test(e.message));
  assert.throws(() => buildPlan(DEFAULT_TOPOLOGY, { ...DEFAULT_SHOP, placements: [{ zone: 'us-east-1a', service: 'cart', version: 'v1', replicas: 1 }] }, 1, () => 1), PlanError);
});

test('the static discovery file of a zone lists its sidecars\' inbound ports and passes the agent schema', () => {
  const pl = plan();
  const doc = parseStaticDiscovery(JSON.stringify(staticDiscoveryFor(pl, 'us-east-1a')), 'static.json');
  const catalog = doc.services.find((s) => s.name === 'catalog')!;
  const inbound = pl.zones[0]!.instances.filter((i) => i.service === 'catalog').map((i) => i.inboundPort);
  assert.deepEqual(catalog.endpoints.map((e) => e.address.port), inbound);
  assert.deepEqual(catalog.endpoints.map((e) => e.labels['version']), ['v1', 'v1', 'v2']);
});

test('the relay overlay names every service with its identity, and canary routes only where there are versions', () => {
  const pl = plan();
  const overlay = relayOverlayFor(pl);
  assert.deepEqual(Object.keys(overlay.services).sort(), ['shop/catalog', 'shop/frontend', 'shop/pricing']);
  assert.equal(overlay.services['shop/catalog']?.identity, `spiffe://${pl.trustDomain}/ns/shop/sa/catalog`);
  assert.deepEqual(Object.keys(overlay.services['shop/catalog']?.subsets ?? {}), ['v1', 'v2']);
  assert.equal(overlay.services['shop/catalog']?.routes.length, 2, 'one header canary route per version');
  assert.deepEqual(overlay.services['shop/pricing']?.routes, [], 'one version: no routes');
});

test('the load summary gives the success rate and per-service zone shares', () => {
  const line = formatWindow({ ok: 9, failed: 1, hops: new Map([['frontend@a', 9], ['catalog@a', 6], ['catalog@b', 3]]) }, 2);
  assert.equal(line, 'load: 5 rps, success 90.0% | catalog: a 67% b 33%');
});

test('a federation file with 5 zones in 3 clouds plans: one zone plan each, capacity per replica summed per service', () => {
  const f = loadFederationFile(join(import.meta.dirname, '..', 'examples', 'federation-5-zones.yaml'));
  let p = 30000;
  const pl = buildPlan(f.topology, f.layout, 2, () => p++);
  assert.deepEqual(pl.zones.map((z) => `${z.cloud}/${z.zone}`), ['aws/us-east-1a', 'aws/us-east-1b', 'gcp/europe-west1-b', 'gcp/europe-west1-c', 'azure/westeurope-1']);
  assert.equal(new Set(pl.zones.map((z) => z.network)).size, 3);
  assert.deepEqual(pl.zones.map((z) => z.instances.map((i) => i.instance)), [
    ['frontend-v1-0', 'catalog-v1-0', 'catalog-v1-1'], ['frontend-v1-0', 'pricing-v1-0'], ['frontend-v1-0', 'catalog-v1-0'], ['frontend-v1-0', 'pricing-v1-0'], ['frontend-v1-0', 'catalog-v2-0'],
  ]);
  const east = parseStaticDiscovery(JSON.stringify(staticDiscoveryFor(pl, 'us-east-1a')), 'static.json');
  assert.equal(east.services.find((s) => s.name === 'catalog')?.capacityRps, 600, '2 replicas x 300 rps');
  assert.equal(east.services.find((s) => s.name === 'frontend')?.capacityRps, 500, 'the default per replica');
  // Every port is bound by exactly one component, and every component's ports are known (they are held until it starts).
  const owned = [...componentPorts(pl).values()].flat();
  assert.equal(new Set(owned).size, owned.length);
  assert.equal(owned.length, p - 30000);
  assert.deepEqual(f.policies.map((x) => x.name), ['frontend', 'catalog', 'pricing']);
  assert.deepEqual(relayOverlayFor(pl).services['shop/catalog']?.routes.length, 2, 'v1 and v2 canary routes');
});

test('each app instance runs from the plan cut to that one instance, under the component name app-<zone>-<instance>', () => {
  const pl = plan();
  const one = planForInstance(pl, 'us-east-1a', 'catalog-v1-1');
  assert.deepEqual(zonePlan(one, 'us-east-1a').instances.map((i) => i.instance), ['catalog-v1-1']);
  assert.deepEqual(zonePlan(one, 'europe-west1-b').instances, zonePlan(pl, 'europe-west1-b').instances, 'other zones untouched');
  assert.equal(one.layout, pl.layout);
  assert.equal(appComponent('us-east-1a', 'catalog-v1-0'), 'app-us-east-1a-catalog-v1-0');
  assert.deepEqual(componentPorts(pl).get('app-us-east-1a-catalog-v1-1'), (({ appPort, inboundPort, outboundPort, adminPort }) => [appPort, inboundPort, outboundPort, adminPort])(zonePlan(pl, 'us-east-1a').instances[2]!));
});

test('the default policies are announced with their distribution', () => {
  assert.equal(describeDistribution(defaultPolicies()), ' (catalog: 70% us-east-1a / 30% europe-west1-b from us-east-1a)');
  assert.equal(describeDistribution([{ namespace: 'shop', name: 'x', body: {} }]), '');
});

test('etcd members are planned as components etcd-1..N, each with its own client and peer port from the same pool', () => {
  let p = 40000;
  const pl = buildPlan(DEFAULT_TOPOLOGY, DEFAULT_SHOP, 2, () => p++, 3);
  assert.deepEqual(pl.etcdMembers.map((m) => m.name), ['etcd-1', 'etcd-2', 'etcd-3']);
  const ports = componentPorts(pl);
  for (const m of pl.etcdMembers) {
    assert.deepEqual(ports.get(m.name), [m.clientPort, m.peerPort, m.metricsPort], 'client, peer and a plain metrics port for /health');
    assert.equal(m.tls, true, 'members of meshfed up require client certificates');
  }
  const owned = [...ports.values()].flat();
  assert.equal(new Set(owned).size, owned.length);
  assert.equal(owned.length, p - 40000, 'every port handed out is owned by one component');
  assert.deepEqual(plan().etcdMembers, [], 'no members unless asked (the embedded store)');
});
