// Oracle tests: the optimised engine (grouped sources, shared rows, lazy reasons) gives exactly what the simple per-source engine gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validatePolicy, type Policy } from '../../api/policy.ts';
import { computeServiceFromIndex, computeWeights, indexSnapshot, type CallerEvidence, type EngineResult, type EngineState, type FederationSnapshot, type ServiceStats, type SourceEvidence, type ZoneState } from './index.ts';
import * as reference from './engine-reference.ts';
import { seededRandom as prng } from '../../common/random.ts';


const SERVICES = ['default/a', 'default/b', 'shop/cart', 'shop/pay'];

interface World {
  zones: { cloud: string; region: string; zone: string; rtt: Map<string, number> }[];
  stats: (ServiceStats | undefined)[][];
  /** ASKED rps per zone per service (undefined: none measured), also from zones that do not host the service. */
  demand: (number | undefined)[][];
  alive: boolean[];
  drained: boolean[];
  policies: Map<string, Policy>;
}

/**
 * Worlds built so that many sources look alike (few localities, rtt measured only by some zones and often equal,
 * services deployed in few zones, many zones without own demand): that is where the engine shares rows.
 */
function makeWorld(rand: () => number): World {
  const nz = 3 + Math.floor(rand() * 14);
  const zones: World['zones'] = [];
  for (let i = 0; i < nz; i++) {
    const cloud = `c${Math.floor(rand() * 2)}`;
    const region = `${cloud}-r${Math.floor(rand() * 2)}`;
    zones.push({ cloud, region, zone: `z${String(i).padStart(2, '0')}`, rtt: new Map() });
  }
  const measured = rand();
  for (const a of zones) {
    if (rand() > measured) continue;
    for (const b of zones) if (a !== b && rand() < 0.5) a.rtt.set(b.zone, [0, 5, 40, 120][Math.floor(rand() * 4)]!);
  }
  const stats = zones.map(() =>
    SERVICES.map((): ServiceStats | undefined => {
      if (rand() < 0.6) return undefined;
      const total = rand() < 0.1 ? 0 : 1 + Math.floor(rand() * 5);
      const requests = Math.floor(rand() * 500);
      const errors = rand() < 0.1 ? Math.round(requests * 0.5) : 0;
      return {
        healthyEndpoints: rand() < 0.1 ? 0 : total,
        totalEndpoints: total,
        capacityRps: rand() < 0.1 ? 0 : total * (50 + Math.floor(rand() * 4) * 50),
        rps: rand() < 0.5 ? 0 : Math.floor(rand() * 400),
        inFlight: rand() < 0.2 ? Math.floor(rand() * 5) : 0,
        successes: requests - errors,
        errors: { http5xx: errors, connectFailure: 0, timeout: 0, reset: 0 },
        // Served latency, often equal across zones (so rows still group), sometimes a slow tail.
        ...(rand() < 0.4 ? { latencyP50Ms: [5, 5, 20, 300][Math.floor(rand() * 4)]!, latencyP99Ms: [10, 10, 80, 2400][Math.floor(rand() * 4)]! } : {}),
        ...(rand() < 0.15
          ? { callers: { requests: 100, successes: rand() < 0.5 ? 100 : 40, errors: { http5xx: 0, connectFailure: 30, timeout: 0, reset: 30 }, sources: ['z00'] } }
          : rand() < 0.2
            ? { callers: perSource(rand) }
            : {}),
      };
    }),
  );
  // Few zones ask (many sources without demand share rows); some that ask host no copy.
  const demand = zones.map(() => SERVICES.map(() => (rand() < 0.2 ? (rand() < 0.3 ? 0 : [100, 100, 400][Math.floor(rand() * 3)]!) : undefined)));
  const policies = new Map<string, Policy>();
  for (const key of SERVICES) {
    const [namespace, name] = key.split('/') as [string, string];
    const pick = rand();
    if (pick < 0.25) continue; // the default policy
    const extra: Record<string, unknown> =
      pick < 0.4
        ? { failover: { priority: ['region', 'cloud'] }, maxStep: 300, holdDown: '3s', slowStart: '5s' }
        : pick < 0.55
          ? { distribute: [{ from: 'c0/*', to: { z00: 60, 'c1/*': 40 } }], holdDown: '2s', slowStart: '4s' }
          : pick < 0.7
            ? { failover: { zones: [zones[0]!.zone, zones.slice(1, 3).map((z) => z.zone)] }, targetUtilization: 0.5 }
            : pick < 0.78
              ? { panicThreshold: 0.9, maxStep: 200 }
              : pick < 0.86
                ? { latency: { halfWeightAt: '0ms' }, deadband: 0, maxStep: 500, drainedZones: [zones[1]!.zone] }
                : pick < 0.93
                  ? // Residency (also in panic and with distribute), a cross-cloud cap and custom costs.
                    { residency: [{ from: 'c0/*', allow: ['c0/c0-r0/*', zones[2]!.zone] }], crossCloud: { maxShare: 20 }, cost: { sameRegion: 0, crossCloud: 30 }, distribute: [{ from: zones[0]!.zone, to: { 'c1/*': 100 } }], panicThreshold: rand() < 0.5 ? 0.9 : 0.5 }
                  : { failover: { priority: [] }, crossCloud: { maxShare: 10 }, cost: { halfWeightAt: 0 }, residency: [{ from: zones[1]!.zone, allow: ['c1/*'] }] };
    policies.set(key, validatePolicy({ namespace, name, ...extra }, 'oracle'));
  }
  return { zones, stats, demand, alive: zones.map(() => rand() > 0.1), drained: zones.map(() => rand() < 0.05), policies };
}

