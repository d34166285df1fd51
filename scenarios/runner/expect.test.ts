// Expectations, probes and window statistics judged on hand-made evidence: each measures what it says and fails when the evidence says no.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Expectation, Probe } from '../../api/scenario.ts';
import type { FaultRecord, SeriesPoint } from '../report/journal.ts';
import { evaluateExpectations, settleTime, type Evidence } from './expect.ts';
import { seriesPoint, windowStats, type RequestRecord } from './measure.ts';
import { evaluateProbe, metricValue, stopTracker } from './probes.ts';

const fault: FaultRecord = { id: 'down', kind: 'process', target: 'x', mechanism: 'm', startMs: 10_000, endMs: 20_000, events: [] };

/** One request every 100 ms from 0 to 30 s; catalog served by us-east-1a until `switchAt`, then by europe-west1-b. */
function records(switchAt: number, failures: readonly number[] = []): RequestRecord[] {
  const out: RequestRecord[] = [];
  for (let t = 0; t < 30_000; t += 100) {
    const ok = !failures.includes(t);
    out.push({ sentMs: t, doneMs: t + 20, ok, status: ok ? 200 : 503, idempotent: true, hops: ok ? [{ service: 'catalog', zone: t < switchAt ? 'us-east-1a' : 'europe-west1-b' }] : [] });
  }
  return out;
}

function evidence(recs: RequestRecord[], weights?: (t: number) => SeriesPoint['weights']): Evidence {
  const series: SeriesPoint[] = [];
  for (let t = 1000; t <= 30_000; t += 250) series.push(seriesPoint(recs, t, 1000, weights?.(t)));
  return { records: recs, series, faults: [fault], steadyAgainMs: 4200, steadyWaitMs: 20_000, metrics: new Map() };
}

const share = (within: number): Expectation => ({ kind: 'share', fault: 'down', service: 'catalog', zone: 'us-east-1a', min: 0, max: 0.01, within });

test('share: measures from the fault start to the first window that stays within bounds', () => {
  const [r] = evaluateExpectations([share(3000)], evidence(records(11_000)));
  assert.equal(r!.ok, true, r!.measured);
  assert.ok(r!.value! >= 0.9 && r!.value! <= 1.3, `measured ${r!.value}`);
  const [late] = evaluateExpectations([share(3000)], evidence(records(15_000)));
  assert.equal(late!.ok, false);
  assert.ok(late!.value! >= 4.9 && late!.value! <= 5.3, `measured ${late!.value}`);
});

test('share: a zone that never leaves fails with "never", and no traffic fails as unmeasured', () => {
  const [never] = evaluateExpectations([share(3000)], evidence(records(99_000)));
  assert.equal(never!.ok, false);
  assert.match(never!.measured, /^never/);
  const [none] = evaluateExpectations([share(3000)], evidence([]));
  assert.equal(none!.ok, false);
  assert.match(none!.measured, /no catalog traffic/);
});

test('failed-requests and errors-stop count only the fault window (and settle), and name the failure class', () => {
  const ev = evidence(records(11_000, [5_000, 10_300, 10_600, 25_000]));
  const [failed, stop] = evaluateExpectations([
    { kind: 'failed-requests', fault: 'down', max: 0, idempotentOnly: true, settle: 2000 },
    { kind: 'errors-stop', fault: 'down', within: 1000 },
  ], ev);
  assert.equal(failed!.ok, false);
  assert.equal(failed!.value, 2);
  assert.match(failed!.measured, /2 of \d+ failed \(HTTP 503\)/);
  assert.equal(stop!.ok, true);
  assert.ok(Math.abs(stop!.value! - 0.62) < 0.01, `measured ${stop!.value}`);
});

