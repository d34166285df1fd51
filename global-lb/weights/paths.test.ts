// Unit tests of the path rule: a source's own asked evidence about a destination outweighs other callers' (partitions fail paths, not zones); each case also equals the reference engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeWeights, type CallerEvidence, type EngineResult, type EngineState, type FederationSnapshot, type ServiceStats, type SourceEvidence } from './index.ts';
import * as reference from './engine-reference.ts';
import { judgeOwn } from './paths.ts';
import { decodeMemoryRecord, memoryRecord, resumeState } from './engine-memory.ts';
import { policy, stats, SVC, zone } from './testing.ts';

const CLEAN = { http5xx: 0, connectFailure: 0, timeout: 0, reset: 0 };
const RULES = { errorRate: 0.05, minRequests: 20 };

/** One source's own outcomes: `ok` successes, `fail` connect failures, and its sidecars' ejection gauges. */
interface Own {
  readonly ok?: number;
  readonly fail?: number;
  /** 5xx answers (the zone answered with errors), apart from the connect failures of `fail`. */
  readonly http5xx?: number;
  readonly knowing?: number;
  readonly ejecting?: number;
}

/** Caller evidence as the balancer builds it: the sums over the sources, and each source's own outcomes. */
function evidence(per: Record<string, Own>): CallerEvidence {
  const bySource: SourceEvidence[] = Object.entries(per)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([zone, o]) => ({ zone, requests: (o.ok ?? 0) + (o.fail ?? 0) + (o.http5xx ?? 0), successes: o.ok ?? 0, errors: { ...CLEAN, connectFailure: o.fail ?? 0, http5xx: o.http5xx ?? 0 }, sidecarsKnowing: o.knowing ?? 0, sidecarsEjectingAll: o.ejecting ?? 0 }));
  const sum = (f: (x: SourceEvidence) => number) => bySource.reduce((n, x) => n + f(x), 0);
  return {
    requests: sum((x) => x.requests),
    successes: sum((x) => x.successes),
    errors: { ...CLEAN, connectFailure: sum((x) => x.errors.connectFailure), http5xx: sum((x) => x.errors.http5xx) },
    sources: bySource.filter((x) => x.requests > 0).map((x) => x.zone),
    sidecarsKnowing: sum((x) => x.sidecarsKnowing),
    sidecarsEjectingAll: sum((x) => x.sidecarsEjectingAll),
    ejectingSources: bySource.filter((x) => x.sidecarsEjectingAll > 0).map((x) => x.zone),
    bySource,
  };
}

const A = 'aws/us-east-1/us-east-1a';
const B = 'aws/us-east-1/us-east-1b';
const E = 'gcp/europe-west1/europe-west1-b';

/** Three zones of two clouds, each hosting SVC (1000 rps capacity) and asking it; europe-west1-b carries `euw`. */
function world(euw: Partial<ServiceStats>, over: { readonly a?: Partial<ServiceStats>; readonly eZone?: Parameters<typeof zone>[2] } = {}): FederationSnapshot {
  return {
    zones: [
      zone(A, stats({ capacityRps: 1000, ...over.a }), { demand: 100 }),
      zone(B, stats({ capacityRps: 1000 }), { demand: 100 }),
      zone(E, stats({ capacityRps: 1000, ...euw }), { demand: 100, ...over.eZone }),
    ],
  };
}

const observable = (r: { tables: EngineResult['tables'] | reference.EngineResult['tables']; verdicts: EngineResult['verdicts'] }): unknown =>
  JSON.parse(JSON.stringify({ tables: [...r.tables].map(([k, t]) => [k, { ...t, version: undefined }]), verdicts: r.verdicts }));