/**
 * Callers' evidence split by source (z00..z03): each source's own path healthy, failing, ejected by its sidecars or
 * too quiet to judge, so sources disagree with the sums (path verdicts) and their hold-downs run.
 */
function perSource(rand: () => number): CallerEvidence {
  const bySource: SourceEvidence[] = [];
  for (let i = 0; i < 4; i++) {
    const pick = rand();
    if (pick < 0.3) continue;
    // Failing sources are few requests beside the busy healthy ones, so the sums often stay healthy (a path failure).
    const requests = pick < 0.4 ? 5 : pick >= 0.6 && pick < 0.8 ? 2000 : 60;
    const fail = pick < 0.6 ? requests : 0;
    const ejecting = pick > 0.92 ? 1 : 0;
    bySource.push({ zone: `z0${i}`, requests, successes: requests - fail, errors: { http5xx: 0, connectFailure: fail, timeout: 0, reset: 0 }, sidecarsKnowing: 1, sidecarsEjectingAll: ejecting });
  }
  return summed(bySource);
}

/** The same evidence with one source gone quiet (it stopped sending: nothing to judge), so path hold-downs run. */
function quieter(ev: CallerEvidence | undefined, rand: () => number): CallerEvidence | undefined {
  const by = ev?.bySource;
  if (by === undefined || by.length === 0) return ev;
  const gone = Math.floor(rand() * by.length);
  return summed(by.filter((_, i) => i !== gone));
}

function summed(bySource: readonly SourceEvidence[]): CallerEvidence {
  const sum = (f: (x: SourceEvidence) => number) => bySource.reduce((n, x) => n + f(x), 0);
  return {
    requests: sum((x) => x.requests),
    successes: sum((x) => x.successes),
    errors: { http5xx: 0, connectFailure: sum((x) => x.errors.connectFailure), timeout: 0, reset: 0 },
    sources: bySource.map((x) => x.zone),
    sidecarsKnowing: sum((x) => x.sidecarsKnowing),
    sidecarsEjectingAll: sum((x) => x.sidecarsEjectingAll),
    ejectingSources: bySource.filter((x) => x.sidecarsEjectingAll > 0).map((x) => x.zone),
    bySource: [...bySource],
  };
}

