// Table tests of the weight engine: each step of DESIGN.md "The weight engine" on small hand-built federations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validatePolicy, type Policy } from '../../api/policy.ts';
import { computeServiceWeights, computeWeights, explain, type EngineState, type FederationSnapshot, type ServiceTable } from './index.ts';
import { policy, stats, SVC, zone } from './testing.ts';

function row(table: ServiceTable | undefined, source: string): Record<string, number> {
  const r = table?.rows.find((x) => x.sourceZone === source);
  assert.ok(r, `no row for ${source}`);
  const out: Record<string, number> = {};
  for (const t of r.targets) if (t.basisPoints > 0) out[t.zone] = t.basisPoints;
  return out;
}

function reasonOf(table: ServiceTable | undefined, source: string, target: string): string {
  const t = table?.rows.find((x) => x.sourceZone === source)?.targets.find((x) => x.zone === target);
  assert.ok(t, `no target ${target} in row ${source}`);
  return t.reason;
}

/** Runs rounds one second apart, threading the state; returns the last result. */
function rounds(snap: (i: number) => FederationSnapshot, n: number, policies = new Map<string, Policy>(), start = 0, state?: EngineState) {
  let r = computeWeights(snap(0), policies, state, start);
  for (let i = 1; i < n; i++) r = computeWeights(snap(i), policies, r.state, start + i * 1000);
  return r;
}

test('without a policy the local zone takes everything while it has room', () => {
  const snap = { zones: [zone('aws/us-east-1/a1', stats(), { demand: 50 }), zone('aws/us-east-1/b1', stats(), { demand: 10 }), zone('gcp/eu-west1/c1', stats(), { demand: 10 })] };
  const t = computeWeights(snap, new Map(), undefined, 0).tables.get(SVC);
  assert.deepEqual(row(t, 'a1'), { a1: 10000 });
  assert.deepEqual(row(t, 'c1'), { c1: 10000 });
  assert.match(reasonOf(t, 'a1', 'a1'), /tier 0 \(same zone\)/);
  // The next tier is listed at 0 bp so the data plane knows where to spill.
  const b1 = t!.rows.find((r) => r.sourceZone === 'a1')!.targets.find((x) => x.zone === 'b1')!;
  assert.equal(b1.basisPoints, 0);
  assert.equal(b1.tier, 1);
  assert.match(b1.reason, /standby/);
});

test('a source with no service of its own goes to the same region before the same cloud before anywhere', () => {
  const snap = {
    zones: [zone('aws/us-east-1/a1', undefined), zone('aws/us-east-1/b1', stats()), zone('aws/us-west-2/w1', stats()), zone('gcp/eu-west1/c1', stats())],
  };
  let t = computeWeights(snap, new Map(), undefined, 0).tables.get(SVC);
  assert.deepEqual(row(t, 'a1'), { b1: 10000 });
  snap.zones[1] = zone('aws/us-east-1/b1', stats({ healthyEndpoints: 0 }));
  t = computeWeights(snap, new Map(), undefined, 0).tables.get(SVC);
  assert.deepEqual(row(t, 'a1'), { w1: 10000 });
  snap.zones[2] = zone('aws/us-west-2/w1', stats(), { drained: true });
  t = computeWeights(snap, policy({ panicThreshold: 0 }), undefined, 0).tables.get(SVC);
  assert.deepEqual(row(t, 'a1'), { c1: 10000 });
  assert.match(reasonOf(t, 'a1', 'w1'), /out — drained by operator/);
  assert.match(reasonOf(t, 'a1', 'b1'), /out — no healthy endpoint \(0 of 3\)/);
});

