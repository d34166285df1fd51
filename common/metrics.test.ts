// The prom-client helpers: every metric is meshfed_-prefixed, and registries are separate per process part.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { counter, createRegistry, gauge, histogram, LATENCY_BUCKETS, METRIC_PREFIX } from './metrics.ts';

test('metric constructors refuse names without the meshfed_ prefix', () => {
  const r = createRegistry({ processMetrics: false });
  assert.throws(() => counter(r, 'requests_total', 'h'), /metric requests_total must start with meshfed_/);
  assert.throws(() => gauge(r, 'Meshfed_zones', 'h'), /must start with meshfed_/);
  assert.throws(() => histogram(r, 'latency_seconds', 'h'), /must start with meshfed_/);
  assert.equal(METRIC_PREFIX, 'meshfed_');
});

test('metrics register on the given registry only and render in the exposition format', async () => {
  const a = createRegistry({ processMetrics: false });
  const b = createRegistry({ processMetrics: false });
  const c = counter(a, 'meshfed_reports_total', 'Zone reports received', ['zone']);
  c.inc({ zone: 'us-east-1a' }, 3);
  gauge(a, 'meshfed_zones', 'Zones with a live lease').set(2);
  histogram(a, 'meshfed_request_seconds', 'Request latency', ['zone'], LATENCY_BUCKETS).observe({ zone: 'z' }, 0.003);
  const text = await a.metrics();
  assert.match(text, /^meshfed_reports_total\{zone="us-east-1a"\} 3$/m);
  assert.match(text, /^meshfed_zones 2$/m);
  assert.match(text, /^meshfed_request_seconds_bucket\{le="0.005",zone="z"\} 1$/m);
  assert.equal((await b.metrics()).trim(), '');
  // The same name may live in two registries (one per component in a single test process).
  counter(b, 'meshfed_reports_total', 'again');
});

test('process metrics are included by default, under the meshfed_process_ prefix', async () => {
  const r = createRegistry();
  const names = (await r.getMetricsAsJSON()).map((m) => m.name);
  assert.ok(names.length > 0);
  for (const name of names) assert.ok(name.startsWith('meshfed_'), name);
  assert.ok(names.includes('meshfed_process_cpu_seconds_total'), 'process CPU under meshfed_process_');
  assert.ok(names.some((n) => n.startsWith('meshfed_nodejs_')), 'Node.js runtime metrics under meshfed_nodejs_');
  assert.ok(!names.some((n) => n.includes('process_process_')), 'no doubled prefix');
});

test('latency buckets increase strictly from 100 µs to 10 s', () => {
  assert.equal(LATENCY_BUCKETS[0], 0.0001);
  assert.equal(LATENCY_BUCKETS.at(-1), 10);
  for (let i = 1; i < LATENCY_BUCKETS.length; i++) assert.ok((LATENCY_BUCKETS[i] as number) > (LATENCY_BUCKETS[i - 1] as number));
});
