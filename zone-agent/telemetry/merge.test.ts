// Tests merging sidecar stats into report windows, and the report built from them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { record, emptyHistogram, toProto } from '../../api/histogram.ts';
import type { SidecarStats__Output } from '../../api/generated/meshfed/v1/SidecarStats.ts';
import { addStats, askedInFlightOf, dropSidecar, EMPTY_WINDOW, evidence, inFlightOf, resetWindow, sumWindows, type WindowTotals } from './merge.ts';
import type { ServiceStats__Output } from '../../api/generated/meshfed/v1/ServiceStats.ts';
import { buildReport } from '../report/build.ts';

const h = (ms: number[]) => toProto(ms.reduce((acc, m) => record(acc, m), emptyHistogram()));
const NO_LOCAL = { fault_injected: '0', overflow: '0', denied: '0', no_endpoint: '0', timeout: '0' };
function entry(requests: number, successes: number, e5xx: number, inFlight: number, lat: number[], zone: string, local = NO_LOCAL): ServiceStats__Output {
  return {
    namespace: 'shop', name: 'cart', requests: String(requests), successes: String(successes), in_flight: inFlight,
    errors: { http_5xx: String(e5xx), connect_failure: '0', timeout: '0', reset: '0' },
    latency: { bounds_ms: h(lat).bounds_ms as number[], counts: (h(lat).counts as string[]), sum_ms: h(lat).sum_ms as number, count: String(lat.length) },
    destination_zone: zone, local, endpoints_known: 0, endpoints_ejected: 0,
  };
}
/** A sidecar's message: what it SERVED (inbound, for cart) and what it ASKED of cart in zone b1. */
function stats(requests: number, successes: number, e5xx: number, inFlight: number, lat: number[]): SidecarStats__Output {
  return { window_ms: 1000, services: [entry(requests, successes, e5xx, inFlight, lat, 'b1')], served: [entry(requests, successes, e5xx, inFlight, lat, '')] };
}
function ok(r: ReturnType<typeof addStats>): WindowTotals {
  assert.equal(r.ok, true, r.ok ? '' : r.error);
  return (r as { value: WindowTotals }).value;
}

test('stats from several sidecars add up per service; in-flight is the sum of the latest gauges', () => {
  let w = ok(addStats(EMPTY_WINDOW, 's1', stats(10, 9, 1, 3, [1, 2, 3])));
  w = ok(addStats(w, 's2', stats(5, 5, 0, 1, [100])));
  w = ok(addStats(w, 's1', stats(4, 4, 0, 2, [1])));
  const c = w.served['shop/cart']!;
  assert.equal(c.requests, 19);
  assert.equal(c.successes, 18);
  assert.equal(c.errors.http_5xx, 1);
  assert.equal(c.latency.count, 5);
  assert.equal(w.asked['shop/cart']!.destinations['b1']!.requests, 19);
  assert.equal(inFlightOf(w, 'shop/cart'), 3, 's1 latest 2 + s2 latest 1');
  assert.equal(askedInFlightOf(w, 'shop/cart'), 3);
  assert.equal(inFlightOf(dropSidecar(w, 's1'), 'shop/cart'), 1);
  const r = resetWindow(w);
  assert.deepEqual(r.served, {});
  assert.deepEqual(r.asked, {});
  assert.equal(inFlightOf(r, 'shop/cart'), 3, 'gauges survive a window reset');
});

test('asked stats stay apart per destination zone, and local failures are nobody\'s errors', () => {
  const injected = { ...NO_LOCAL, fault_injected: '6', overflow: '1' };
  const msg: SidecarStats__Output = {
    window_ms: 1000,
    served: [],
    services: [entry(10, 10, 0, 0, [1], 'a1'), entry(8, 2, 6, 0, [1], 'b1'), entry(0, 0, 0, 0, [], '', injected)],
  };
  const w = ok(addStats(EMPTY_WINDOW, 's1', msg));
  const a = w.asked['shop/cart']!;
  assert.deepEqual(Object.keys(a.destinations).sort(), ['a1', 'b1']);
  assert.equal(a.destinations['a1']!.errors.http_5xx, 0);
  assert.equal(a.destinations['b1']!.errors.http_5xx, 6);
  assert.deepEqual(a.local, { fault_injected: 6, overflow: 1, denied: 0, no_endpoint: 0, timeout: 0 });
  assert.deepEqual(w.served, {}, 'asking is not serving');
  const report = buildReport({ zone: 'a1', sequence: 1, nowMs: 2000, windowMs: 2000, services: [], window: w, rttsMs: {} });
  assert.equal(report.services!.length, 0, 'a zone that hosts nothing reports no served service');
  const r = report.asked![0]!;
  assert.equal(r.rps, 9, '18 requests reached a zone over 2 s; the 7 local failures are not demand served anywhere');
  assert.deepEqual(r.destinations!.map((d) => [d.zone, d.requests, d.errors?.http_5xx]), [['a1', '10', '0'], ['b1', '8', '6']]);
  assert.equal(r.local?.fault_injected, '6');
});