test('demand beyond the target utilisation spills to the next tier', () => {
  const snap = { zones: [zone('aws/r1/a', stats(), { demand: 120 }), zone('aws/r1/b', stats(), { demand: 10 }), zone('aws/r2/c', stats({ capacityRps: 1000 }))] };
  const t = computeWeights(snap, new Map(), undefined, 0).tables.get(SVC);
  // a offers 80 rps at 80%; the other 40 go to b (same region), none to c.
  assert.deepEqual(row(t, 'a'), { a: 6667, b: 3333 });
  assert.match(reasonOf(t, 'a', 'b'), /spillover, tier 0 at 80% utilisation/);
  // b's own demand was placed first in tier 0 of b, so it stays local.
  assert.deepEqual(row(t, 'b'), { b: 10000 });
  // A lower target utilisation spills more.
  const t2 = computeWeights(snap, policy({ targetUtilization: 0.5 }), undefined, 0).tables.get(SVC);
  assert.deepEqual(row(t2, 'a'), { a: 4167, b: 3333, c: 2500 });
});

test('demand beyond every tier overflows by capacity instead of failing', () => {
  const snap = { zones: [zone('aws/r1/a', stats(), { demand: 1000 }), zone('aws/r1/b', stats({ capacityRps: 300 }))] };
  const t = computeWeights(snap, new Map(), undefined, 0).tables.get(SVC);
  const r = row(t, 'a');
  assert.equal(r['a']! + r['b']!, 10000);
  assert.ok(r['b']! > r['a']!, 'the larger zone takes more of the overflow');
});

test('inside a tier, shares follow spare capacity discounted by latency', () => {
  const src = zone('aws/r1/s', undefined, { rttMs: new Map([['near', 0], ['far', 50]]) });
  const snap = { zones: [src, zone('aws/r1/near', stats()), zone('aws/r1/far', stats())] };
  const t = computeWeights(snap, new Map(), undefined, 0).tables.get(SVC);
  // halfWeightAt 50ms: the zone 50 ms away gets half the weight of the one next door.
  const r = row(t, 's');
  assert.ok(Math.abs(r['near']! - 2 * r['far']!) <= 3, JSON.stringify(r));
  assert.match(reasonOf(t, 's', 'far'), /latency discount to 50%/);
  const t2 = computeWeights(snap, policy({ latency: { halfWeightAt: '0ms' } }), undefined, 0).tables.get(SVC);
  assert.deepEqual(row(t2, 's'), { near: 5000, far: 5000 });
});

test('a zone over the ejection threshold is out at once; below minRequests it is not judged', () => {
  const bad = stats({ successes: 59, errors: { http5xx: 20, connectFailure: 10, timeout: 5, reset: 6 } });
  const snap = { zones: [zone('aws/r1/a', bad), zone('aws/r1/b', stats())] };
  const res = computeWeights(snap, new Map(), undefined, 0);
  const t = res.tables.get(SVC);
  assert.deepEqual(row(t, 'a'), { b: 10000 });
  assert.equal(reasonOf(t, 'a', 'a'), 'out — error rate 41% > ejection 5% (served by its endpoints)');
  assert.deepEqual(res.verdicts.find((v) => v.zone === 'a'), { zone: 'a', service: SVC, eligible: false, reason: 'out — error rate 41% > ejection 5% (served by its endpoints)' });
  const few = stats({ successes: 5, errors: { http5xx: 10, connectFailure: 0, timeout: 0, reset: 0 } });
  const t2 = computeWeights({ zones: [zone('aws/r1/a', few), zone('aws/r1/b', stats())] }, new Map(), undefined, 0).tables.get(SVC);
  assert.deepEqual(row(t2, 'a'), { a: 10000 });
});

test('a dead zone drops to 0 in the same round, even from a damped state', () => {
  const live = { zones: [zone('aws/r1/a', stats(), { demand: 160 }), zone('aws/r1/b', stats(), { demand: 10 }), zone('aws/r1/c', stats(), { demand: 10 })] };
  const before = rounds(() => live, 5);
  assert.ok(row(before.tables.get(SVC), 'a')['b']! > 0);
  const dead = { zones: [live.zones[0]!, zone('aws/r1/b', stats(), { demand: 10, alive: false }), live.zones[2]!] };
  const after = computeWeights(dead, new Map(), before.state, 5000);
  const r = row(after.tables.get(SVC), 'a');
  assert.equal(r['b'], undefined);
  assert.equal(Object.values(r).reduce((s, x) => s + x, 0), 10000);
  assert.match(reasonOf(after.tables.get(SVC), 'a', 'b'), /out — agent lease gone/);
  // A zone that vanishes from the snapshot entirely (its report aged out) is shown as out too.
  const vanished = computeWeights({ zones: [live.zones[0]!, live.zones[2]!] }, new Map(), before.state, 5000);
  assert.equal(row(vanished.tables.get(SVC), 'a')['b'], undefined);
  assert.match(reasonOf(vanished.tables.get(SVC), 'a', 'b'), /no report \(agent lease gone\)/);
});

