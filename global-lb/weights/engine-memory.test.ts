// Tests of the leader handover of engine memory: a run with a handover (record + tables → resumeState) matches one leader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validatePolicy, type Policy } from '../../api/policy.ts';
import { seededRandom } from '../../common/random.ts';
import { computeWeights, type EngineResult, type EngineState, type FederationSnapshot, type ServiceStats, type ServiceTable, type ZoneState } from './index.ts';
import { decodeMemoryRecord, memoryRecord, resumeState, type EngineMemoryRecord } from './engine-memory.ts';

const ZONES = ['aws/r1/a1', 'aws/r1/a2', 'aws/r2/b1', 'aws/r2/b2', 'gcp/r3/c1', 'gcp/r3/c2'];
const SERVICES = ['shop/cart', 'shop/pay', 'web/home'];
const NO_ERRORS = { http5xx: 0, connectFailure: 0, timeout: 0, reset: 0 };

/** What one round's world looks like: per zone alive/drained, per (service, zone) failing or absent. */
interface World {
  readonly alive: Set<string>;
  readonly drained: Set<string>;
  readonly failing: Set<string>;
  readonly absent: Set<string>;
}

function stats(failing: boolean, i: number): ServiceStats {
  return {
    healthyEndpoints: 3, totalEndpoints: 3, capacityRps: 100 + 20 * i, rps: 40, inFlight: 1,
    successes: failing ? 100 : 1000, errors: failing ? { ...NO_ERRORS, http5xx: 400 } : NO_ERRORS,
    latencyP50Ms: 5 + i, latencyP99Ms: 30 + 3 * i,
  };
}

function snapshot(w: World): FederationSnapshot {
  return {
    zones: ZONES.map((path, i): ZoneState => {
      const [cloud, region, zone] = path.split('/') as [string, string, string];
      const services = new Map<string, ServiceStats>();
      for (const s of SERVICES) if (!w.absent.has(`${s}@${zone}`)) services.set(s, stats(w.failing.has(`${s}@${zone}`), i));
      return {
        locality: { cloud, region, zone }, network: 'n', alive: w.alive.has(zone), drained: w.drained.has(zone), reportedAt: 0,
        services, rttMs: new Map(), demandRps: new Map(SERVICES.map((s, k) => [s, 30 + 10 * ((i + k) % 3)] as const)),
      };
    }),
  };
}

const POLICIES = new Map<string, Policy>(SERVICES.map((s, k) => {
  const [namespace, name] = s.split('/') as [string, string];
  const extra = [{ holdDown: '5s', slowStart: '10s', maxStep: 800, deadband: 0 }, { holdDown: '3s', slowStart: '0s', maxStep: 1500, deadband: 50 }, { holdDown: '0s', slowStart: '6s', maxStep: 500 }][k]!;
  return [s, validatePolicy({ namespace, name, ...extra }, 'test')] as const;
}));

/** A seeded run of worlds: drains, undrains, error bursts, zones dying and returning, services leaving a zone. */
function worlds(seed: number, n: number): World[] {
  const rand = seededRandom(seed);
  const names = ZONES.map((p) => p.split('/')[2]!);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  let w: World = { alive: new Set(names), drained: new Set(), failing: new Set(), absent: new Set() };
  const out: World[] = [];
  for (let i = 0; i < n; i++) {
    const next: World = { alive: new Set(w.alive), drained: new Set(w.drained), failing: new Set(w.failing), absent: new Set(w.absent) };
    const r = rand();
    const z = pick(names);
    const sz = `${pick(SERVICES)}@${pick(names)}`;
    if (r < 0.15) toggle(next.drained, z);
    else if (r < 0.3) toggle(next.failing, sz);
    else if (r < 0.38) toggle(next.alive, z);
    else if (r < 0.43) toggle(next.absent, sz);
    out.push(next);
    w = next;
  }
  return out;
}

function toggle(set: Set<string>, key: string): void {
  if (set.has(key)) set.delete(key);
  else set.add(key);
}

/** What a new leader reads back: tables and the record as the store holds them (JSON). */
function throughStore(result: EngineResult, now: number): { tables: ServiceTable[]; record: EngineMemoryRecord | undefined } {
  const tables = [...result.tables.values()].map((t) => JSON.parse(JSON.stringify(t)) as ServiceTable);
  const record = decodeMemoryRecord(JSON.parse(JSON.stringify(memoryRecord(result.state, now))));
  return { tables, record };
}