/** Runs a sequence of rounds on both engines, asserting they agree every round; returns the optimised engine's. */
function rounds(steps: readonly { readonly snap: FederationSnapshot; readonly now: number }[], extra: Record<string, unknown> = {}): EngineResult[] {
  const policies = policy({ holdDown: '10s', slowStart: '0s', ...extra });
  let fast: EngineState | undefined;
  let slow: reference.EngineState | undefined;
  const out: EngineResult[] = [];
  for (const { snap, now } of steps) {
    const f = computeWeights(snap, policies, fast, now);
    const s = reference.computeWeights(snap, policies, slow, now);
    assert.deepEqual(observable(f), observable(s), `round at ${now}: engine and reference agree`);
    fast = f.state;
    slow = s.state;
    out.push(f);
  }
  return out;
}

function target(r: EngineResult, source: string, dest: string): { basisPoints: number; reason: string } {
  const row = r.tables.get(SVC)!.rows.find((x) => x.sourceZone === source)!;
  const t = row.targets.find((x) => x.zone === dest);
  assert.ok(t, `${dest} listed in the row of ${source}`);
  return t;
}

const cut = evidence({ 'us-east-1a': { fail: 120 }, 'us-east-1b': { fail: 100 }, 'europe-west1-b': { ok: 120 } });
/** The same cut while europe-west1-b's own clients sent too little to judge: nobody sees the zone healthy. */
const cutQuiet = evidence({ 'us-east-1a': { fail: 120 }, 'us-east-1b': { fail: 100 }, 'europe-west1-b': { ok: 10 } });

test('a destination healthy from its own zone but unreachable from the others stays for its own zone only', () => {
  // A fourth zone hosts no copy and never called it: it has no evidence of its own.
  const snap = world({ callers: cut });
  const withFourth: FederationSnapshot = { zones: [...snap.zones, zone('aws/us-west-2/us-west-2a', undefined)] };
  const [r] = rounds([{ snap: withFourth, now: 0 }], { failover: { priority: ['cloud'] } });
  const own = target(r!, 'europe-west1-b', 'europe-west1-b');
  assert.equal(own.basisPoints, 10000, 'europe-west1-b keeps its own catalog');
  assert.match(own.reason, /healthy as seen from europe-west1-b \(0% errors of 120\), although callers in us-east-1a, us-east-1b see 100% errors: a path failure/);
  // The sources whose path failed, and the one without evidence of its own, follow the sums: out.
  for (const src of ['us-east-1a', 'us-east-1b', 'us-west-2a']) {
    const t = target(r!, src, 'europe-west1-b');
    assert.equal(t.basisPoints, 0, `${src} moves off europe-west1-b`);
    assert.match(t.reason, /^out — error rate 65% > ejection 5% \(seen by callers in europe-west1-b, us-east-1a, us-east-1b\)/);
  }
  // The destination's own verdict is still the callers' sums: the exception is per source.
  assert.equal(r!.verdicts.find((v) => v.zone === 'europe-west1-b')!.eligible, false);
  // The aws sources' own paths failed: each has path memory, so it stays held down for them when the sums recover.
  assert.deepEqual(Object.keys(r!.state.services[SVC]!.zones['europe-west1-b']!.paths ?? {}), ['us-east-1a', 'us-east-1b']);
});

test('a source whose own path fails loses a destination that serves every other caller fine', () => {
  // us-east-1a's 30 failures drown in 1000 successes of the others: the sum is healthy, us-east-1a's own path is not.
  const ev = evidence({ 'us-east-1a': { fail: 30 }, 'us-east-1b': { ok: 500 }, 'europe-west1-b': { ok: 500 } });
  const [r] = rounds([{ snap: world({ callers: ev }), now: 0 }], { failover: { priority: [] } });
  assert.equal(r!.verdicts.find((v) => v.zone === 'europe-west1-b')!.eligible, true);
  const t = target(r!, 'us-east-1a', 'europe-west1-b');
  assert.equal(t.basisPoints, 0);
  assert.equal(t.reason, 'out — error rate 100% > ejection 5% seen from us-east-1a (a path failure: other callers may reach it)');
  assert.ok(target(r!, 'us-east-1b', 'europe-west1-b').basisPoints > 0, 'us-east-1b still sends there');
  assert.ok(target(r!, 'europe-west1-b', 'europe-west1-b').basisPoints > 0);
});