test('failback waits for the hold-down, then ramps up by slow start and bounded steps', () => {
  const pol = policy({ holdDown: '10s', slowStart: '30s', maxStep: 1000 });
  const healthy = { zones: [zone('aws/r1/a', undefined), zone('aws/r1/b', stats()), zone('aws/r1/c', stats())] };
  const sick = { zones: [healthy.zones[0]!, zone('aws/r1/b', stats({ successes: 10, errors: { http5xx: 90, connectFailure: 0, timeout: 0, reset: 0 } })), healthy.zones[2]!] };
  let r = rounds(() => healthy, 3, pol);
  assert.deepEqual(row(r.tables.get(SVC), 'a'), { b: 5000, c: 5000 });
  r = computeWeights(sick, pol, r.state, 3000);
  assert.deepEqual(row(r.tables.get(SVC), 'a'), { c: 10000 }, 'out at once');
  const seen: number[] = [];
  for (let s = 4; s <= 60; s++) {
    r = computeWeights(healthy, pol, r.state, s * 1000);
    const b = row(r.tables.get(SVC), 'a')['b'] ?? 0;
    if (s < 14) {
      assert.equal(b, 0, `held down at ${s}s`);
      assert.match(reasonOf(r.tables.get(SVC), 'a', 'b'), /held down — healthy for \d+m?s of 10s \(was out: error rate 90%/);
    }
    if (seen.length > 0) assert.ok(Math.abs(b - seen[seen.length - 1]!) <= 1000, `step at ${s}s`);
    seen.push(b);
  }
  assert.ok(seen[10]! > 0 && seen[10]! < 5000, `ramp started small: ${seen[10]}`);
  assert.match(reasonOf(computeWeights(healthy, pol, r.state, 60_000).tables.get(SVC), 'a', 'b'), /tier 1/);
  assert.equal(seen[seen.length - 1], 5000, 'back to an even split after slow start');
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! >= seen[i - 1]!, 'failback never goes backwards');
});

test('slow start reason names the ramp', () => {
  const pol = policy({ holdDown: '0s', slowStart: '30s' });
  const healthy = { zones: [zone('aws/r1/a', undefined), zone('aws/r1/b', stats()), zone('aws/r1/c', stats())] };
  let r = computeWeights(healthy, pol, undefined, 0);
  r = computeWeights({ zones: [healthy.zones[0]!, zone('aws/r1/b', stats({ healthyEndpoints: 0 })), healthy.zones[2]!] }, pol, r.state, 1000);
  r = computeWeights(healthy, pol, r.state, 2000);
  r = computeWeights(healthy, pol, r.state, 14_000);
  assert.match(reasonOf(r.tables.get(SVC), 'a', 'b'), /slow start 40% \(12s of 30s\)/);
});