test('the evidence window keeps the intervals of the last few seconds and sums them', () => {
  const one = ok(addStats(EMPTY_WINDOW, 's1', stats(4, 4, 0, 0, [1])));
  const closed = [0, 1000, 2000, 3000, 4000, 5000, 6000].map((t) => ({ startMs: t, endMs: t + 1000, totals: one }));
  const kept = evidence(closed, 7000, 5000);
  assert.deepEqual(kept.map((c) => c.startMs), [2000, 3000, 4000, 5000, 6000]);
  assert.equal(sumWindows(kept.map((c) => c.totals)).served['shop/cart']!.requests, 20);
  assert.deepEqual(evidence(closed, 60_000, 5000).map((c) => c.startMs), [6000], 'the newest interval is always kept');
  assert.deepEqual(evidence([], 1, 5000), []);
});

test('a bad message is refused whole and leaves the window unchanged', () => {
  const w = ok(addStats(EMPTY_WINDOW, 's1', stats(10, 9, 1, 3, [1])));
  const base = stats(1, 1, 0, 0, [])!.services[0]!;
  const bad: [SidecarStats__Output, RegExp][] = [
    [stats(1, 2, 0, 0, []), /exceed requests/],
    [{ window_ms: 1, served: [], services: [{ ...base, requests: '-1' }] }, /non-negative integers/],
    [{ window_ms: 1, served: [], services: [{ ...base, namespace: '' }] }, /namespace and name/],
    [{ window_ms: 1, served: [], services: [{ ...stats(1, 1, 0, 0, [1])!.services[0]!, latency: { bounds_ms: [1, 2], counts: ['1'], sum_ms: 1, count: '1' } }] }, /services\[0\]/],
    [{ window_ms: 1, served: [], services: [{ ...base, destination_zone: '' }] }, /without a destination_zone/],
    [{ window_ms: 1, served: [], services: [{ ...base, destination_zone: 'Not A Zone' }] }, /not a zone name/],
    [{ window_ms: 1, services: [], served: [{ ...base, destination_zone: 'b1' }] }, /served\[0\]\.destination_zone/],
    [{ window_ms: 1, services: [], served: [{ ...base, destination_zone: '', local: { ...NO_LOCAL, overflow: '1' } }] }, /only asked/],
  ];
  for (const [m, re] of bad) {
    const r = addStats(w, 's1', m);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error, re);
  }
  assert.equal(w.served['shop/cart']!.requests, 10);
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

test('ejection gauges: each message replaces its sidecar\'s set; the report counts callers that ejected every endpoint', () => {
  const ejecting = (zone: string, known: number, ejected: number): ServiceStats__Output => ({ ...entry(0, 0, 0, 0, [], zone), endpoints_known: known, endpoints_ejected: ejected });
  let w = ok(addStats(EMPTY_WINDOW, 's1', { window_ms: 1000, served: [], services: [ejecting('b1', 3, 3)] }));
  w = ok(addStats(w, 's2', { window_ms: 1000, served: [], services: [ejecting('b1', 3, 1)] }));
  const report = (win: WindowTotals) => buildReport({ zone: 'a1', sequence: 1, nowMs: 1000, windowMs: 1000, services: [], window: win, rttsMs: {} });
  const d = report(w).asked![0]!.destinations![0]!;
  assert.deepEqual([d.zone, d.requests, d.sidecars_knowing, d.sidecars_ejecting_all], ['b1', '0', 2, 1]);
  // s1 recovers: its next message no longer lists b1, so it no longer counts as ejecting it.
  w = ok(addStats(resetWindow(w), 's1', { window_ms: 1000, served: [], services: [] }));
  assert.deepEqual(report(w).asked![0]!.destinations!.map((x) => [x.zone, x.sidecars_knowing, x.sidecars_ejecting_all]), [['b1', 1, 0]]);
  assert.equal(report(dropSidecar(w, 's2')).asked!.length, 0, 'a gone sidecar takes its gauges with it');
  const bad = addStats(EMPTY_WINDOW, 's1', { window_ms: 1000, served: [], services: [ejecting('b1', 1, 2)] });
  assert.equal(bad.ok, false);
});