/** The zone memories that are not plainly in, per service, for comparing hysteresis state. */
function timers(state: EngineState): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [s, m] of Object.entries(state.services)) {
    for (const [z, zm] of Object.entries(m.zones)) {
      if (zm.status === 'in' && zm.rampStart === undefined) continue;
      (out[s] ??= {})[z] = { status: zm.status, since: zm.since, rampStart: zm.rampStart, outReason: zm.outReason };
    }
  }
  return out;
}

function plainTables(tables: ReadonlyMap<string, ServiceTable>): unknown {
  return [...tables.values()].map((t) => ({ service: t.service, version: t.version, rows: JSON.parse(JSON.stringify(t.rows)) as unknown }));
}

test('a handover at any round gives the same tables and timers as one leader, for many seeded runs', () => {
  const N = 45;
  let handovers = 0;
  let bareChecked = 0;
  for (let seed = 1; seed <= 12; seed++) {
    const ws = worlds(seed, N);
    // Odd seeds run rounds 1.37 s apart, so no timer lands on a whole second.
    const at = (i: number) => (seed % 2 === 1 ? i * 1370 : i * 1000);
    const single: EngineResult[] = [];
    let state: EngineState | undefined;
    for (let i = 0; i < N; i++) {
      const r = computeWeights(snapshot(ws[i]!), POLICIES, state, at(i));
      single.push(r);
      state = r.state;
    }
    for (let k = 1; k < N; k++) {
      const { tables, record } = throughStore(single[k - 1]!, at(k - 1));
      assert.ok(record, 'the record decodes');
      let resumed: EngineState = resumeState(tables, record, at(k));
      for (let i = k; i < Math.min(N, k + 12); i++) {
        const r = computeWeights(snapshot(ws[i]!), POLICIES, resumed, at(i));
        assert.deepEqual(plainTables(r.tables), plainTables(single[i]!.tables), `seed ${seed}: handover before round ${k}, round ${i}`);
        assert.deepEqual(timers(r.state), timers(single[i]!.state), `seed ${seed}: timers after handover before round ${k}, round ${i}`);
        resumed = r.state;
      }
      handovers++;
      // Without a record the tables' reasons stand in for it; with whole-second rounds they carry the same timers,
      // except where panic hides them (a panicking row shows no ramp), which only the record carries.
      if (seed % 2 === 1 || tables.some((t) => t.rows.some((r) => r.panic))) continue;
      bareChecked++;
      const bare = computeWeights(snapshot(ws[k]!), POLICIES, resumeState(tables, undefined, k * 1000), k * 1000);
      assert.deepEqual(plainTables(bare.tables), plainTables(single[k]!.tables), `seed ${seed}: no record, handover before round ${k}`);
    }
  }
  assert.ok(handovers > 500 && bareChecked > 200, `${handovers} handovers, ${bareChecked} without a record`);
});

test('a drained then undrained zone keeps its hold-down and then its ramp across a handover', () => {
  const names = ZONES.map((p) => p.split('/')[2]!);
  const base: World = { alive: new Set(names), drained: new Set(), failing: new Set(), absent: new Set() };
  const drained: World = { ...base, drained: new Set(['a1']) };
  const seq = [base, base, drained, drained, drained, base, base, base];
  let state: EngineState | undefined;
  let last: EngineResult | undefined;
  for (let i = 0; i < seq.length; i++) {
    last = computeWeights(snapshot(seq[i]!), POLICIES, state, i * 1000);
    state = last.state;
  }
  // a1 undrained at 5 s; at 7 s it has been healthy for 2 s of shop/cart's 5 s hold-down.
  const { tables, record } = throughStore(last!, 7000);
  const reason = (r: EngineResult, s: string) => r.tables.get(s)!.rows.find((x) => x.sourceZone === 'a2')!.targets.find((t) => t.zone === 'a1')!.reason;
  let r = computeWeights(snapshot(base), POLICIES, resumeState(tables, record, 8000), 8000);
  assert.match(reason(r, 'shop/cart'), /^held down — healthy for 3s of 5s \(was out: drained by operator\)/);
  for (let t = 9000; t <= 12000; t += 1000) r = computeWeights(snapshot(base), POLICIES, r.state, t);
  // Readmitted at 10 s: 2 s into a 10 s ramp.
  assert.match(reason(r, 'shop/cart'), /slow start 20% \(2s of 10s\)/);
  // A second handover mid-ramp resumes the ramp where it was.
  const again = throughStore(r, 12000);
  const r2 = computeWeights(snapshot(base), POLICIES, resumeState(again.tables, again.record, 13000), 13000);
  assert.match(reason(r2, 'shop/cart'), /slow start 30% \(3s of 10s\)/);
});

