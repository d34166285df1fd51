// Table tests of the engine's inputs: served vs caller health, asked demand, latency, load, egress cost, the cross-cloud cap and residency.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withEgressCostDefaults, type Policy } from '../../api/policy.ts';
import { computeWeights, explain, type FederationSnapshot, type ServiceTable, type SourceRow } from './index.ts';
import * as reference from './engine-reference.ts';
import { policy, stats, SVC, zone } from './testing.ts';

/** Computes with the engine and checks the oracle agrees on every row and reason. */
function run(snap: FederationSnapshot, pols: Map<string, Policy> = new Map()): ServiceTable {
  const fast = computeWeights(snap, pols, undefined, 0);
  const slow = reference.computeWeights(snap, pols, undefined, 0);
  const t = fast.tables.get(SVC)!;
  assert.deepEqual(JSON.parse(JSON.stringify(t.rows)), JSON.parse(JSON.stringify(slow.tables.get(SVC)!.rows)), 'engine and oracle agree');
  return t;
}

function rowOf(t: ServiceTable, source: string): SourceRow {
  const r = t.rows.find((x) => x.sourceZone === source);
  assert.ok(r, `no row for ${source}`);
  return r;
}

function bp(t: ServiceTable, source: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of rowOf(t, source).targets) if (x.basisPoints > 0) out[x.zone] = x.basisPoints;
  return out;
}

function reason(t: ServiceTable, source: string, target: string): string {
  const x = rowOf(t, source).targets.find((y) => y.zone === target);
  assert.ok(x, `${target} not listed from ${source}`);
  return x.reason;
}

test('a zone is out on its served error rate, naming the endpoints as the witness', () => {
  const t = run({ zones: [zone('aws/r1/a', stats({ successes: 59, errors: { http5xx: 41, connectFailure: 0, timeout: 0, reset: 0 } })), zone('aws/r1/b', stats())] });
  assert.equal(reason(t, 'b', 'a'), 'out — error rate 41% > ejection 5% (served by its endpoints)');
});

test("callers' evidence (connect failures, resets its endpoints never see) takes a zone out, naming the callers", () => {
  const callers = { requests: 100, successes: 59, errors: { http5xx: 0, connectFailure: 30, timeout: 0, reset: 11 }, sources: ['us-east-1b', 'europe-west1-b'] };
  const t = run({ zones: [zone('aws/r1/a', stats({ callers })), zone('aws/r1/b', stats())] });
  assert.equal(reason(t, 'b', 'a'), 'out — error rate 41% > ejection 5% (seen by callers in us-east-1b, europe-west1-b)');
  // Below minRequests the callers' word is not judged.
  const few = { ...callers, requests: 10, successes: 5, errors: { http5xx: 0, connectFailure: 5, timeout: 0, reset: 0 } };
  const t2 = run({ zones: [zone('aws/r1/a', stats({ callers: few })), zone('aws/r1/b', stats())] });
  assert.ok(!reason(t2, 'b', 'a').startsWith('out'));
});

test('a source that hosts no copy spills by capacity from its asked demand', () => {
  // x asks 150 rps; a (same region) offers 80 at 80% of 100; the other 70 spill to c (same cloud).
  const snap = { zones: [zone('aws/r1/x', undefined, { demand: 150 }), zone('aws/r1/a', stats()), zone('aws/r2/c', stats({ capacityRps: 1000 }))] };
  const t = run(snap);
  assert.deepEqual(bp(t, 'x'), { a: 5333, c: 4667 });
  assert.match(reason(t, 'x', 'c'), /spillover, tier 1 at 80% utilisation/);
  // Served rps is other zones' demand, never the source's own: a zone that only serves asks nothing.
  assert.match(reason(t, 'a', 'a'), /no demand measured from this zone/);
  assert.doesNotMatch(reason(t, 'x', 'a'), /no demand measured/);
});

test('what a zone serves is not its demand: a busy zone without asked demand does not spill', () => {
  const t = run({ zones: [zone('aws/r1/a', stats({ rps: 500, capacityRps: 1000 })), zone('aws/r2/b', stats())] });
  assert.deepEqual(bp(t, 'a'), { a: 10000 });
});

