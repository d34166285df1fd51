// Unit tests of the health test's evidence (served, callers, callers' outlier ejection) and of the panic rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { panicVerdict, zoneHealth, type PanicInput } from './eligibility.ts';
import type { CallerEvidence, ServiceStats } from './types.ts';

const RULES = { errorRate: 0.05, minRequests: 20 };
const CLEAN = { http5xx: 0, connectFailure: 0, timeout: 0, reset: 0 };
const live = { alive: true, drained: false };
function stats(callers?: CallerEvidence): ServiceStats {
  return { healthyEndpoints: 3, totalEndpoints: 3, capacityRps: 300, rps: 0, inFlight: 0, successes: 0, errors: CLEAN, ...(callers ? { callers } : {}) };
}
const ejected = (knowing: number, ejecting: number): CallerEvidence => ({
  requests: 2, successes: 0, errors: { ...CLEAN, http5xx: 2 }, sources: ['b1'], sidecarsKnowing: knowing, sidecarsEjectingAll: ejecting, ejectingSources: ejecting > 0 ? ['b1'] : [],
});

test('a zone its callers ejected stays out though too few requests reach it to judge an error rate', () => {
  const h = zoneHealth(live, stats(ejected(1, 1)), false, RULES);
  assert.deepEqual(h, { healthy: false, byCallers: true, reason: 'every endpoint ejected by the outlier detection of 1 of 1 caller sidecars in b1' });
  assert.equal(zoneHealth(live, stats(ejected(4, 2)), false, RULES).healthy, false, 'half of the callers is enough');
  assert.equal(zoneHealth(live, stats(ejected(5, 2)), false, RULES).healthy, true, 'a minority of callers is not');
  assert.equal(zoneHealth(live, stats(ejected(3, 0)), false, RULES).healthy, true);
  assert.equal(zoneHealth(live, stats(), false, RULES).healthy, true);
});

const zone = (over: Partial<PanicInput>): PanicInput => ({ counted: true, eligible: true, holding: false, healthyEndpoints: 3, totalEndpoints: 3, capacity: 300, ...over });

test('panic needs too few eligible endpoints AND a remnant that cannot carry the measured demand', () => {
  const lost = zone({ eligible: false, healthyEndpoints: 3, totalEndpoints: 6 });
  const few = [lost, zone({})]; // 3 of 9 endpoints eligible: 33% < 50%
  assert.equal(panicVerdict(few, 100, 0.5, 0.8).panic, false, '240 rps at target carries 100 rps: no panic');
  const v = panicVerdict(few, 500, 0.5, 0.8);
  assert.deepEqual([v.panic, Math.round(v.eligibleFraction * 100), v.eligibleOffer, v.demand], [true, 33, 240, 500]);
  assert.equal(panicVerdict(few, 0, 0.5, 0.8).panic, true, 'without measured demand the endpoint fraction decides');
  assert.equal(panicVerdict([zone({})], 10_000, 0.5, 0.8).panic, false, 'every endpoint eligible: overload is spill, not panic');
});

test('held-down zones are coming back, not lost: an undrain never causes panic', () => {
  // Right after an undrain the big zone is held down; the small one alone carries nothing like the demand.
  const undrained = [zone({ eligible: false, holding: true, totalEndpoints: 6, healthyEndpoints: 6 }), zone({ totalEndpoints: 4, healthyEndpoints: 4 })];
  assert.equal(panicVerdict(undrained, 10_000, 0.5, 0.8).panic, false);
  // Zones that do not count (drained, lease gone) are not lost capacity either, and panic needs somewhere to spread.
  assert.equal(panicVerdict([zone({ counted: false, totalEndpoints: 100 }), zone({})], 10_000, 0.5, 0.8).panic, false);
  assert.equal(panicVerdict([zone({ eligible: false, healthyEndpoints: 0 })], 10_000, 0.5, 0.8).panic, false);
});

test('a zone whose agent is lost stays in while callers see it serve, for the grace period only', async () => {
  const { STALE_GRACE_MS, admit } = await import('./eligibility.ts');
  const lost = (ms: number) => ({ alive: false, drained: false, leaseGoneForMs: ms });
  const serving: CallerEvidence = { requests: 50, successes: 50, errors: CLEAN, sources: ['b1'] };
  const failing: CallerEvidence = { requests: 50, successes: 10, errors: { ...CLEAN, connectFailure: 40 }, sources: ['b1'] };
  const kept = zoneHealth(lost(4000), stats(serving), false, RULES);
  assert.deepEqual(kept, { healthy: true, note: 'stale: agent lease gone 4s ago; kept while callers still see it serve (50 of 50 ok), for at most 60s' });
  // The note reaches the zone's reason, and the zone stays eligible at full strength.
  const a = admit({ status: 'in', since: 0, lastSeen: 0 }, kept, 5000, 2000, 0, true);
  assert.deepEqual([a.eligible, a.ramp, a.reason], [true, 1, kept.healthy ? kept.note : '']);
  assert.match(JSON.stringify(zoneHealth(lost(4000), stats(failing), false, RULES)), /error rate 80% > ejection 5% \(seen by callers in b1\)/);
  assert.deepEqual(zoneHealth(lost(STALE_GRACE_MS), stats(serving), false, RULES), { healthy: false, reason: 'agent lease gone (stale for 60s, grace 60s)' });
  assert.deepEqual(zoneHealth({ alive: false, drained: false }, stats(serving), false, RULES), { healthy: false, reason: 'agent lease gone' });
  // Its last report's served errors are not now's: a stale zone is judged by its callers only.
  const oldErrors: ServiceStats = { ...stats(serving), successes: 0, errors: { ...CLEAN, http5xx: 100 } };
  assert.equal(zoneHealth(lost(1000), oldErrors, false, RULES).healthy, true);
});
