// Outlier detection: ejection triggers, growing capped ejection time, the per-zone cap, un-ejection by time and by a passed health check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOutlierState, recordOutcome, isEjected, ejectedInZone, maxEjectedInZone, nextUnejection, withEndpoints, rejoining, unejectRecovered, DEPARTED_CAP, type OutlierConfig, type OutlierState } from './outlier.ts';
import type { Outcome } from '../types.ts';

const cfg: OutlierConfig = { consecutive5xx: 5, consecutiveConnectFailures: 3, baseEjectionTime: 1000, maxEjectionTime: 2500, maxEjectionPercent: 100 };
const eps = [
  { id: 'a1', zone: 'a' }, { id: 'a2', zone: 'a' }, { id: 'a3', zone: 'a' }, { id: 'a4', zone: 'a' },
  { id: 'b1', zone: 'b' },
];

function run(state: OutlierState, id: string, outcomes: Outcome[], now: number): OutlierState {
  for (const o of outcomes) state = recordOutcome(state, id, o, now).state;
  return state;
}

test('five consecutive 5xx eject; four do not', () => {
  let s = createOutlierState(cfg, eps);
  s = run(s, 'a1', ['5xx', '5xx', '5xx', '5xx'], 0);
  assert.equal(isEjected(s, 'a1', 0), false);
  const r = recordOutcome(s, 'a1', '5xx', 0);
  assert.equal(isEjected(r.state, 'a1', 0), true);
  assert.deepEqual(r.event, { kind: 'ejected', endpoint: 'a1', zone: 'a', until: 1000, ejections: 1 });
});

test('a success in between resets the 5xx run', () => {
  let s = createOutlierState(cfg, eps);
  s = run(s, 'a1', ['5xx', '5xx', '5xx', '5xx', 'success', '5xx', '5xx', '5xx', '5xx'], 0);
  assert.equal(isEjected(s, 'a1', 0), false);
});

test('connect failures, resets and timeouts count as one run toward their own threshold', () => {
  let s = createOutlierState(cfg, eps);
  s = run(s, 'a2', ['connect-failure', 'reset'], 0);
  assert.equal(isEjected(s, 'a2', 0), false);
  s = run(s, 'a2', ['timeout'], 0);
  assert.equal(isEjected(s, 'a2', 0), true);
});

test('a 5xx breaks a run of connect failures and the reverse', () => {
  let s = createOutlierState(cfg, eps);
  s = run(s, 'a2', ['connect-failure', 'connect-failure', '5xx', 'connect-failure', 'connect-failure'], 0);
  assert.equal(isEjected(s, 'a2', 0), false);
});

test('a zero threshold disables its trigger', () => {
  let s = createOutlierState({ ...cfg, consecutive5xx: 0 }, eps);
  s = run(s, 'a1', Array<Outcome>(50).fill('5xx'), 0);
  assert.equal(isEjected(s, 'a1', 0), false);
});

test('ejection ends when its time passes, with no event', () => {
  let s = createOutlierState(cfg, eps);
  s = run(s, 'a1', Array<Outcome>(5).fill('5xx'), 100);
  assert.equal(isEjected(s, 'a1', 1099), true);
  assert.equal(isEjected(s, 'a1', 1100), false);
  assert.equal(nextUnejection(s, 100), 1100);
  assert.equal(nextUnejection(s, 1100), undefined);
});

test('ejection time is base × times ejected, capped at the maximum', () => {
  let s = createOutlierState(cfg, eps);
  let now = 0;
  const lengths: number[] = [];
  for (let i = 0; i < 4; i++) {
    const before = s;
    s = run(s, 'a1', Array<Outcome>(5).fill('5xx'), now);
    const until = s.entries.get('a1')!.ejectedUntil;
    assert.notEqual(before, s);
    lengths.push(until - now);
    now = until; // fail again the moment it returns: no time to decay
  }
  assert.deepEqual(lengths, [1000, 2000, 2500, 2500]);
});

test('the ejection multiplier decays by one per base ejection time back in service', () => {
  let s = createOutlierState(cfg, eps);
  s = run(s, 'a1', Array<Outcome>(5).fill('5xx'), 0); // until 1000, ejections 1
  s = run(s, 'a1', Array<Outcome>(5).fill('5xx'), 1000); // until 3000, ejections 2
  assert.equal(s.entries.get('a1')!.ejections, 2);
  // healthy for 1000 ms after 3000: one ejection forgiven, so the next is number 2 again (2000 ms).
  s = run(s, 'a1', Array<Outcome>(5).fill('5xx'), 4000);
  assert.equal(s.entries.get('a1')!.ejections, 2);
  assert.equal(s.entries.get('a1')!.ejectedUntil, 6000);
});

