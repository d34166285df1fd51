// The sidecar's scraped balancer series: zone endpoint gauges and the health-check un-ejection counter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRegistry } from '../../common/metrics.ts';
import { createSidecarMetrics, type ZoneEndpoints } from './metrics.ts';

test('un-ejections are a counter per service and zone with reason health_check, read at scrape time; known-0 rows add no gauge', async () => {
  const m = createSidecarMetrics(createRegistry({ processMetrics: false }), 'shop/frontend');
  let rows: ZoneEndpoints[] = [{ service: 'shop/catalog', zone: 'a', known: 2, ejected: 0, unejected: 0 }];
  m.setZoneEndpointSource(() => rows);
  assert.deepEqual((await m.unejections.get()).values, []);
  rows = [{ service: 'shop/catalog', zone: 'a', known: 2, ejected: 0, unejected: 3 }, { service: 'shop/catalog', zone: 'b', known: 0, ejected: 0, unejected: 1 }];
  const values = (await m.unejections.get()).values.map((v) => [v.labels, v.value]);
  assert.deepEqual(values, [
    [{ dest_service: 'shop/catalog', zone: 'a', reason: 'health_check' }, 3],
    [{ dest_service: 'shop/catalog', zone: 'b', reason: 'health_check' }, 1],
  ]);
  const gauges = (await m.zoneEndpoints.get()).values.map((v) => `${v.labels.dest_zone}/${v.labels.state}=${v.value}`);
  assert.deepEqual(gauges, ['a/known=2', 'a/ejected=0']);
  const text = await m.registry.metrics();
  assert.match(text, /meshfed_outlier_unejections_total\{dest_service="shop\/catalog",zone="a",reason="health_check"\} 3/);
});