test('a zone answering 300 ms slower than a same-tier alternative loses at least half its share (default policy)', () => {
  const snap = (p50b: number) => ({ zones: [zone('aws/r1/x', undefined), zone('aws/r1/a', stats({ latencyP50Ms: 20, latencyP99Ms: 40 })), zone('aws/r1/b', stats({ latencyP50Ms: p50b, latencyP99Ms: p50b + 20 }))] });
  const even = bp(run(snap(20)), 'x');
  assert.deepEqual(even, { a: 5000, b: 5000 });
  const t = run(snap(320));
  const slow = bp(t, 'x').b ?? 0;
  assert.ok(slow <= even.b! / 2, `b kept ${slow} bp of ${even.b}`);
  assert.equal(reason(t, 'x', 'b'), 'tier 1 (same region): nearest eligible tier; no demand measured from this zone; latency discount to 13% (effective 325 ms: rtt 0 + p50 320 + (p99 340 − 320)/4), vs 25 ms in a');
});

test('a slow p99 tail counts a quarter, and rtt adds to served latency', () => {
  const snap = { zones: [zone('aws/r1/x', undefined, { rttMs: new Map([['a', 10], ['b', 10]]) }), zone('aws/r1/a', stats({ latencyP50Ms: 30, latencyP99Ms: 38 })), zone('aws/r1/b', stats({ latencyP50Ms: 30, latencyP99Ms: 2410 }))] };
  const t = run(snap);
  const row = bp(t, 'x');
  assert.ok(row.a! > 4 * row.b!, JSON.stringify(row));
  assert.match(reason(t, 'x', 'b'), /effective 635 ms: rtt 10 \+ p50 30 \+ \(p99 2410 − 30\)\/4\), vs 42 ms in a/);
});

test('a zone above the target utilisation (served rps or in-flight by Little\'s law) gets less', () => {
  // b serves 160 rps of 100: 160% utilised, share ×50%.
  let t = run({ zones: [zone('aws/r1/x', undefined), zone('aws/r1/a', stats()), zone('aws/r1/b', stats({ rps: 160 }))] });
  assert.deepEqual(bp(t, 'x'), { a: 6667, b: 3333 });
  assert.match(reason(t, 'x', 'b'), /hot: 160% utilised \(> target 80%\), share ×50%/);
  // 8 in flight at a 50 ms median imply 160 rps.
  t = run({ zones: [zone('aws/r1/x', undefined), zone('aws/r1/a', stats()), zone('aws/r1/b', stats({ inFlight: 8, latencyP50Ms: 50 }))] });
  assert.match(reason(t, 'x', 'b'), /hot: 160% utilised/);
});

test('inside a tier the cheaper target wins at equal health and latency; a policy overrides the cost', () => {
  const snap = { zones: [zone('aws/r1/x', undefined), zone('aws/r1/a', stats()), zone('gcp/r9/g', stats())] };
  const oneTier = { failover: { priority: [] } };
  let t = run(snap, policy(oneTier));
  // a: same region, cost 1 → ×10/11; g: another cloud, cost 10 → ×1/2.
  assert.deepEqual(bp(t, 'x'), { a: 6452, g: 3548 });
  assert.match(reason(t, 'x', 'g'), /egress cost 10 \(crossCloud\), share ×50%/);
  t = run(snap, policy({ ...oneTier, cost: { crossCloud: 1 } }));
  assert.deepEqual(bp(t, 'x'), { a: 5000, g: 5000 });
  t = run(snap, policy({ ...oneTier, cost: { halfWeightAt: 0 } }));
  assert.deepEqual(bp(t, 'x'), { a: 5000, g: 5000 });
  // The topology's costs fill pairs the policy leaves out.
  const p = withEgressCostDefaults(policy(oneTier).get(SVC)!, { crossCloud: 30 });
  t = run(snap, new Map([[SVC, p]]));
  assert.ok(bp(t, 'x').g! < 3548);
});

