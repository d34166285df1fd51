// Property tests of the weight engine over random federations from a seeded PRNG: invariants that hold for any input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validatePolicy, type Policy } from '../../api/policy.ts';
import { computeWeights, type EngineResult, type FederationSnapshot, type ServiceStats, type ZoneState } from './index.ts';
import { seededRandom as prng } from '../../common/random.ts';


const SERVICES = ['default/a', 'default/b', 'shop/cart'];

interface World {
  zones: { cloud: string; region: string; zone: string; rtt: Map<string, number> }[];
  /** per zone, per service: base stats (undefined = not deployed there). */
  stats: (ServiceStats | undefined)[][];
  /** per zone, per service: ASKED rps (undefined = none measured), also where the service is not deployed. */
  demand: (number | undefined)[][];
  alive: boolean[];
  drained: boolean[];
  policies: Map<string, Policy>;
}

function makeWorld(rand: () => number, opts: { faults: boolean }): World {
  const nz = 2 + Math.floor(rand() * 10);
  const zones: World['zones'] = [];
  for (let i = 0; i < nz; i++) {
    const cloud = `c${Math.floor(rand() * 2)}`;
    const region = `${cloud}-r${Math.floor(rand() * 3)}`;
    zones.push({ cloud, region, zone: `z${i}`, rtt: new Map() });
  }
  for (const a of zones) for (const b of zones) if (a !== b) a.rtt.set(b.zone, a.region === b.region ? 1 + rand() * 2 : a.cloud === b.cloud ? 20 + rand() * 40 : 60 + rand() * 100);
  const stats = zones.map(() =>
    SERVICES.map((): ServiceStats | undefined => {
      if (rand() < 0.25) return undefined;
      const total = 1 + Math.floor(rand() * 8);
      const healthy = opts.faults && rand() < 0.15 ? 0 : total;
      const requests = Math.floor(rand() * 2000);
      const errRate = opts.faults && rand() < 0.15 ? 0.2 + rand() * 0.6 : rand() * 0.02;
      const errors = Math.round(requests * errRate);
      return {
        healthyEndpoints: healthy,
        totalEndpoints: total,
        capacityRps: rand() < 0.1 ? 0 : total * (50 + rand() * 200),
        rps: rand() < 0.2 ? 0 : rand() * 400,
        inFlight: rand() < 0.3 ? Math.floor(rand() * 20) : 0,
        successes: requests - errors,
        errors: { http5xx: errors, connectFailure: 0, timeout: 0, reset: 0 },
        ...(rand() < 0.6 ? { latencyP50Ms: 2 + rand() * 300, latencyP99Ms: 10 + rand() * 3000 } : {}),
      };
    }),
  );
  const demand = zones.map(() => SERVICES.map(() => (rand() < 0.7 ? rand() * 600 : undefined)));
  const policies = new Map<string, Policy>();
  for (const key of SERVICES) {
    const [namespace, name] = key.split('/') as [string, string];
    const pick = rand();
    const extra: Record<string, unknown> =
      pick < 0.3
        ? {}
        : pick < 0.5
          ? { failover: { priority: ['region', 'cloud'] }, maxStep: 300 + Math.floor(rand() * 1500) }
          : pick < 0.7
            ? { distribute: [{ from: 'c0/*', to: { z0: 60, 'c1/*': 40 } }], holdDown: '5s', slowStart: '8s' }
            : pick < 0.85
              ? { failover: { zones: [zones[0]!.zone, zones.slice(1, 3).map((z) => z.zone)] }, targetUtilization: 0.5 }
              : pick < 0.93
                ? { panicThreshold: 0, deadband: 0, maxStep: 200 }
                : { residency: [{ from: 'c0/*', allow: ['c0/*'] }], crossCloud: { maxShare: 20 }, cost: { crossCloud: 40 } };
    policies.set(key, validatePolicy({ namespace, name, ...extra }, 'random'));
  }
  return {
    zones,
    stats,
    demand,
    alive: zones.map(() => !(opts.faults && rand() < 0.1)),
    drained: zones.map(() => opts.faults && rand() < 0.08),
    policies,
  };
}