test('distribute is honoured and a failed target fails over by priority', () => {
  const pol = policy({ distribute: [{ from: 'aws/*', to: { a: 80, 'gcp/eu/*': 20 } }] });
  const z = (bHealthy: number) => ({
    zones: [zone('aws/us/a', stats()), zone('aws/us/b', stats({ healthyEndpoints: bHealthy })), zone('gcp/eu/e1', stats({ healthyEndpoints: 1 })), zone('gcp/eu/e2', stats())],
  });
  let t = computeWeights(z(3), pol, undefined, 0).tables.get(SVC);
  const r = row(t, 'b');
  assert.equal(r['a'], 8000);
  assert.equal((r['e1'] ?? 0) + (r['e2'] ?? 0), 2000);
  assert.match(reasonOf(t, 'b', 'a'), /distribute from aws\/\*: 80% to a/);
  // Sources not matched by the rule use the normal fill.
  assert.deepEqual(row(t, 'e2'), { e2: 10000 });
  // a goes out: its 80% goes by failover order (same region first: b), not to gcp.
  const down = { zones: [zone('aws/us/a', stats({ healthyEndpoints: 0 })), ...z(3).zones.slice(1)] };
  t = computeWeights(down, policy({ distribute: [{ from: 'aws/*', to: { a: 80, 'gcp/eu/*': 20 } }], panicThreshold: 0 }), undefined, 0).tables.get(SVC);
  const r2 = row(t, 'b');
  assert.equal(r2['b'], 8000);
  assert.equal((r2['e1'] ?? 0) + (r2['e2'] ?? 0), 2000);
  assert.match(reasonOf(t, 'b', 'b'), /failover order the share of a \(80%\)/);
});

test('an explicit zone order replaces locality tiers', () => {
  const pol = policy({ failover: { zones: ['primary', ['s1', 's2']] } });
  const snap = { zones: [zone('aws/r1/primary', stats()), zone('aws/r1/s1', stats()), zone('gcp/r9/s2', stats()), zone('aws/r1/other', stats())] };
  let t = computeWeights(snap, pol, undefined, 0).tables.get(SVC);
  assert.deepEqual(row(t, 'other'), { primary: 10000 });
  assert.deepEqual(row(t, 's2'), { primary: 10000 });
  snap.zones[0] = zone('aws/r1/primary', stats(), { drained: true });
  t = computeWeights(snap, new Map([[SVC, validatePolicy({ namespace: 'default', name: 'reviews', failover: { zones: ['primary', ['s1', 's2']] }, panicThreshold: 0 }, 't')]]), undefined, 0).tables.get(SVC);
  // Same tier: s1 (same region, egress cost 1) is cheaper than s2 (another cloud, cost 10), so it gets more.
  assert.deepEqual(row(t, 'other'), { s1: 6452, s2: 3548 });
  assert.match(reasonOf(t, 'other', 's1'), /tier 1 \(explicit order\)/);
});

test('priority [region, cloud] treats the whole region as the first tier', () => {
  const snap = { zones: [zone('aws/r1/a', stats()), zone('aws/r1/b', stats()), zone('aws/r2/c', stats())] };
  const t = computeWeights(snap, policy({ failover: { priority: ['region', 'cloud'] } }), undefined, 0).tables.get(SVC);
  // One tier; a itself has no egress cost, b (same region) costs 1: 10/11 of a's share.
  assert.deepEqual(row(t, 'a'), { a: 5238, b: 4762 });
  assert.match(reasonOf(t, 'a', 'b'), /tier 0 \(same region\)/);
});

test('panic spreads over every zone with a healthy endpoint when too few are eligible', () => {
  const bad = stats({ successes: 50, errors: { http5xx: 50, connectFailure: 0, timeout: 0, reset: 0 } });
  const snap = { zones: [zone('aws/r1/a', bad), zone('aws/r1/b', bad), zone('aws/r1/c', stats({ capacityRps: 200 }))] };
  const t = computeWeights(snap, new Map(), undefined, 0).tables.get(SVC);
  const r = t!.rows.find((x) => x.sourceZone === 'a')!;
  assert.equal(r.panic, true);
  assert.deepEqual(row(t, 'a'), { a: 2500, b: 2500, c: 5000 });
  assert.match(reasonOf(t, 'a', 'a'), /panic: only 33% of endpoints eligible \(< 50%\)/);
  // A drained zone is never used, even in panic.
  const drained = { zones: [zone('aws/r1/a', bad, { drained: true }), snap.zones[1]!, snap.zones[2]!] };
  assert.equal(row(computeWeights(drained, new Map(), undefined, 0).tables.get(SVC), 'a')['a'], undefined);
  // With panic disabled the healthy zone takes everything.
  assert.deepEqual(row(computeWeights(snap, policy({ panicThreshold: 0 }), undefined, 0).tables.get(SVC), 'a'), { c: 10000 });
});