function snapshot(w: World): FederationSnapshot {
  return {
    zones: w.zones.map((z, i): ZoneState => {
      const services = new Map<string, ServiceStats>();
      SERVICES.forEach((key, s) => {
        const st = w.stats[i]![s];
        if (st) services.set(key, st);
      });
      return {
        locality: { cloud: z.cloud, region: z.region, zone: z.zone },
        network: 'n',
        alive: w.alive[i]!,
        drained: w.drained[i]!,
        reportedAt: 0,
        services,
        rttMs: z.rtt,
        demandRps: new Map(SERVICES.flatMap((key, s) => (w.demand[i]![s] !== undefined ? [[key, w.demand[i]![s]!] as const] : []))),
      };
    }),
  };
}

/** Everything a consumer can observe except the version (whose hash function differs): rows with reasons, verdicts. */
function observable(r: { tables: EngineResult['tables'] | reference.EngineResult['tables']; verdicts: EngineResult['verdicts'] }): unknown {
  return JSON.parse(JSON.stringify({ tables: [...r.tables].map(([k, t]) => [k, { ...t, version: undefined }]), verdicts: r.verdicts }));
}

test('grouped sources get exactly the rows (numbers, tiers and reasons) the per-source reference computes', () => {
  let shared = 0;
  let rows = 0;
  let pathRows = 0;
  for (let seed = 1; seed <= 120; seed++) {
    const rand = prng(seed);
    const w = makeWorld(rand);
    let fast: EngineResult | undefined;
    let slow: reference.EngineResult | undefined;
    const versions = new Map<string, string>();
    for (let i = 0; i <= 14; i++) {
      if (i > 0) {
        // Random faults and changes so hysteresis, slow start, damping and panic all take turns.
        const k = Math.floor(rand() * w.zones.length);
        const what = rand();
        if (what < 0.25) w.alive[k] = !w.alive[k];
        else if (what < 0.35) w.drained[k] = !w.drained[k];
        else if (what < 0.7) {
          const s = Math.floor(rand() * SERVICES.length);
          const st = w.stats[k]![s];
          if (st) w.stats[k]![s] = { ...st, healthyEndpoints: st.healthyEndpoints > 0 ? 0 : st.totalEndpoints, rps: Math.floor(rand() * 300) };
        } else if (what < 0.85) {
          // A source's own path changes (fails, recovers, goes quiet): path verdicts and their hold-downs.
          const s = Math.floor(rand() * SERVICES.length);
          const st = w.stats[k]![s];
          if (st) w.stats[k]![s] = { ...st, callers: st.callers?.bySource !== undefined && rand() < 0.6 ? quieter(st.callers, rand) : perSource(rand) };
        }
      }
      const now = i * 1500;
      const snap = snapshot(w);
      fast = computeWeights(snap, w.policies, i % 5 === 4 ? (JSON.parse(JSON.stringify(fast!.state)) as EngineState) : fast?.state, now);
      slow = reference.computeWeights(snap, w.policies, slow?.state, now);
      assert.deepEqual(observable(fast), observable(slow), `seed ${seed} round ${i}`);
      for (const [key, t] of fast.tables) {
        const old = versions.get(key);
        const same = JSON.stringify(t.rows.map((r) => [r.sourceZone, r.panic, r.targets.map((x) => [x.zone, x.basisPoints, x.tier])]));
        // The version changes exactly when what the data plane reads changes.
        if (old !== undefined) assert.equal(old.split('|')[0] === t.version, old.split('|')[1] === same, `seed ${seed} round ${i} ${key}: version tracks content`);
        versions.set(key, `${t.version}|${same}`);
        shared += t.rows.length - new Set(t.rows.map((r) => r.targets)).size;
        for (const r of t.rows) if (r.targets.some((x) => /path/.test(x.reason))) pathRows++;
        rows += t.rows.length;
      }
    }
  }
  assert.ok(shared > rows / 8, `too few shared rows (${shared} of ${rows}) to exercise grouping`);
  assert.ok(pathRows > 100, `too few rows with a path verdict (${pathRows}) to exercise the path rule`);
});