function snapshot(w: World, jitter?: () => number): FederationSnapshot {
  const j = () => (jitter ? 1 + (jitter() * 2 - 1) * 0.2 : 1);
  return {
    zones: w.zones.map((z, i): ZoneState => {
      const services = new Map<string, ServiceStats>();
      SERVICES.forEach((key, s) => {
        const st = w.stats[i]![s];
        const p50 = st?.latencyP50Ms;
        const p99 = st?.latencyP99Ms;
        const lat = p50 !== undefined && p99 !== undefined ? { latencyP50Ms: p50 * j(), latencyP99Ms: p99 * j() } : {};
        if (st) services.set(key, jitter ? { ...st, rps: st.rps * j(), inFlight: st.inFlight * j(), ...lat } : st);
      });
      return {
        locality: { cloud: z.cloud, region: z.region, zone: z.zone },
        network: 'n',
        alive: w.alive[i]!,
        drained: w.drained[i]!,
        reportedAt: 0,
        services,
        rttMs: jitter ? new Map([...z.rtt].map(([k, v]) => [k, v * j()])) : z.rtt,
        demandRps: new Map(SERVICES.flatMap((key, s) => (w.demand[i]![s] !== undefined ? [[key, jitter ? w.demand[i]![s]! * j() : w.demand[i]![s]!] as const] : []))),
      };
    }),
  };
}

/** Checks the invariants every round must satisfy. */
function checkRound(r: EngineResult, label: string): void {
  for (const [key, table] of r.tables) {
    const eligible = new Set(r.verdicts.filter((v) => v.service === key && v.eligible).map((v) => v.zone));
    for (const row of table.rows) {
      const sum = row.targets.reduce((s, t) => s + t.basisPoints, 0);
      const where = `${label} ${key} from ${row.sourceZone}`;
      for (const t of row.targets) {
        assert.ok(Number.isInteger(t.basisPoints) && t.basisPoints >= 0, `${where}: integer bp`);
        assert.ok(t.reason.length > 0, `${where}: ${t.zone} has a reason`);
        if (!row.panic && t.basisPoints > 0) assert.ok(eligible.has(t.zone), `${where}: ${t.zone} is ineligible but has ${t.basisPoints} bp`);
      }
      if (row.unavailableReason !== undefined) assert.equal(sum, 0, `${where}: unavailable rows assign nothing`);
      else if (row.exclusive) assert.equal(sum, 10000, `${where}: an exclusive row with an allowed zone sums to 10000`);
      else if (eligible.size > 0 || row.panic) assert.equal(sum, 10000, `${where}: sums to 10000`);
      else assert.equal(sum, 0, `${where}: nothing eligible, nothing assigned`);
      if (row.exclusive && sum === 0) assert.ok(row.unavailableReason?.startsWith('no allowed zone can serve: residency'), `${where}: says why nothing is allowed`);
    }
  }
}

function bpMap(r: EngineResult): Map<string, number> {
  const m = new Map<string, number>();
  for (const [key, t] of r.tables) for (const row of t.rows) for (const x of row.targets) m.set(`${key}|${row.sourceZone}|${x.zone}`, x.basisPoints);
  return m;
}

test('every row sums to 10000 when any zone is eligible, and ineligible zones get nothing outside panic', () => {
  for (let seed = 1; seed <= 150; seed++) {
    const rand = prng(seed);
    const w = makeWorld(rand, { faults: true });
    let r = computeWeights(snapshot(w), w.policies, undefined, 0);
    checkRound(r, `seed ${seed} round 0`);
    // Keep going through random fault changes so hysteresis and damping states are exercised too.
    for (let i = 1; i <= 12; i++) {
      const k = Math.floor(rand() * w.zones.length);
      const what = rand();
      if (what < 0.3) w.alive[k] = !w.alive[k];
      else if (what < 0.5) w.drained[k] = !w.drained[k];
      else if (what < 0.8) {
        const s = Math.floor(rand() * SERVICES.length);
        const st = w.stats[k]![s];
        if (st) w.stats[k]![s] = { ...st, healthyEndpoints: st.healthyEndpoints > 0 ? 0 : st.totalEndpoints };
      }
      r = computeWeights(snapshot(w), w.policies, r.state, i * 2000);
      checkRound(r, `seed ${seed} round ${i}`);
    }
  }
});