test('drainedZones in a policy take a zone out for that service only', () => {
  const snap = { zones: [zone('aws/r1/a', stats()), zone('aws/r1/b', stats())] };
  const t = computeWeights(snap, policy({ drainedZones: ['a'], panicThreshold: 0 }), undefined, 0).tables.get(SVC);
  assert.deepEqual(row(t, 'a'), { b: 10000 });
  assert.match(reasonOf(t, 'a', 'a'), /drained by policy/);
});

test('damping moves at most maxStep per round toward a new target, then holds still', () => {
  const pol = policy({ maxStep: 500 });
  const low = { zones: [zone('aws/r1/a', stats(), { demand: 10 }), zone('aws/r1/b', stats())] };
  const high = { zones: [zone('aws/r1/a', stats(), { demand: 100 }), zone('aws/r1/b', stats())] };
  let r = rounds(() => low, 2, pol);
  assert.deepEqual(row(r.tables.get(SVC), 'a'), { a: 10000 });
  r = computeWeights(high, pol, r.state, 10_000);
  assert.deepEqual(row(r.tables.get(SVC), 'a'), { a: 9500, b: 500 });
  assert.match(reasonOf(r.tables.get(SVC), 'a', 'b'), /damped: moving to \d+ bp by at most 500\/round/);
  const versions: string[] = [];
  for (let i = 1; i < 20; i++) {
    r = computeWeights(high, pol, r.state, 10_000 + i * 1000);
    versions.push(r.tables.get(SVC)!.version);
  }
  assert.deepEqual(row(r.tables.get(SVC), 'a'), { a: 8000, b: 2000 });
  assert.equal(new Set(versions.slice(-5)).size, 1, 'converged tables keep their version');
});

test('same input gives the same output, whatever the zone order', () => {
  const zs = [zone('aws/r1/a', stats(), { demand: 150 }), zone('aws/r1/b', stats(), { demand: 20 }), zone('gcp/r2/c', stats(), { demand: 5 })];
  const one = computeWeights({ zones: zs }, new Map(), undefined, 7);
  const two = computeWeights({ zones: [...zs].reverse() }, new Map(), undefined, 7);
  assert.deepEqual(two.tables, one.tables);
  assert.deepEqual(two.state, one.state);
});

test('the one-service path equals the full round, and state survives JSON', () => {
  const zs = { zones: [zone('aws/r1/a', stats(), { demand: 150 }), zone('aws/r1/b', stats(), { demand: 20 })] };
  const full = computeWeights(zs, new Map(), undefined, 0);
  const one = computeServiceWeights(zs, SVC, undefined, undefined, 0);
  assert.deepEqual(one.table, full.tables.get(SVC));
  const revived = JSON.parse(JSON.stringify(full.state)) as EngineState;
  assert.deepEqual(computeWeights(zs, new Map(), revived, 1000).tables, computeWeights(zs, new Map(), full.state, 1000).tables);
});

test('explain prints one line per target with its reason', () => {
  const t = computeWeights({ zones: [zone('aws/r1/a', stats(), { demand: 120 }), zone('aws/r1/b', stats())] }, new Map(), undefined, 0).tables.get(SVC)!;
  const lines = explain(t);
  assert.equal(lines[0], `${SVC} (version ${t.version})`);
  assert.ok(lines.some((l) => /^ {2}b +3333 bp {2}tier 1 {2}tier 1 \(same region\): spillover/.test(l)), lines.join('\n'));
});

test('a service no zone reports has a table with empty rows only when a policy names it', () => {
  const snap = { zones: [zone('aws/r1/a', undefined)] };
  assert.equal(computeWeights(snap, new Map(), undefined, 0).tables.size, 0);
  const t = computeWeights(snap, policy(), undefined, 0).tables.get(SVC);
  assert.deepEqual(t?.rows, [{ sourceZone: 'a', targets: [], panic: false }]);
});
