// The picker source across config updates: an ejected zone that leaves as unhealthy and returns healthy is picked again at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSidecarConfig, type SidecarConfig } from '../../api/sidecar-config.ts';
import { seededRandom } from '../../common/random.ts';
import { createBalancer, type Balancer } from './balancer.ts';
import type { EndpointRef } from '../types.ts';

const policy = '{ outlierDetection: { consecutiveConnectFailures: 3, baseEjectionTime: 10s } }';

function config(aEndpoints: string[]): SidecarConfig {
  const a = aEndpoints.length > 0 ? `a: [${aEndpoints.map((e) => `"${e}"`).join(', ')}], ` : '';
  return parseSidecarConfig(
    `zones: { a: { network: n }, b: { network: n } }
services:
  shop/catalog:
    endpoints: { ${a}b: ["10.0.1.1:80"] }
    weights: { a: 10000, b: 0 }
    tiers: { a: 0, b: 1 }
    policy: ${policy}
`, 'test.yaml');
}

const A = ['10.0.0.1:80', '10.0.0.2:80'];

function zonesPicked(b: Balancer, now: number, n = 50): Set<string> {
  const zones = new Set<string>();
  for (let i = 0; i < n; i++) {
    const p = b.picker('shop/catalog')!.pick({ now });
    if (p.kind === 'complete') zones.add(p.zone);
  }
  return zones;
}

function ejectZoneA(b: Balancer, now: number): void {
  for (const host of A) {
    const ep = { id: `a/${host}`, zone: 'a' } as EndpointRef;
    for (let i = 0; i < 3; i++) {
      b.begin(ep);
      b.end('shop/catalog', ep, 'connect-failure', now);
    }
  }
}

test('a zone every endpoint of which was ejected is picked again as soon as its endpoints return healthy', () => {
  const b = createBalancer({ zone: 'a', random: seededRandom(1), config: config(A) });
  ejectZoneA(b, 0);
  assert.deepEqual([...zonesPicked(b, 100)], ['b'], 'ejected zone a fails over to b');
  assert.deepEqual(b.zoneEndpoints(100).find((z) => z.zone === 'a'), { service: 'shop/catalog', zone: 'a', known: 2, ejected: 2, unejected: 0 });
  // The agent's health checks take the dead endpoints out (the relay sends only healthy ones) ...
  b.update(config([]), 1000);
  assert.deepEqual([...zonesPicked(b, 1000)], ['b']);
  // ... and put them back when they pass again, long before the 10 s ejection would end.
  b.update(config(A), 3000);
  assert.deepEqual([...zonesPicked(b, 3000)], ['a']);
  assert.deepEqual(b.zoneEndpoints(3000).find((z) => z.zone === 'a'), { service: 'shop/catalog', zone: 'a', known: 2, ejected: 0, unejected: 2 });
  assert.equal(b.nextUnejection(3000), undefined);
  // The multiplier was kept: failing again at once ejects for 2 × base.
  ejectZoneA(b, 3000);
  assert.equal(b.outlier('shop/catalog')!.entries.get(`a/${A[0]}`)!.ejectedUntil, 3000 + 20_000);
});

test('an endpoint that never left is not un-ejected by a config update, and a zone with no endpoint keeps its total', () => {
  const b = createBalancer({ zone: 'a', random: seededRandom(2), config: config(A) });
  ejectZoneA(b, 0);
  b.update(config(A), 1000);
  assert.deepEqual([...zonesPicked(b, 1000)], ['b'], 'still ejected: no health signal said otherwise');
  b.update(config([]), 2000);
  b.update(config([A[0]!]), 3000);
  b.update(config([]), 4000);
  assert.deepEqual(b.zoneEndpoints(4000).find((z) => z.zone === 'a'), { service: 'shop/catalog', zone: 'a', known: 0, ejected: 0, unejected: 1 });
});