test('the same input gives the same output', () => {
  for (let seed = 200; seed < 260; seed++) {
    const w = makeWorld(prng(seed), { faults: true });
    const a = computeWeights(snapshot(w), w.policies, undefined, 5);
    const b = computeWeights(snapshot(w), w.policies, undefined, 5);
    assert.deepEqual(b.tables, a.tables);
    const a2 = computeWeights(snapshot(w), w.policies, a.state, 1005);
    const b2 = computeWeights(snapshot(w), w.policies, JSON.parse(JSON.stringify(b.state)), 1005);
    assert.deepEqual(b2.tables, a2.tables, `seed ${seed}`);
  }
});

test('a stationary input converges and then does not flap', () => {
  for (let seed = 300; seed < 360; seed++) {
    const rand = prng(seed);
    const w = makeWorld(rand, { faults: true });
    // Start from another world's memory so damping has somewhere to come from.
    const other = makeWorld(prng(seed + 10_000), { faults: true });
    let r = computeWeights(snapshot(other), w.policies, undefined, 0);
    const versions: string[][] = [];
    // 60 rounds of 1s covers hold-down (≤10s), slow start (≤30s) and damping from any start (10000/200 = 50 steps? no:
    // the largest move per round is maxStep ≥ 200 of at most 10000, so ≤ 50 rounds) — use 100 to be safe.
    for (let i = 1; i <= 100; i++) {
      r = computeWeights(snapshot(w), w.policies, r.state, i * 1000);
      versions.push([...r.tables.values()].map((t) => t.version));
    }
    const tail = versions.slice(-10).map((v) => v.join(','));
    assert.equal(new Set(tail).size, 1, `seed ${seed}: still changing after 90 rounds`);
  }
});

test('±20% jitter on load and latency moves no weight by more than maxStep per round', () => {
  let moved = 0;
  for (let seed = 400; seed < 440; seed++) {
    const w = makeWorld(prng(seed), { faults: false });
    let r = computeWeights(snapshot(w), w.policies, undefined, 0);
    for (let i = 1; i <= 40; i++) r = computeWeights(snapshot(w), w.policies, r.state, i * 1000);
    const noise = prng(seed * 7);
    let prev = bpMap(r);
    for (let i = 41; i <= 80; i++) {
      r = computeWeights(snapshot(w, noise), w.policies, r.state, i * 1000);
      checkRound(r, `seed ${seed} jitter ${i}`);
      const cur = bpMap(r);
      for (const [k, bp] of cur) {
        const key = k.split('|')[0]!;
        const max = w.policies.get(key)!.maxStep;
        const d = Math.abs(bp - (prev.get(k) ?? 0));
        moved = Math.max(moved, d);
        assert.ok(d <= max, `seed ${seed} round ${i}: ${k} moved ${d} > maxStep ${max}`);
      }
      prev = cur;
    }
  }
  assert.ok(moved > 0, 'the jitter never moved any weight, so the bound was not exercised');
});

