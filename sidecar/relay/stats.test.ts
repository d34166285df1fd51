// Unit tests of turning cumulative sidecar counters into per-window relay stats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromProto, LATENCY_BOUNDS_MS } from '../../api/histogram.ts';
import { totalsFrom, windowStats, type PromSample } from './stats.ts';

const req = (svc: string, code: number, value: number): PromSample => ({ labels: { dest_service: svc, code, dest_zone: 'a', source_zone: 'a' }, value });
function dur(svc: string, buckets: Record<string, number>, sumS: number): PromSample[] {
  const labels = { dest_service: svc, dest_zone: 'a', source_zone: 'a' };
  return [
    ...Object.entries(buckets).map(([le, value]) => ({ labels: { ...labels, le }, value, metricName: 'meshfed_request_duration_seconds_bucket' })),
    { labels, value: sumS, metricName: 'meshfed_request_duration_seconds_sum' },
  ];
}

test('classes requests by status and moves prometheus buckets up to the shared bounds', () => {
  const t = totalsFrom([req('shop/cart', 200, 8), req('shop/cart', 503, 1), req('shop/cart', 504, 1), req('unknown', 404, 5)],
    dur('shop/cart', { '0.0005': 2, '0.0025': 5, '0.01': 9, '+Inf': 10 }, 0.05));
  const cart = t['shop/cart']!;
  assert.deepEqual([cart.requests, cart.successes, cart.http5xx, cart.timeout], [10, 8, 1, 1]);
  assert.equal(t['unknown'], undefined, 'labels that are not a service are skipped');
  const at = (ms: number) => LATENCY_BOUNDS_MS.indexOf(ms);
  assert.equal(cart.buckets[at(0.5)], 2);
  assert.equal(cart.buckets[at(5)], 3, '(1ms, 2.5ms] is counted under the 5 ms bound, never understated');
  assert.equal(cart.buckets[at(10)], 4);
  assert.equal(cart.buckets[LATENCY_BOUNDS_MS.length], 1);
  assert.equal(cart.sumMs, 50);
});

test('a window is the difference of two totals and forms a valid histogram', () => {
  const t1 = totalsFrom([req('shop/cart', 200, 5)], dur('shop/cart', { '0.001': 5, '+Inf': 5 }, 0.004));
  const t2 = totalsFrom([req('shop/cart', 200, 8), req('shop/cart', 500, 2)], dur('shop/cart', { '0.001': 7, '+Inf': 10 }, 0.5));
  const [w] = windowStats(t1, t2);
  assert.ok(w);
  assert.deepEqual([w.namespace, w.name, w.requests, w.successes, w.errors?.http_5xx], ['shop', 'cart', '5', '3', '2']);
  const h = fromProto(w.latency);
  assert.ok(h.ok, h.ok ? '' : h.error.message);
  assert.equal(h.value.count, 5);
  assert.ok(Math.abs(h.value.sumMs - 496) < 1e-6);
  assert.deepEqual(windowStats(t2, t2), [], 'an idle window sends nothing');
});

test('totals that went down (a restarted counter) count from zero', () => {
  const big = totalsFrom([req('shop/cart', 200, 100)], dur('shop/cart', { '+Inf': 100 }, 1));
  const small = totalsFrom([req('shop/cart', 200, 3)], dur('shop/cart', { '+Inf': 3 }, 0.1));
  assert.equal(windowStats(big, small)[0]?.requests, '3');
});

test('connect failures and resets are carved out of the 5xx; 504 stays a timeout; in-flight is a level', () => {
  const fail = (svc: string, cls: string, value: number): PromSample => ({ labels: { dest_service: svc, class: cls }, value });
  const requests = [req('shop/cart', 200, 10), req('shop/cart', 503, 4), req('shop/cart', 502, 2), req('shop/cart', 504, 3)];
  const t0 = totalsFrom(requests, [], [fail('shop/cart', 'connect_failure', 3), fail('shop/cart', 'reset', 1), fail('shop/cart', 'timeout', 3)],
    [{ labels: { dest_service: 'shop/cart' }, value: 5 }]);
  const c = t0['shop/cart']!;
  assert.deepEqual([c.successes, c.http5xx, c.connectFailure, c.reset, c.timeout, c.inFlight], [10, 2, 3, 1, 3, 5]);
  assert.equal(c.successes + c.http5xx + c.connectFailure + c.reset + c.timeout, c.requests, 'classes are disjoint and cover every request');

  const t1 = totalsFrom([...requests, req('shop/cart', 503, 2)], [], [fail('shop/cart', 'connect_failure', 5), fail('shop/cart', 'reset', 1), fail('shop/cart', 'timeout', 3)],
    [{ labels: { dest_service: 'shop/cart' }, value: 0 }]);
  const [w] = windowStats(t0, t1);
  assert.deepEqual(w?.errors, { http_5xx: '0', timeout: '0', connect_failure: '2', reset: '0' });
  assert.equal(w?.in_flight, 0);
});

test('failure samples of a service without requests are ignored, and no class goes negative', () => {
  const t = totalsFrom([req('shop/cart', 503, 1)], [], [
    { labels: { dest_service: 'shop/other', class: 'reset' }, value: 4 },
    { labels: { dest_service: 'shop/cart', class: 'connect_failure' }, value: 3 },
  ]);
  assert.equal(t['shop/other'], undefined);
  assert.deepEqual([t['shop/cart']!.http5xx, t['shop/cart']!.connectFailure], [0, 3]);
});
