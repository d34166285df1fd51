// Tests merging sidecar stats into report windows, and the report built from them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { record, emptyHistogram, toProto } from '../../api/histogram.ts';
import type { SidecarStats__Output } from '../../api/generated/meshfed/v1/SidecarStats.ts';
import { addStats, dropSidecar, EMPTY_WINDOW, inFlightOf, resetWindow, type WindowTotals } from './merge.ts';
import { buildReport } from '../report/build.ts';

const h = (ms: number[]) => toProto(ms.reduce((acc, m) => record(acc, m), emptyHistogram()));
function stats(requests: number, successes: number, e5xx: number, inFlight: number, lat: number[]): SidecarStats__Output {
  return {
    window_ms: 1000,
    services: [{
      namespace: 'shop', name: 'cart', requests: String(requests), successes: String(successes), in_flight: inFlight,
      errors: { http_5xx: String(e5xx), connect_failure: '0', timeout: '0', reset: '0' },
      latency: { bounds_ms: h(lat).bounds_ms as number[], counts: (h(lat).counts as string[]), sum_ms: h(lat).sum_ms as number, count: String(lat.length) },
    }],
  };
}
function ok(r: ReturnType<typeof addStats>): WindowTotals {
  assert.equal(r.ok, true, r.ok ? '' : r.error);
  return (r as { value: WindowTotals }).value;
}

test('stats from several sidecars add up per service; in-flight is the sum of the latest gauges', () => {
  let w = ok(addStats(EMPTY_WINDOW, 's1', stats(10, 9, 1, 3, [1, 2, 3])));
  w = ok(addStats(w, 's2', stats(5, 5, 0, 1, [100])));
  w = ok(addStats(w, 's1', stats(4, 4, 0, 2, [1])));
  const c = w.services['shop/cart']!;
  assert.equal(c.requests, 19);
  assert.equal(c.successes, 18);
  assert.equal(c.errors.http_5xx, 1);
  assert.equal(c.latency.count, 5);
  assert.equal(inFlightOf(w, 'shop/cart'), 3, 's1 latest 2 + s2 latest 1');
  assert.equal(inFlightOf(dropSidecar(w, 's1'), 'shop/cart'), 1);
  const r = resetWindow(w);
  assert.deepEqual(r.services, {});
  assert.equal(inFlightOf(r, 'shop/cart'), 3, 'gauges survive a window reset');
});

test('a bad message is refused whole and leaves the window unchanged', () => {
  const w = ok(addStats(EMPTY_WINDOW, 's1', stats(10, 9, 1, 3, [1])));
  const bad: SidecarStats__Output[] = [
    stats(1, 2, 0, 0, []),
    { window_ms: 1, services: [{ ...stats(1, 1, 0, 0, [])!.services[0]!, requests: '-1' }] },
    { window_ms: 1, services: [{ ...stats(1, 1, 0, 0, [])!.services[0]!, namespace: '' }] },
    { window_ms: 1, services: [{ ...stats(1, 1, 0, 0, [1])!.services[0]!, latency: { bounds_ms: [1, 2], counts: ['1'], sum_ms: 1, count: '1' } }] },
  ];
  for (const m of bad) {
    const r = addStats(w, 's1', m);
    assert.equal(r.ok, false);
  }
  assert.equal(w.services['shop/cart']!.requests, 10);
});

test('the report carries window counters as rates and counts, endpoints and RTTs', () => {
  const w = ok(addStats(EMPTY_WINDOW, 's1', stats(20, 19, 1, 4, [5, 5])));
  const report = buildReport({
    zone: 'a1', sequence: 7, nowMs: 1000, windowMs: 2000, window: w, rttsMs: { b1: 12.5, a2: 3 },
    services: [
      { namespace: 'shop', name: 'cart', capacityRps: 100, endpoints: [
        { address: '10.0.0.1', port: 80, healthy: true, terminating: false, labels: {} },
        { address: '10.0.0.2', port: 80, healthy: false, terminating: true, labels: {} },
      ] },
      { namespace: 'shop', name: 'idle', capacityRps: 0, endpoints: [] },
    ],
  });
  assert.equal(report.sequence, '7');
  const cart = report.services![0]!;
  assert.equal(cart.rps, 10);
  assert.equal(cart.healthy_endpoints, 1);
  assert.equal(cart.total_endpoints, 2);
  assert.equal(cart.in_flight, 4);
  assert.equal(cart.successes, '19');
  assert.equal(cart.errors?.http_5xx, '1');
  assert.equal(cart.latency?.count, '2');
  assert.equal(report.services![1]!.rps, 0);
  assert.equal(report.services![1]!.latency, undefined);
  assert.deepEqual(report.rtts, [{ zone: 'a2', rtt_ms: 3 }, { zone: 'b1', rtt_ms: 12.5 }]);
});