test('a zone that dies drops to 0 in the same round, and failback is gradual', () => {
  let checked = 0;
  for (let seed = 500; seed < 560; seed++) {
    const w = makeWorld(prng(seed), { faults: false });
    let r = computeWeights(snapshot(w), w.policies, undefined, 0);
    for (let i = 1; i <= 40; i++) r = computeWeights(snapshot(w), w.policies, r.state, i * 1000);
    const before = bpMap(r);
    // Kill the zone that receives the most traffic from others.
    const inbound = new Map<string, number>();
    for (const [k, bp] of before) {
      const [, src, dst] = k.split('|') as [string, string, string];
      if (src !== dst) inbound.set(dst, (inbound.get(dst) ?? 0) + bp);
    }
    const victim = [...inbound].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0];
    if (!victim || (inbound.get(victim) ?? 0) === 0) continue;
    const vi = w.zones.findIndex((z) => z.zone === victim);
    w.alive[vi] = false;
    r = computeWeights(snapshot(w), w.policies, r.state, 41_000);
    checkRound(r, `seed ${seed} after kill`);
    for (const [k, bp] of bpMap(r)) {
      const [key, , dst] = k.split('|') as [string, string, string];
      const panic = r.tables.get(key)!.rows.some((row) => row.panic);
      if (dst === victim && !panic) assert.equal(bp, 0, `seed ${seed}: ${k} still has ${bp} bp after its zone died`);
    }
    checked++;
    // Revive: from the hold-down on, the victim's shares rise by at most maxStep per round.
    w.alive[vi] = true;
    // A row that had no eligible zone at all has nothing to ramp against: the first zone back takes everything.
    let prev = bpMap(r);
    const rowSum = (m: Map<string, number>, prefix: string) => [...m].reduce((s, [k, v]) => (k.startsWith(prefix) ? s + v : s), 0);
    for (let i = 42; i <= 100; i++) {
      r = computeWeights(snapshot(w), w.policies, r.state, i * 1000);
      for (const [k, bp] of bpMap(r)) {
        const [key, src, dst] = k.split('|') as [string, string, string];
        if (dst !== victim || r.tables.get(key)!.rows.some((row) => row.panic)) continue;
        if (rowSum(prev, `${key}|${src}|`) === 0) continue;
        const d = bp - (prev.get(k) ?? 0);
        assert.ok(d <= w.policies.get(key)!.maxStep, `seed ${seed} round ${i}: ${k} jumped by ${d}`);
      }
      prev = bpMap(r);
    }
  }
  assert.ok(checked >= 30, `only ${checked} seeds had a zone with inbound traffic to kill`);
});

test('residency holds in every round (panic and distribute included), and a settled row keeps the cross-cloud cap', () => {
  let restricted = 0;
  let capped = 0;
  for (let seed = 700; seed < 760; seed++) {
    const rand = prng(seed);
    const w = makeWorld(rand, { faults: true });
    const cloudOf = new Map(w.zones.map((z) => [z.zone, z.cloud]));
    // Every service: c0 sources stay in c0 (panic and distribute included); at most 20% leaves any source's cloud.
    for (const key of SERVICES) {
      const [namespace, name] = key.split('/') as [string, string];
      const extra = rand() < 0.5 ? { distribute: [{ from: '*', to: { 'c1/*': 100 } }] } : { panicThreshold: rand() < 0.5 ? 0.95 : 0.5 };
      w.policies.set(key, validatePolicy({ namespace, name, residency: [{ from: 'c0/*', allow: ['c0/*'] }], crossCloud: { maxShare: 20 }, ...extra }, 'residency'));
    }
    let r = computeWeights(snapshot(w), w.policies, undefined, 0);
    for (let i = 1; i <= 30; i++) {
      if (i < 10) {
        const k = Math.floor(rand() * w.zones.length);
        if (rand() < 0.5) w.alive[k] = !w.alive[k];
        else w.drained[k] = !w.drained[k];
      }
      r = computeWeights(snapshot(w), w.policies, r.state, i * 1000);
      checkRound(r, `seed ${seed} round ${i}`);
      for (const [key, t] of r.tables) {
        for (const row of t.rows) {
          const from = cloudOf.get(row.sourceZone);
          if (from === 'c0') {
            restricted++;
            assert.equal(row.exclusive, true);
            for (const x of row.targets) assert.equal(cloudOf.get(x.zone), 'c0', `seed ${seed} ${key} from ${row.sourceZone}: lists ${x.zone}`);
          }
          // Settled (the last rounds change nothing), outside panic, with an eligible zone in the source's cloud.
          if (i === 30 && !row.panic && row.targets.some((x) => cloudOf.get(x.zone) === from && !x.reason.startsWith('out') && !x.reason.startsWith('held'))) {
            const cross = row.targets.reduce((s, x) => s + (cloudOf.get(x.zone) !== from ? x.basisPoints : 0), 0);
            assert.ok(cross <= 2000 + 1, `seed ${seed} ${key} from ${row.sourceZone}: ${cross} bp leave its cloud`);
            if (cross > 0) capped++;
          }
        }
      }
    }
  }
  assert.ok(restricted > 100 && capped > 5, `exercised: ${restricted} restricted rows, ${capped} capped`);
});