test('failures recorded while ejected do not extend the ejection', () => {
  let s = createOutlierState(cfg, eps);
  s = run(s, 'a1', Array<Outcome>(5).fill('5xx'), 0);
  s = run(s, 'a1', Array<Outcome>(10).fill('5xx'), 500);
  assert.equal(s.entries.get('a1')!.ejectedUntil, 1000);
});

test('maxEjectionPercent caps ejections per zone, and the capped endpoint goes once room frees', () => {
  const c = { ...cfg, maxEjectionPercent: 50 };
  let s = createOutlierState(c, eps);
  assert.equal(maxEjectedInZone(c, 4), 2);
  s = run(s, 'a1', Array<Outcome>(5).fill('5xx'), 0);
  s = run(s, 'a2', Array<Outcome>(5).fill('5xx'), 0);
  const r = recordOutcome(run(s, 'a3', Array<Outcome>(4).fill('5xx'), 0), 'a3', '5xx', 0);
  assert.deepEqual(r.event, { kind: 'ejection-capped', endpoint: 'a3', zone: 'a' });
  assert.equal(ejectedInZone(r.state, 'a', 0), 2);
  // Zone b is counted on its own: its single endpoint may go (at least one per zone).
  const b = run(r.state, 'b1', Array<Outcome>(5).fill('5xx'), 0);
  assert.equal(isEjected(b, 'b1', 0), true);
  // After a1 and a2 return, a3's next failure ejects it.
  const later = recordOutcome(r.state, 'a3', '5xx', 1000);
  assert.equal(later.event?.kind, 'ejected');
});

test('at least one endpoint per zone may be ejected whatever the percentage; 0% disables ejection', () => {
  assert.equal(maxEjectedInZone({ ...cfg, maxEjectionPercent: 10 }, 3), 1);
  assert.equal(maxEjectedInZone({ ...cfg, maxEjectionPercent: 0 }, 3), 0);
  let s = createOutlierState({ ...cfg, maxEjectionPercent: 0 }, eps);
  s = run(s, 'a1', Array<Outcome>(20).fill('5xx'), 0);
  assert.equal(isEjected(s, 'a1', 0), false);
});

test('100% lets a whole zone be ejected', () => {
  let s = createOutlierState(cfg, eps);
  for (const id of ['a1', 'a2', 'a3', 'a4']) s = run(s, id, Array<Outcome>(3).fill('connect-failure'), 0);
  assert.equal(ejectedInZone(s, 'a', 0), 4);
});

test('record is pure: the input state is unchanged and a no-op success returns the same object', () => {
  const s0 = createOutlierState(cfg, eps);
  const s1 = recordOutcome(s0, 'a1', '5xx', 0).state;
  assert.equal(s0.entries.size, 0);
  assert.equal(s1.entries.get('a1')!.consecutive5xx, 1);
  assert.equal(recordOutcome(s0, 'a1', 'success', 0).state, s0);
  assert.equal(recordOutcome(s0, 'unknown', '5xx', 0).state, s0);
});

test('withEndpoints keeps history of remaining endpoints and forgets gone ones never ejected', () => {
  let s = createOutlierState(cfg, eps);
  s = run(s, 'a1', Array<Outcome>(5).fill('5xx'), 0);
  s = run(s, 'b1', ['5xx'], 0);
  const t = withEndpoints(s, [{ id: 'a1', zone: 'a' }, { id: 'c1', zone: 'c' }]);
  assert.equal(isEjected(t, 'a1', 0), true);
  assert.equal(t.entries.has('b1'), false);
  assert.equal(t.departed.has('b1'), false);
  assert.equal(t.zoneSize.get('c'), 1);
});

test('a gone endpoint that was ejected departs, counts as ejected nowhere, and takes its entry back on return', () => {
  let s = createOutlierState(cfg, eps);
  s = run(s, 'a1', Array<Outcome>(5).fill('5xx'), 0);
  const gone = withEndpoints(s, eps.filter((e) => e.id !== 'a1'));
  assert.equal(isEjected(gone, 'a1', 0), false);
  assert.equal(ejectedInZone(gone, 'a', 0), 0);
  assert.equal(nextUnejection(gone, 0), undefined);
  assert.deepEqual(gone.departed.get('a1'), { consecutive5xx: 0, consecutiveConnectFailures: 0, ejections: 1, ejectedUntil: 1000 });
  assert.deepEqual(rejoining(gone, eps), ['a1']);
  const back = withEndpoints(gone, eps);
  assert.equal(isEjected(back, 'a1', 0), true, 'returning alone does not end the ejection: unejectRecovered does');
  assert.equal(back.departed.size, 0);
});

