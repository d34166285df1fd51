// Unit tests of turning cumulative sidecar counters into per-window relay stats: asked per destination zone, local failures, served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromProto, LATENCY_BOUNDS_MS } from '../../api/histogram.ts';
import { NO_TOTALS, totalsFrom, windowStats, type PromSample, type StatsSamples } from './stats.ts';

const NONE: StatsSamples = { tries: [], tryDuration: [], tryInFlight: [], local: [], served: [], servedDuration: [], servedInFlight: [] };
const tried = (svc: string, zone: string, outcome: string, value: number): PromSample => ({ labels: { dest_service: svc, dest_zone: zone, outcome }, value });
const local = (svc: string, zone: string, cls: string, value: number): PromSample => ({ labels: { dest_service: svc, dest_zone: zone, class: cls }, value });
const served = (outcome: string, value: number): PromSample => ({ labels: { service: 'shop/web', outcome }, value });
function dur(labels: Record<string, string>, name: string, buckets: Record<string, number>, sumS: number): PromSample[] {
  return [
    ...Object.entries(buckets).map(([le, value]) => ({ labels: { ...labels, le }, value, metricName: `${name}_bucket` })),
    { labels, value: sumS, metricName: `${name}_sum` },
  ];
}
const tryDur = (svc: string, zone: string, b: Record<string, number>, s: number) => dur({ dest_service: svc, dest_zone: zone }, 'meshfed_upstream_try_duration_seconds', b, s);

test('asked: one entry per (destination service, destination zone); retries count once per try where they went', () => {
  // Zone a is dead: two tries failed to connect there and were retried to b; b also served others, one with a 5xx.
  const t = totalsFrom({ ...NONE,
    tries: [tried('shop/cart', 'a', 'connect_failure', 2), tried('shop/cart', 'b', 'success', 3), tried('shop/cart', 'b', 'http_5xx', 1), tried('unknown', 'a', 'success', 9)],
    tryDuration: [...tryDur('shop/cart', 'a', { '0.001': 2, '+Inf': 2 }, 0.001), ...tryDur('shop/cart', 'b', { '0.0005': 1, '0.0025': 3, '+Inf': 4 }, 0.006)],
  });
  const { services } = windowStats(NO_TOTALS, t);
  assert.deepEqual(services.map((s) => [s.destination_zone, s.requests, s.successes, s.errors?.connect_failure, s.errors?.http_5xx]), [
    ['a', '2', '0', '2', '0'],
    ['b', '4', '3', '0', '1'],
  ]);
  const b = services[1]!;
  const at = (ms: number) => LATENCY_BOUNDS_MS.indexOf(ms);
  assert.equal(b.latency?.counts?.[at(0.5)], '1');
  assert.equal(b.latency?.counts?.[at(5)], '2', '(0.5ms, 2.5ms] is counted under the 5 ms bound, never understated');
  assert.equal(b.latency?.counts?.[LATENCY_BOUNDS_MS.length], '1');
  const h = fromProto(b.latency);
  assert.ok(h.ok, h.ok ? '' : h.error.message);
  assert.equal(h.value.count, 4);
  assert.equal(t.asked['unknown|a'], undefined, 'labels that are not a service are skipped');
});

test('local failures: every class apart, under zone "" when no zone was picked; an injected abort is never a destination error', () => {
  const t0 = totalsFrom({ ...NONE, tries: [tried('shop/cart', 'a', 'success', 5)] });
  const t1 = totalsFrom({ ...NONE,
    tries: [tried('shop/cart', 'a', 'success', 8)],
    local: [local('shop/cart', '', 'fault_injected', 4), local('shop/cart', '', 'overflow', 1), local('shop/cart', '', 'no_endpoint', 2), local('shop/cart', '', 'timeout', 1),
      local('shop/cart', 'a', 'timeout', 3), local('shop/cart', '', 'bogus', 7)],
  });
  const { services } = windowStats(t0, t1);
  const none = services.find((s) => s.destination_zone === '')!;
  assert.deepEqual(none.local, { fault_injected: '4', overflow: '1', denied: '0', no_endpoint: '2', timeout: '1' });
  assert.deepEqual([none.requests, none.errors], ['0', { http_5xx: '0', timeout: '0', connect_failure: '0', reset: '0' }], 'local failures are not requests to anyone');
  const a = services.find((s) => s.destination_zone === 'a')!;
  assert.deepEqual([a.requests, a.successes, a.local?.timeout, a.local?.fault_injected], ['3', '3', '3', '0']);
});

