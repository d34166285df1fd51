// Unit tests for the pure planning of a local federation: ports, placements, discovery files, sidecar configs, weight rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TOPOLOGY } from '../api/topology.ts';
import { parseSidecarConfig } from '../api/sidecar-config.ts';
import { parseStaticDiscovery } from '../api/static-discovery.ts';
import { buildPlan, DEFAULT_SHOP, PlanError, sidecarConfigFor, staticDiscoveryFor, weightRowFor, frontendUrl, type FederationPlan } from './plan.ts';
import { formatWindow } from './load.ts';

function plan(replicas = 2): FederationPlan {
  let p = 20000;
  return buildPlan(DEFAULT_TOPOLOGY, DEFAULT_SHOP, replicas, () => p++);
}

test('every port in the plan is distinct and each zone runs its placements', () => {
  const pl = plan();
  const ports = [
    ...pl.adminUrls.map((u) => Number(new URL(u).port)), ...pl.grpcAddresses.map((a) => Number(a.split(':')[1])),
    ...pl.zones.flatMap((z) => [z.gatewayPort, z.agentAdminPort, z.agentRelayPort, ...z.instances.flatMap((i) => [i.appPort, i.inboundPort, i.outboundPort, i.adminPort])]),
  ];
  assert.equal(new Set(ports).size, ports.length);
  assert.equal(pl.adminUrls.length, 2);
  const east = pl.zones.find((z) => z.zone === 'us-east-1a')!;
  assert.deepEqual(east.instances.map((i) => i.instance), ['frontend-v1-0', 'catalog-v1-0', 'catalog-v1-1', 'catalog-v2-0']);
  assert.equal(pl.zones.find((z) => z.zone === 'us-east-1b')!.instances.some((i) => i.service === 'catalog'), false, 'us-east-1b must call catalog cross-zone');
  assert.match(frontendUrl(east)!, /^http:\/\/127\.0\.0\.1:\d+\/$/);
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

test('sidecar configs pass the sidecar schema; other networks go through their gateway; weights are used when given', () => {
  const pl = plan();
  const eu = pl.zones.find((z) => z.zone === 'europe-west1-b')!;
  const cfg = parseSidecarConfig(JSON.stringify(sidecarConfigFor(pl, 'us-east-1a', undefined, new Map([['shop/catalog', { 'us-east-1a': 7000, 'europe-west1-b': 3000 }]]))), 'x.json');
  assert.equal(cfg.zones['europe-west1-b']?.gateway?.port, eu.gatewayPort);
  assert.equal(cfg.zones['us-east-1b']?.gateway, undefined, 'same network: direct');
  assert.deepEqual(cfg.services['shop/catalog']?.weights, { 'us-east-1a': 7000, 'europe-west1-b': 3000 });
  assert.equal(cfg.services['shop/pricing']?.weights, undefined, 'no row: equal shares');
  assert.deepEqual(cfg.services['shop/catalog']?.routes.map((r) => r.subset), ['v1', 'v2'], 'header canary routes per version');
  assert.equal(cfg.services['shop/catalog']?.endpoints['us-east-1b'], undefined);
});

test('a weight row is taken only when it covers 10000 basis points over known zones', () => {
  const known = new Set(['a', 'b']);
  const table = { rows: [{ sourceZone: 'a', targets: [{ zone: 'a', basisPoints: 7000 }, { zone: 'b', basisPoints: 3000 }] }, { sourceZone: 'b', targets: [{ zone: 'x', basisPoints: 10000 }] }] };
  assert.deepEqual(weightRowFor(table, 'a', known), { a: 7000, b: 3000 });
  assert.equal(weightRowFor(table, 'b', known), undefined, 'an unknown zone cannot be routed to');
  assert.equal(weightRowFor(table, 'c', known), undefined);
  assert.equal(weightRowFor(undefined, 'a', known), undefined);
});

test('the load summary gives the success rate and per-service zone shares', () => {
  const line = formatWindow({ ok: 9, failed: 1, hops: new Map([['frontend@a', 9], ['catalog@a', 6], ['catalog@b', 3]]) }, 2);
  assert.equal(line, 'load: 5 rps, success 90.0% | catalog: a 67% b 33%');
});