test('the cross-cloud cap keeps a source in its cloud up to maxShare, except in panic', () => {
  // x asks 500; aws offers 80 (a); the rest would go to gcp (g, big). With maxShare 20 at most 2000 bp leave aws.
  const snap = { zones: [zone('aws/r1/x', undefined, { demand: 500 }), zone('aws/r1/a', stats()), zone('gcp/r9/g', stats({ capacityRps: 10_000 }))] };
  let t = run(snap);
  assert.deepEqual(bp(t, 'x'), { a: 1600, g: 8400 });
  t = run(snap, policy({ crossCloud: { maxShare: 20 } }));
  assert.deepEqual(bp(t, 'x'), { a: 8000, g: 2000 });
  assert.match(reason(t, 'x', 'g'), /cross-cloud share capped at 20% \(crossCloud\.maxShare\)/);
  assert.match(reason(t, 'x', 'a'), /takes what the cross-cloud cap \(20%\) keeps in the source's cloud/);
  // With no eligible zone in its cloud the cap yields (traffic must go somewhere).
  const noAws = { zones: [zone('aws/r1/x', undefined, { demand: 500 }), zone('aws/r1/a', stats(), { drained: true }), zone('gcp/r9/g', stats({ capacityRps: 10_000 }))] };
  assert.deepEqual(bp(run(noAws, policy({ crossCloud: { maxShare: 20 }, panicThreshold: 0 })), 'x'), { g: 10000 });
  // In panic the cap does not apply.
  const panic = { zones: [zone('aws/r1/x', undefined, { demand: 500 }), zone('aws/r1/a', stats({ capacityRps: 100 })), zone('gcp/r9/g', stats({ capacityRps: 400 })), zone('gcp/r9/h', stats({ healthyEndpoints: 0, totalEndpoints: 20 }))] };
  const pt = run(panic, policy({ crossCloud: { maxShare: 20 } }));
  assert.ok(rowOf(pt, 'x').panic);
  assert.deepEqual(bp(pt, 'x'), { a: 2000, g: 8000 });
});

const RESIDENT = { residency: [{ from: 'gcp/europe-west1/*', allow: ['gcp/europe-west1/*'] }] };

function euFederation(over: { drainEu?: boolean; sickUs?: boolean } = {}): FederationSnapshot {
  return {
    zones: [
      zone('gcp/europe-west1/europe-west1-b', stats(), { demand: over.sickUs ? 2000 : 50, drained: over.drainEu === true }),
      zone('gcp/europe-west1/europe-west1-c', stats({ healthyEndpoints: over.drainEu ? 0 : 3 })),
      zone('aws/us-east-1/us-east-1a', stats({ capacityRps: 1000 })),
      zone('aws/us-east-1/us-east-1b', stats({ capacityRps: 1000, healthyEndpoints: over.sickUs ? 0 : 3, totalEndpoints: over.sickUs ? 30 : 3 })),
    ],
  };
}

test('residency: a restricted row lists only allowed zones and is exclusive; other rows are not', () => {
  const t = run(euFederation(), policy(RESIDENT));
  const eu = rowOf(t, 'europe-west1-b');
  assert.equal(eu.exclusive, true);
  assert.deepEqual(eu.targets.map((x) => x.zone), ['europe-west1-b', 'europe-west1-c']);
  const us = rowOf(t, 'us-east-1a');
  assert.equal(us.exclusive, undefined);
  assert.equal(us.targets.length, 4);
});

test('residency holds in panic and under distribute, and says why nothing can serve', () => {
  // Panic: most endpoints are in a sick us-east-1b and the rest cannot carry the demand; the EU source still spreads over EU zones only.
  const panic = run(euFederation({ sickUs: true }), policy(RESIDENT));
  const eu = rowOf(panic, 'europe-west1-b');
  assert.ok(eu.panic);
  assert.deepEqual(Object.keys(bp(panic, 'europe-west1-b')).sort(), ['europe-west1-b', 'europe-west1-c']);
  // distribute sends everything to AWS, but residency wins: the share fails over inside the allowed zones.
  const dist = run(euFederation(), policy({ ...RESIDENT, distribute: [{ from: 'gcp/*', to: { 'aws/*': 100 } }] }));
  assert.deepEqual(bp(dist, 'europe-west1-b'), { 'europe-west1-b': 10000 });
  assert.match(reason(dist, 'europe-west1-b', 'europe-west1-b'), /takes by failover order the share of aws\/\* \(100%\), which has no eligible zone/);
  // No allowed zone can serve: every target 0 bp, and the reason names the restriction and each zone.
  const none = run(euFederation({ drainEu: true }), policy({ ...RESIDENT, panicThreshold: 0 }));
  const row = rowOf(none, 'europe-west1-b');
  assert.ok(row.targets.every((x) => x.basisPoints === 0));
  assert.equal(row.unavailableReason, 'no allowed zone can serve: residency (from gcp/europe-west1/*) allows gcp/europe-west1/* only; europe-west1-b drained by operator; europe-west1-c no healthy endpoint (0 of 3)');
});

test('a row lists the eligible zones of the next two unused tiers as standby, so the data plane can fail over alone', () => {
  const snap = { zones: [zone('aws/r1/a', stats()), zone('aws/r1/b', stats()), zone('aws/r2/c', stats()), zone('gcp/r9/g', stats()), zone('gcp/r9/h', stats(), { drained: true })] };
  let t = run(snap);
  // a uses tier 0; tiers 1 (b) and 2 (c) are standby; tier 3 (g) is listed once a nearer tier is lost; h is out.
  assert.deepEqual(rowOf(t, 'a').targets.map((x) => [x.zone, x.basisPoints, x.tier]), [['a', 10000, 0], ['b', 0, 1], ['c', 0, 2], ['h', 0, 3]]);
  assert.match(reason(t, 'a', 'c'), /^standby: tier 2 \(same cloud\)/);
  snap.zones[1] = zone('aws/r1/b', stats(), { drained: true });
  t = run(snap);
  assert.deepEqual(rowOf(t, 'a').targets.map((x) => [x.zone, x.basisPoints, x.tier]), [['a', 10000, 0], ['b', 0, 1], ['c', 0, 2], ['g', 0, 3], ['h', 0, 3]]);
});

test('explain prints a reason line for every input (the lines docs/weights.md shows)', () => {
  const callers = { requests: 200, successes: 118, errors: { http5xx: 0, connectFailure: 60, timeout: 0, reset: 22 }, sources: ['us-east-1b', 'europe-west1-b'] };
  const snap = {
    zones: [
      zone('aws/us-east-1/us-east-1a', stats({ capacityRps: 300, latencyP50Ms: 30, latencyP99Ms: 38 }), { demand: 1000, rttMs: new Map([['us-east-1b', 1], ['us-east-1c', 1], ['europe-west1-b', 90]]) }),
      zone('aws/us-east-1/us-east-1b', stats({ capacityRps: 300, latencyP50Ms: 30, latencyP99Ms: 38 })),
      zone('aws/us-east-1/us-east-1c', stats({ capacityRps: 300, latencyP50Ms: 40, latencyP99Ms: 2410, rps: 330 })),
      zone('aws/us-east-1/us-east-1d', stats({ callers })),
      zone('gcp/europe-west1/europe-west1-b', stats({ capacityRps: 2000 }), { demand: 20 }),
      zone('gcp/europe-west1/europe-west1-c', stats(), { drained: true }),
    ],
  };
  const t = run(snap, policy({ crossCloud: { maxShare: 20 }, residency: [{ from: 'gcp/europe-west1/*', allow: ['gcp/europe-west1/*'] }] }));
  const text = explain(t).join('\n');
  if (process.env.SHOW_EXPLAIN) console.log(text);
  assert.match(text, /seen by callers in us-east-1b, europe-west1-b/);
  assert.match(text, /vs 33 ms in us-east-1b/);
  assert.match(text, /hot: 110% utilised/);
  assert.match(text, /egress cost 10 \(crossCloud\)/);
  assert.match(text, /cross-cloud share capped at 20%/);
  assert.match(text, /from europe-west1-b \[EXCLUSIVE\]:\n  exclusive: residency: may use only europe-west1-b, europe-west1-c/);
});