test('a real zone failure (its served errors, lease, drain, no healthy endpoint) is out everywhere, whatever a source saw', () => {
  const healthyFromE = evidence({ 'europe-west1-b': { ok: 120 } });
  const cases: [string, FederationSnapshot, RegExp][] = [
    ['served errors', world({ callers: healthyFromE, successes: 50, errors: { ...CLEAN, http5xx: 50 } }), /served by its endpoints/],
    ['no healthy endpoint', world({ callers: healthyFromE, healthyEndpoints: 0 }), /no healthy endpoint/],
    ['drained', world({ callers: healthyFromE }, { eZone: { drained: true } }), /drained by operator/],
  ];
  for (const [what, snap, re] of cases) {
    const [r] = rounds([{ snap, now: 0 }]);
    for (const src of ['us-east-1a', 'us-east-1b', 'europe-west1-b']) {
      const t = target(r!, src, 'europe-west1-b');
      assert.equal(t.basisPoints, 0, `${what}: out for ${src}`);
      assert.match(t.reason, re, what);
    }
  }
});

test('a zone every caller ejected by outlier detection is out for all of them; a source whose own sidecars eject it is out for that source', () => {
  const all = evidence({ 'us-east-1a': { knowing: 2, ejecting: 2 }, 'us-east-1b': { knowing: 2, ejecting: 2 }, 'europe-west1-b': { knowing: 2, ejecting: 2 } });
  const [r] = rounds([{ snap: world({ callers: all }), now: 0 }]);
  for (const src of ['us-east-1a', 'us-east-1b', 'europe-west1-b']) {
    const t = target(r!, src, 'europe-west1-b');
    assert.equal(t.basisPoints, 0, `out for ${src}`);
    assert.match(t.reason, /every endpoint ejected by the outlier detection of 6 of 6 caller sidecars/);
  }
  // Only us-east-1a's sidecars eject it (1 of 6 in all: no quorum), so it stays for the others.
  const one = evidence({ 'us-east-1a': { knowing: 1, ejecting: 1 }, 'us-east-1b': { ok: 100, knowing: 2 }, 'europe-west1-b': { ok: 100, knowing: 3 } });
  const [s] = rounds([{ snap: world({ callers: one }), now: 0 }], { failover: { priority: [] } });
  assert.match(target(s!, 'us-east-1a', 'europe-west1-b').reason, /^out — every endpoint ejected by the outlier detection of 1 of 1 sidecars in us-east-1a \(a path failure/);
  assert.ok(target(s!, 'us-east-1b', 'europe-west1-b').basisPoints > 0);
  // The quorum of callers in the aws zones ejects it, but europe-west1-b's own clients reach it fine.
  const aws = evidence({ 'us-east-1a': { knowing: 2, ejecting: 2 }, 'us-east-1b': { knowing: 2, ejecting: 2 }, 'europe-west1-b': { ok: 120, knowing: 2 } });
  const [q] = rounds([{ snap: world({ callers: aws }), now: 0 }]);
  assert.equal(target(q!, 'europe-west1-b', 'europe-west1-b').basisPoints, 10000);
  assert.match(target(q!, 'europe-west1-b', 'europe-west1-b').reason, /although caller sidecars in us-east-1a, us-east-1b ejected every endpoint: a path failure/);
  assert.equal(target(q!, 'us-east-1a', 'europe-west1-b').basisPoints, 0);
});

test('a path that failed is held down for its source, and a new failure restarts the hold-down', () => {
  const bad = evidence({ 'us-east-1a': { fail: 30 }, 'us-east-1b': { ok: 500 }, 'europe-west1-b': { ok: 500 } });
  const quiet = evidence({ 'us-east-1b': { ok: 500 }, 'europe-west1-b': { ok: 500 } });
  const any = { failover: { priority: [] }, maxStep: 10000 };
  const r = rounds(
    [
      { snap: world({ callers: bad }), now: 0 },
      // us-east-1a stopped sending (nothing to judge): the path is held down from here, not readmitted.
      { snap: world({ callers: quiet }), now: 2000 },
      { snap: world({ callers: quiet }), now: 6000 },
      { snap: world({ callers: bad }), now: 7000 },
      { snap: world({ callers: quiet }), now: 8000 },
      { snap: world({ callers: quiet }), now: 17_000 },
      { snap: world({ callers: quiet }), now: 18_000 },
      { snap: world({ callers: quiet }), now: 19_000 },
    ],
    any,
  );
  assert.match(target(r[2]!, 'us-east-1a', 'europe-west1-b').reason, /^held down — path from us-east-1a healthy for 4s of 10s \(was out: error rate 100%/);
  assert.match(target(r[3]!, 'us-east-1a', 'europe-west1-b').reason, /^out — error rate 100%/);
  assert.match(target(r[5]!, 'us-east-1a', 'europe-west1-b').reason, /^held down — path from us-east-1a healthy for 9s of 10s/, 'the hold-down restarted at 8 s');
  assert.equal(target(r[5]!, 'us-east-1a', 'europe-west1-b').basisPoints, 0);
  assert.ok(target(r[6]!, 'us-east-1a', 'europe-west1-b').basisPoints > 0, 'readmitted after 10 s without failures');
  for (const x of r) assert.ok(target(x, 'us-east-1b', 'europe-west1-b').basisPoints > 0, 'other sources never lost it');
  assert.deepEqual(r[5]!.state.services[SVC]!.zones['europe-west1-b']!.paths, { 'us-east-1a': { status: 'holding', since: 8000, outReason: 'error rate 100% > ejection 5% seen from us-east-1a (a path failure: other callers may reach it)' } });
  assert.equal(r[6]!.state.services[SVC]!.zones['europe-west1-b']!.paths, undefined, 'path memory is dropped once readmitted');
});

test('a zone kept by its own path stays through the other callers\' hold-down, but a served failure holds it down for everyone', () => {
  const quiet = evidence({ 'europe-west1-b': { ok: 120 } });
  const r = rounds([
    // Out on the callers' evidence (europe-west1-b's own clients sent too little to judge) ...
    { snap: world({ callers: cutQuiet }), now: 0 },
    // ... then europe-west1-b's clients reach it fine while the aws callers have stopped sending.
    { snap: world({ callers: quiet }), now: 3000 },
    { snap: world({ callers: quiet }), now: 10_000 },
    { snap: world({ callers: quiet }), now: 13_000 },
  ]);
  // Back at once for its own zone (no hold-down: its own path never failed), by maxStep from the 0 bp of round 0.
  assert.equal(target(r[1]!, 'europe-west1-b', 'europe-west1-b').basisPoints, 1000);
  assert.match(target(r[1]!, 'europe-west1-b', 'europe-west1-b').reason, /^tier 0 .*healthy as seen from europe-west1-b \(0% errors of 120\), although it is held down for other callers \(was out: error rate 96%.*; damped: moving to 10000 bp by at most 1000\/round$/);
  assert.match(target(r[2]!, 'us-east-1a', 'europe-west1-b').reason, /^held down — healthy for 7s of 10s/);
  assert.equal(target(r[2]!, 'us-east-1a', 'europe-west1-b').basisPoints, 0);
  assert.equal(target(r[2]!, 'europe-west1-b', 'europe-west1-b').basisPoints, 2000, 'still held down for the others, kept for its own zone');
  // Readmitted for everyone: the exception ends and the reason is the plain one.
  assert.match(target(r[3]!, 'europe-west1-b', 'europe-west1-b').reason, /^tier 0 \(same zone\): nearest tier has room, 10% utilised \(target 80%\); damped: moving to 10000 bp/);
  const served = rounds([
    { snap: world({ callers: quiet, successes: 50, errors: { ...CLEAN, http5xx: 50 } }), now: 0 },
    { snap: world({ callers: quiet }), now: 3000 },
    { snap: world({ callers: quiet }), now: 6000 },
  ]);
  assert.equal(target(served[2]!, 'europe-west1-b', 'europe-west1-b').basisPoints, 0, 'served health is global: held down for its own zone too');
  assert.match(target(served[2]!, 'europe-west1-b', 'europe-west1-b').reason, /^held down — healthy for 3s of 10s \(was out: error rate 50% > ejection 5% \(served by its endpoints\)\)/);
});

test('fast failover, slow failback: a source drops a failed path at once and takes it back by maxStep', () => {
  const fine = evidence({ 'us-east-1a': { ok: 200 }, 'us-east-1b': { ok: 200 }, 'europe-west1-b': { ok: 200 } });
  const bad = evidence({ 'us-east-1a': { fail: 200 }, 'us-east-1b': { ok: 200 }, 'europe-west1-b': { ok: 200 } });
  const quiet = evidence({ 'us-east-1b': { ok: 200 }, 'europe-west1-b': { ok: 200 } });
  const r = rounds(
    [
      { snap: world({ callers: fine }), now: 0 },
      { snap: world({ callers: bad }), now: 1000 },
      { snap: world({ callers: quiet }), now: 2000 },
      { snap: world({ callers: quiet }), now: 12_000 },
    ],
    { failover: { priority: [] }, maxStep: 1000 },
  );
  const before = target(r[0]!, 'us-east-1a', 'europe-west1-b').basisPoints;
  assert.ok(before > 1000, `us-east-1a sent ${before} bp there`);
  assert.equal(target(r[1]!, 'us-east-1a', 'europe-west1-b').basisPoints, 0, 'out at once');
  const back = target(r[3]!, 'us-east-1a', 'europe-west1-b');
  assert.equal(back.basisPoints, 1000, 'readmitted, then damped');
  assert.match(back.reason, /damped: moving to \d+ bp by at most 1000\/round/);
  // The row's sum holds every round.
  for (const x of r) for (const row of x.tables.get(SVC)!.rows) assert.equal(row.targets.reduce((n, t) => n + t.basisPoints, 0), 10000);
});

test('in panic every source spreads over every zone with a healthy endpoint; path verdicts, like eligibility, wait', () => {
  // Two small zones out on served errors leave too little: panic. us-east-1a's path to europe-west1-b is bad.
  const ev = evidence({ 'us-east-1a': { fail: 100 }, 'europe-west1-b': { ok: 100 } });
  const snap: FederationSnapshot = {
    zones: [
      zone(A, stats({ capacityRps: 100, successes: 10, errors: { ...CLEAN, http5xx: 90 } }), { demand: 500 }),
      zone(B, stats({ capacityRps: 100, successes: 10, errors: { ...CLEAN, http5xx: 90 } }), { demand: 500 }),
      zone(E, stats({ capacityRps: 100, totalEndpoints: 3, callers: ev }), { demand: 100 }),
    ],
  };
  const [r] = rounds([{ snap, now: 0 }]);
  const row = r!.tables.get(SVC)!.rows.find((x) => x.sourceZone === 'us-east-1a')!;
  assert.equal(row.panic, true);
  assert.ok(target(r!, 'us-east-1a', 'europe-west1-b').basisPoints > 0);
});

test('own evidence: unknown below minRequests, bad above the threshold or by its own ejection quorum, healthy otherwise', () => {
  const own = (o: Own): SourceEvidence => evidence({ z: o }).bySource![0]!;
  assert.equal(judgeOwn(undefined, RULES).kind, 'unknown');
  assert.equal(judgeOwn(own({ ok: 19 }), RULES).kind, 'unknown');
  assert.equal(judgeOwn(own({ ok: 19, fail: 1 }), RULES).kind, 'healthy', '5% is not above 5%');
  assert.equal(judgeOwn(own({ ok: 18, fail: 2 }), RULES).kind, 'bad');
  assert.equal(judgeOwn(own({ knowing: 2, ejecting: 1 }), RULES).kind, 'bad', 'half of its own sidecars');
  assert.equal(judgeOwn(own({ ok: 100, knowing: 3, ejecting: 1 }), RULES).kind, 'healthy', 'a minority of its sidecars');
  assert.equal(judgeOwn(own({ ok: 100, knowing: 2, ejecting: 2 }), RULES).kind, 'bad', 'its sidecars eject every endpoint');
  assert.equal(judgeOwn(own({ ok: 18, http5xx: 2 }), RULES).kind, 'unknown', '5xx answers are the zone\'s, not the path\'s');
  assert.equal(judgeOwn(own({ ok: 18, http5xx: 2, knowing: 1, ejecting: 1 }), RULES).kind, 'unknown', 'ejected after 5xx answers: the zone\'s too');
  assert.equal(judgeOwn(own({ ok: 100, http5xx: 1 }), RULES).kind, 'healthy');
});

test('a new leader resumes path hold-downs and zones kept by their own path from the stored record', () => {
  const bad = evidence({ 'us-east-1a': { fail: 30 }, 'us-east-1b': { ok: 500 }, 'europe-west1-b': { ok: 500 } });
  const quiet = evidence({ 'us-east-1b': { ok: 500 }, 'europe-west1-b': { ok: 500 } });
  const policies = policy({ holdDown: '10s', slowStart: '0s', failover: { priority: [] } });
  const steps = [
    { snap: world({ callers: cutQuiet }), now: 0 },
    { snap: world({ callers: bad }), now: 1000 },
    { snap: world({ callers: quiet }), now: 2000 },
    { snap: world({ callers: quiet }), now: 5000 },
    { snap: world({ callers: quiet }), now: 12_500 },
  ];
  const one: EngineResult[] = [];
  let state: EngineState | undefined;
  for (const { snap, now } of steps) {
    const r = computeWeights(snap, policies, state, now);
    one.push(r);
    state = r.state;
  }
  // Hand over after every round: the record (through JSON, as stored) and the published tables.
  for (let k = 0; k + 1 < steps.length; k++) {
    const record = decodeMemoryRecord(JSON.parse(JSON.stringify(memoryRecord(one[k]!.state, steps[k]!.now))));
    assert.ok(record, `round ${k}: the record decodes`);
    let resumed: EngineState = resumeState(one[k]!.tables.values(), record, steps[k + 1]!.now);
    for (let i = k + 1; i < steps.length; i++) {
      const r = computeWeights(steps[i]!.snap, policies, resumed, steps[i]!.now);
      assert.deepEqual(JSON.parse(JSON.stringify([...r.tables])), JSON.parse(JSON.stringify([...one[i]!.tables])), `handover after round ${k}, round ${i}`);
      resumed = r.state;
    }
  }
  const rec = memoryRecord(one[3]!.state, 5000);
  // Held down since 1 s (it was out on the aws callers' evidence alone); us-east-1b's own path held down since 1 s,
  // us-east-1a's (which failed again at 1 s) since 2 s.
  const why = (z: string) => `error rate 100% > ejection 5% seen from ${z} (a path failure: other callers may reach it)`;
  assert.deepEqual(rec.entries.map((e) => [e.zone, e.status, e.byCallers, e.paths]), [[
    'europe-west1-b', 'holding', true,
    { 'us-east-1a': { status: 'holding', since: 2000, outReason: why('us-east-1a') }, 'us-east-1b': { status: 'holding', since: 1000, outReason: why('us-east-1b') } },
  ]]);
});

test('zones kept by their own paths are capacity, not lost: a partition alone does not cause panic', () => {
  // Each side's copy went out on the other side's failures (its own clients sent too little to judge) and is held down;
  // now each side reaches its own copy fine. Panic would spread both rows over the cut.
  const snap = (a: CallerEvidence, e: CallerEvidence): FederationSnapshot => ({
    zones: [zone(A, stats({ capacityRps: 1000, callers: a }), { demand: 100 }), zone(E, stats({ capacityRps: 1000, callers: e }), { demand: 100 })],
  });
  const r = rounds([
    { snap: snap(evidence({ 'us-east-1a': { ok: 5 }, 'europe-west1-b': { fail: 100 } }), evidence({ 'us-east-1a': { fail: 100 }, 'europe-west1-b': { ok: 5 } })), now: 0 },
    { snap: snap(evidence({ 'us-east-1a': { ok: 100 } }), evidence({ 'europe-west1-b': { ok: 100 } })), now: 2000 },
  ], { maxStep: 10000 });
  assert.equal(r[0]!.tables.get(SVC)!.rows[0]!.panic, true, 'both out for everyone: panic');
  for (const row of r[1]!.tables.get(SVC)!.rows) assert.equal(row.panic, false, `${row.sourceZone}: no panic`);
  assert.equal(target(r[1]!, 'europe-west1-b', 'europe-west1-b').basisPoints, 10000);
  assert.equal(target(r[1]!, 'us-east-1a', 'us-east-1a').basisPoints, 10000);
  assert.match(target(r[1]!, 'us-east-1a', 'europe-west1-b').reason, /^held down — healthy for 0ms of 10s/);
});

test('a zone answering 5xx is out for every caller, even one whose own window is still under the threshold', () => {
  // The failure has just begun: us-east-1a's window still holds mostly answers from before it (4 of 104 failed).
  const answering = evidence({ 'us-east-1a': { ok: 100, http5xx: 4 }, 'us-east-1b': { ok: 20, http5xx: 20 } });
  const [r] = rounds([{ snap: world({ callers: answering }), now: 0 }]);
  for (const src of ['us-east-1a', 'us-east-1b', 'europe-west1-b']) {
    const t = target(r!, src, 'europe-west1-b');
    assert.equal(t.basisPoints, 0, `out for ${src}`);
    assert.match(t.reason, /^out — error rate 17% > ejection 5% \(seen by callers in us-east-1a, us-east-1b\)/);
  }
  // A source whose own calls get 5xx answers above the threshold while the sums are under it: the zone answered, so
  // that is no path verdict; the source follows the sums like everyone else (here: still in).
  const early = evidence({ 'us-east-1a': { ok: 1000 }, 'us-east-1b': { ok: 20, http5xx: 20 } });
  const [e] = rounds([{ snap: world({ callers: early }), now: 0 }], { failover: { priority: [] } });
  assert.ok(target(e!, 'us-east-1b', 'europe-west1-b').basisPoints > 0);
  assert.equal(e!.state.services[SVC]!.zones['europe-west1-b']!.paths, undefined);
  // The same numbers as transport failures (connect failures: what a cut path looks like) are a path failure.
  const cutOff = evidence({ 'us-east-1a': { ok: 100, fail: 4 }, 'us-east-1b': { ok: 20, fail: 20 } });
  const [q] = rounds([{ snap: world({ callers: cutOff }), now: 0 }], { failover: { priority: [] } });
  assert.ok(target(q!, 'us-east-1a', 'europe-west1-b').basisPoints > 0, 'kept by us-east-1a\'s healthy path');
  assert.equal(target(q!, 'us-east-1b', 'europe-west1-b').basisPoints, 0);
});