test('served: the fronted service, by outcome, with latency and in-flight; asked lists stay apart', () => {
  const t = totalsFrom({ ...NONE,
    served: [served('success', 7), served('http_5xx', 2), served('connect_failure', 1)],
    servedDuration: dur({ service: 'shop/web' }, 'meshfed_inbound_request_duration_seconds', { '0.001': 9, '+Inf': 10 }, 0.02),
    servedInFlight: [{ labels: { service: 'shop/web' }, value: 3 }],
  });
  const w = windowStats(NO_TOTALS, t);
  assert.deepEqual(w.services, []);
  const [s] = w.served;
  assert.ok(s);
  assert.deepEqual([s.namespace, s.name, s.requests, s.successes, s.in_flight], ['shop', 'web', '10', '7', 3]);
  assert.deepEqual(s.errors, { http_5xx: '2', timeout: '0', connect_failure: '1', reset: '0' });
  assert.equal(s.destination_zone, undefined, 'served entries name no destination zone');
  assert.equal(s.local, undefined);
  assert.equal(s.latency?.count, '10');
  assert.ok(Math.abs((s.latency?.sum_ms as number) - 20) < 1e-9);
});

test('a window is the difference of two totals; an idle window sends nothing; in-flight is a level', () => {
  const t1 = totalsFrom({ ...NONE, tries: [tried('shop/cart', 'a', 'success', 5)], tryInFlight: [{ labels: { dest_service: 'shop/cart', dest_zone: 'a' }, value: 2 }] });
  const t2 = totalsFrom({ ...NONE, tries: [tried('shop/cart', 'a', 'success', 8), tried('shop/cart', 'a', 'timeout', 2)], tryInFlight: [{ labels: { dest_service: 'shop/cart', dest_zone: 'a' }, value: 0 }] });
  const [w] = windowStats(t1, t2).services;
  assert.deepEqual([w?.requests, w?.successes, w?.errors?.timeout, w?.in_flight], ['5', '3', '2', 0]);
  assert.deepEqual(windowStats(t2, t2), { services: [], served: [] }, 'an idle window sends nothing');
  const busy = totalsFrom({ ...NONE, tries: [tried('shop/cart', 'a', 'success', 8)], tryInFlight: [{ labels: { dest_service: 'shop/cart', dest_zone: 'a' }, value: 4 }] });
  assert.equal(windowStats(busy, busy).services[0]?.in_flight, 4, 'long requests in flight still show');
});

test('totals that went down (a restarted counter) count from zero', () => {
  const big = totalsFrom({ ...NONE, tries: [tried('shop/cart', 'a', 'success', 100)], local: [local('shop/cart', '', 'overflow', 9)] });
  const small = totalsFrom({ ...NONE, tries: [tried('shop/cart', 'a', 'success', 3)], local: [local('shop/cart', '', 'overflow', 1)] });
  const w = windowStats(big, small).services;
  assert.equal(w.find((s) => s.destination_zone === 'a')?.requests, '3');
  assert.equal(w.find((s) => s.destination_zone === '')?.local?.overflow, '1');
});

test('ejection gauges: a zone whose endpoints are ejected is listed even in a window without requests', () => {
  const gauge = (zone: string, state: string, value: number): PromSample => ({ labels: { dest_service: 'shop/cart', dest_zone: zone, state }, value });
  const zoneEndpoints = [gauge('a', 'known', 3), gauge('a', 'ejected', 3), gauge('b', 'known', 2), gauge('b', 'ejected', 0), gauge('c', 'known', 1), gauge('c', 'ejected', 0)];
  const before = totalsFrom({ ...NONE, tries: [tried('shop/cart', 'b', 'success', 5)], zoneEndpoints });
  const after = totalsFrom({ ...NONE, tries: [tried('shop/cart', 'b', 'success', 9)], zoneEndpoints });
  const { services } = windowStats(before, after);
  // a: nothing sent (every endpoint ejected) but listed for its ejection; b: traffic, with its levels; c: idle, left out.
  assert.deepEqual(services.map((s) => [s.destination_zone, s.requests, s.endpoints_known, s.endpoints_ejected]), [['a', '0', 3, 3], ['b', '4', 2, 0]]);
});