test('departed entries are bounded, the oldest going first', () => {
  let s = createOutlierState(cfg, []);
  const many = Array.from({ length: DEPARTED_CAP + 5 }, (_, i) => ({ id: `x${i}`, zone: 'x' }));
  s = withEndpoints(s, many);
  for (const e of many) s = run(s, e.id, Array<Outcome>(3).fill('connect-failure'), 0);
  s = withEndpoints(s, []);
  assert.equal(s.departed.size, DEPARTED_CAP);
  assert.equal(s.departed.has('x0'), false);
  assert.equal(s.departed.has(`x${DEPARTED_CAP + 4}`), true);
});

test('a recovered endpoint is un-ejected at once, keeps its multiplier, and needs a full run of failures to go again', () => {
  let s = createOutlierState(cfg, eps);
  s = run(s, 'a1', Array<Outcome>(5).fill('5xx'), 0); // until 1000
  s = run(s, 'a1', Array<Outcome>(5).fill('5xx'), 1000); // until 3000, ejections 2
  const r = unejectRecovered(s, ['a1'], 1500);
  assert.deepEqual(r.unejected, [{ endpoint: 'a1', zone: 'a', reason: 'health_check' }]);
  assert.equal(isEjected(r.state, 'a1', 1500), false);
  assert.deepEqual(r.state.entries.get('a1'), { consecutive5xx: 0, consecutiveConnectFailures: 0, ejections: 2, ejectedUntil: 1500 });
  assert.equal(isEjected(s, 'a1', 1500), true, 'the input state is unchanged');
  // Four failures do not eject it again; the fifth does, for base × 3 (the multiplier was kept: no time to decay).
  let t = run(r.state, 'a1', Array<Outcome>(4).fill('5xx'), 1600);
  assert.equal(isEjected(t, 'a1', 1600), false);
  t = run(t, 'a1', ['5xx'], 1600);
  assert.equal(t.entries.get('a1')!.ejectedUntil, 1600 + 2500);
  // The decay counts from the return: one base ejection time after it, one ejection is forgiven.
  const later = run(r.state, 'a1', Array<Outcome>(5).fill('5xx'), 2500);
  assert.equal(later.entries.get('a1')!.ejections, 2);
});

test('unejectRecovered ignores endpoints that are not ejected, unknown or unlisted, and changes nothing then', () => {
  let s = createOutlierState(cfg, eps);
  s = run(s, 'a1', Array<Outcome>(5).fill('5xx'), 0);
  const none = unejectRecovered(s, ['a2', 'nope'], 10);
  assert.equal(none.state, s);
  assert.deepEqual(none.unejected, []);
  // Expired ejection: nothing to end, and no event.
  const expired = unejectRecovered(s, ['a1'], 5000);
  assert.equal(expired.state, s);
  assert.deepEqual(expired.unejected, []);
  // A recovered endpoint's stale failure counters restart, with no event.
  const counting = run(s, 'a2', ['5xx', '5xx'], 0);
  const fresh = unejectRecovered(counting, ['a2'], 10);
  assert.equal(fresh.state.entries.get('a2')!.consecutive5xx, 0);
  assert.deepEqual(fresh.unejected, []);
});

test('the whole flow: an ejected zone goes unhealthy, comes back healthy, and is un-ejected before its ejection would end', () => {
  const zoneA = eps.filter((e) => e.zone === 'a');
  let s = createOutlierState(cfg, eps);
  for (const e of zoneA) s = run(s, e.id, Array<Outcome>(3).fill('connect-failure'), 0);
  assert.equal(ejectedInZone(s, 'a', 100), 4);
  // The agent's health check takes zone a out (the relay drops unhealthy endpoints) ...
  const out = withEndpoints(s, eps.filter((e) => e.zone !== 'a'));
  // ... and puts it back when its endpoints pass again, well before the 1000 ms ejections end.
  const returning = rejoining(out, eps);
  assert.deepEqual(returning, ['a1', 'a2', 'a3', 'a4']);
  const r = unejectRecovered(withEndpoints(out, eps), returning, 400);
  assert.equal(ejectedInZone(r.state, 'a', 400), 0);
  assert.equal(r.unejected.length, 4);
});