test('without a record, the tables alone: damping from the published rows, out zones stay out, ramps resume', () => {
  const names = ZONES.map((p) => p.split('/')[2]!);
  const base: World = { alive: new Set(names), drained: new Set(), failing: new Set(), absent: new Set() };
  const seq = [base, { ...base, drained: new Set(['a1', 'c2']) }, { ...base, drained: new Set(['c2']) }, { ...base, drained: new Set(['c2']) }];
  let state: EngineState | undefined;
  let last: EngineResult | undefined;
  for (let t = 0; t < 9; t++) {
    last = computeWeights(snapshot(seq[Math.min(t, seq.length - 1)]!), POLICIES, state, t * 1000);
    state = last.state;
  }
  const tables = [...last!.tables.values()].map((t) => JSON.parse(JSON.stringify(t)) as ServiceTable);
  const resumed = resumeState(tables, undefined, 9000);
  const next = computeWeights(snapshot(seq[3]!), POLICIES, resumed, 9000);
  const single = computeWeights(snapshot(seq[3]!), POLICIES, last!.state, 9000);
  for (const [s, t] of next.tables) {
    const prev = last!.tables.get(s)!;
    for (const row of t.rows) {
      const before = prev.rows.find((x) => x.sourceZone === row.sourceZone)!;
      for (const target of row.targets) {
        const was = before.targets.find((x) => x.zone === target.zone)?.basisPoints ?? 0;
        assert.ok(Math.abs(target.basisPoints - was) <= POLICIES.get(s)!.maxStep, `${s} ${row.sourceZone}→${target.zone}: ${was} → ${target.basisPoints}`);
      }
    }
  }
  // shop/cart: a1 was admitted at 7 s (hold-down 5 s from 2 s) and ramps; the tables' reasons carry it on.
  assert.deepEqual(plainTables(next.tables), plainTables(single.tables));
  assert.equal(resumed.services['shop/cart']!.zones['c2']!.status, 'out');
});

test('the record holds only zones not plainly in, shares one entry across services, and is stable while timers run', () => {
  const names = ZONES.map((p) => p.split('/')[2]!);
  const base: World = { alive: new Set(names), drained: new Set(), failing: new Set(), absent: new Set() };
  const steady = computeWeights(snapshot(base), POLICIES, undefined, 0);
  assert.deepEqual(memoryRecord(steady.state, 0), { format: 1, services: [], entries: [] });
  const d1 = computeWeights(snapshot({ ...base, drained: new Set(['b2']) }), POLICIES, steady.state, 1000);
  const d2 = computeWeights(snapshot({ ...base, drained: new Set(['b2']) }), POLICIES, d1.state, 2000);
  const rec = memoryRecord(d2.state, 2000);
  assert.deepEqual(rec.services, [...SERVICES].sort());
  assert.equal(rec.entries.length, 1);
  assert.deepEqual(rec.entries[0], { zone: 'b2', status: 'out', since: 1000, outReason: 'drained by operator', at: [0, 3] });
  assert.equal(JSON.stringify(memoryRecord(d1.state, 1000)), JSON.stringify(rec), 'unchanged while the zone stays out');
  assert.equal(JSON.stringify(memoryRecord(JSON.parse(JSON.stringify(d2.state)) as EngineState, 2000)), JSON.stringify(rec), 'a record-backed state gives the same record');
  assert.equal(memoryRecord(undefined, 0).entries.length, 0);
});

test('decodeMemoryRecord refuses what is not a record', () => {
  assert.equal(decodeMemoryRecord(null), undefined);
  assert.equal(decodeMemoryRecord({ format: 2, services: [], entries: [] }), undefined);
  assert.equal(decodeMemoryRecord({ format: 1, services: ['a/b'], entries: [{ zone: 'z', status: 'gone', since: 1, at: [0, 1] }] }), undefined);
  assert.equal(decodeMemoryRecord({ format: 1, services: ['a/b'], entries: [{ zone: 'z', status: 'out', since: 1, at: [0, 2] }] }), undefined);
  assert.equal(decodeMemoryRecord({ format: 1, services: ['a/b'], entries: [{ zone: 'z', status: 'out', since: '1', at: [0, 1] }] }), undefined);
  assert.deepEqual(decodeMemoryRecord({ format: 1, services: ['a/b'], entries: [{ zone: 'z', status: 'holding', since: 1, outReason: 'x', at: [0, 1] }] }), { format: 1, services: ['a/b'], entries: [{ zone: 'z', status: 'holding', since: 1, outReason: 'x', at: [0, 1] }] });
});