test('weights-shift: the first weights sample in the fault where every source gives the zone at most maxBp', () => {
  const w = (t: number) => ({ catalog: { 'us-east-1b': { 'us-east-1a': t < 12_500 ? 5000 : 0, 'europe-west1-b': t < 12_500 ? 5000 : 10_000 } } });
  const [r] = evaluateExpectations([{ kind: 'weights-shift', fault: 'down', service: 'catalog', zone: 'us-east-1a', maxBp: 0, within: 3000 }], evidence(records(11_000), w));
  assert.equal(r!.ok, true, r!.measured);
  assert.equal(r!.value, 2.5);
  const [never] = evaluateExpectations([{ kind: 'weights-shift', fault: 'down', service: 'catalog', zone: 'us-east-1a', maxBp: 0, within: 3000, from: ['us-east-1a'] }], evidence(records(11_000), w));
  assert.equal(never!.ok, false, 'a source with no row never counts as shifted');
});

test('an expectation on a fault that never ended, and steady-again that never came, fail', () => {
  const ev = { ...evidence(records(11_000)), faults: [{ ...fault, endMs: undefined }], steadyAgainMs: null };
  const [s, again] = evaluateExpectations([share(3000), { kind: 'steady-again', within: 15_000 }], ev);
  assert.equal(s!.ok, false);
  assert.match(s!.measured, /did not run to its end/);
  assert.equal(again!.ok, false);
});

test('settleTime ignores windows that straddle the fault edges', () => {
  const series = [9_500, 10_000, 11_000, 12_000].map((atMs) => ({ atMs, windowMs: 1000, requests: 1, success: 1, p50Ms: 1, p99Ms: 1, share: {} }));
  const t = settleTime(series, { start: 10_000, end: 11_500 }, () => true);
  assert.deepEqual(t, { kind: 'ok', ms: 0 });
});

test('probes: success, latency, share, weights and metric, each failing on missing data', () => {
  const stats = windowStats(records(11_000, [10_100]), 10_000, 11_000);
  assert.equal(stats.requests, 10);
  assert.equal(stats.success, 0.9);
  const o = { stats, weights: { catalog: { 'us-east-1b': { 'us-east-1a': 3000 } } }, metrics: new Map([['c m[]', 7]]) };
  const probe = (p: Probe) => evaluateProbe(p, o);
  assert.equal(probe({ kind: 'success', min: 0.95 }).ok, false);
  assert.equal(probe({ kind: 'latency', quantile: 'p99', max: 50 }).ok, true);
  assert.equal(probe({ kind: 'share', service: 'catalog', zone: 'us-east-1a', min: 0.5, max: 1 }).ok, true);
  assert.equal(probe({ kind: 'weights', service: 'catalog', from: 'us-east-1b', zone: 'us-east-1a', minBp: 4000, maxBp: 10000 }).ok, false);
  assert.equal(probe({ kind: 'metric', component: 'c', metric: 'm', labels: {}, min: 5 }).ok, true);
  assert.equal(probe({ kind: 'metric', component: 'c', metric: 'other', labels: {} }).ok, false);
  const empty = { ...o, stats: windowStats([], 0, 1000) };
  assert.equal(evaluateProbe({ kind: 'success', min: 0 }, empty).ok, false, 'no traffic proves no steady state');
});

test('stop tracker trips only after failing continuously for its duration', () => {
  const s = stopTracker(2000);
  assert.equal(s.update(false, 0), false);
  assert.equal(s.update(false, 1500), false);
  assert.equal(s.update(true, 1600), false);
  assert.equal(s.update(false, 1700), false);
  assert.equal(s.update(false, 3700), true);
});

test('metricValue sums the samples whose labels match', () => {
  const text = '# HELP x\nmeshfed_x{kind="a",zone="z"} 2\nmeshfed_x{kind="b"} 3\nmeshfed_x_total 9\nmeshfed_x{kind="a"} 1.5\n';
  assert.equal(metricValue(text, 'meshfed_x', {}), 6.5);
  assert.equal(metricValue(text, 'meshfed_x', { kind: 'a' }), 3.5);
  assert.equal(metricValue(text, 'meshfed_x', { kind: 'c' }), undefined);
});