test('the one-service path on a reused index equals the full round', () => {
  for (let seed = 500; seed < 540; seed++) {
    const w = makeWorld(prng(seed));
    const snap = snapshot(w);
    const full0 = computeWeights(snap, w.policies, undefined, 0);
    const full1 = computeWeights(snap, w.policies, full0.state, 1000);
    const index = indexSnapshot(snap);
    for (const key of full1.tables.keys()) {
      for (let rep = 0; rep < 2; rep++) {
        const one = computeServiceFromIndex(index, key, w.policies.get(key) ?? validatePolicy({ namespace: 'default', name: 'default' }, 'x'), full0.state.services[key], 1000, w.policies.has(key));
        assert.deepEqual(one.table, full1.tables.get(key), `seed ${seed} ${key}`);
      }
    }
  }
});

test('rounds with unchanged input reuse the settled result, and every round equals the reference and an uncached recompute', () => {
  let reused = 0;
  let serviceRounds = 0;
  let timerRounds = 0;
  for (let seed = 900; seed < 960; seed++) {
    const rand = prng(seed);
    const w = makeWorld(rand);
    let fast: EngineResult | undefined;
    let slow: reference.EngineResult | undefined;
    for (let i = 0; i <= 24; i++) {
      if (i > 0 && rand() < 0.35) {
        // Changes made in place as well as by replacement: the engine must compare values, not object identity.
        const k = Math.floor(rand() * w.zones.length);
        const what = rand();
        if (what < 0.15) w.alive[k] = !w.alive[k];
        else if (what < 0.25) w.drained[k] = !w.drained[k];
        else if (what < 0.4) {
          const other = w.zones[Math.floor(rand() * w.zones.length)]!;
          if (other !== w.zones[k]) w.zones[k]!.rtt.set(other.zone, [5, 40, 120][Math.floor(rand() * 3)]!);
        } else {
          const s = Math.floor(rand() * SERVICES.length);
          const st = w.stats[k]![s] as { -readonly [K in keyof ServiceStats]: ServiceStats[K] } | undefined;
          if (rand() < 0.2) w.demand[k]![s] = w.demand[k]![s] === undefined ? 100 : undefined;
          else if (st && rand() < 0.15) w.stats[k]![s] = { ...st, callers: st.callers?.bySource !== undefined && rand() < 0.6 ? quieter(st.callers, rand) : perSource(rand) };
          else if (st && rand() < 0.5) st.rps = Math.floor(rand() * 300);
          else if (st) w.stats[k]![s] = { ...st, healthyEndpoints: st.healthyEndpoints > 0 ? 0 : st.totalEndpoints, capacityRps: Math.floor(rand() * 600) };
        }
      }
      // 700 ms steps: hold-downs and slow starts run over several rounds, so reuse must stop while a timer runs.
      const now = i * 700;
      const snap = snapshot(w);
      const before = fast;
      fast = computeWeights(snap, w.policies, before?.state, now);
      slow = reference.computeWeights(snap, w.policies, slow?.state, now);
      assert.deepEqual(observable(fast), observable(slow), `seed ${seed} round ${i}`);
      if (before !== undefined) {
        // The same engine without any kept result (memory through JSON has no identity to match).
        const uncached = computeWeights(snap, w.policies, JSON.parse(JSON.stringify(before.state)) as EngineState, now);
        assert.deepEqual(JSON.parse(JSON.stringify([...fast.tables])), JSON.parse(JSON.stringify([...uncached.tables])), `seed ${seed} round ${i}: tables`);
        assert.deepEqual(JSON.parse(JSON.stringify(fast.state)), JSON.parse(JSON.stringify(uncached.state)), `seed ${seed} round ${i}: memory`);
        for (const [key, mem] of Object.entries(fast.state.services)) {
          serviceRounds++;
          if (before.state.services[key]?.rows === mem.rows) reused++;
          if (Object.values(mem.zones).some((z) => z.status === 'holding' || z.rampStart !== undefined)) timerRounds++;
        }
      }
    }
  }
  assert.ok(reused > serviceRounds / 4, `too few reused results (${reused} of ${serviceRounds}) to exercise reuse`);
  assert.ok(reused < serviceRounds, 'some rounds must recompute');
  assert.ok(timerRounds > 20, `too few rounds with a running timer (${timerRounds})`);
});
