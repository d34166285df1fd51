// Benchmark of the weight engine: full recompute at 1k/10k services × 10/50/100 zones, and one service alone; at
// 10k × 100 also the leader-handover engine record (size, write rate, cost) through a region's drain and undrain.
// Flags: --quick (one shape), --shape=SxZ (e.g. 10000x100), --deployed=N|all, --reference (the pre-optimisation
// engine too), --all (also shapes over 20M source×target cells).
import { computeServiceFromIndex, computeWeights, indexSnapshot, type FederationSnapshot, type ServiceStats, type ServiceTable, type ZoneState } from '../global-lb/weights/index.ts';
import * as reference from '../global-lb/weights/engine-reference.ts';
import { decodeMemoryRecord, memoryRecord, resumeState, type EngineMemoryRecord } from '../global-lb/weights/engine-memory.ts';
import { defaultPolicy, validatePolicy, type Policy } from '../api/policy.ts';
import { seededRandom as prng } from '../common/random.ts';


/**
 * The federation every case measures (exported for profiling scripts): zones spread over 2 clouds × 5 regions; each
 * service is deployed in `perService` zones (all zones when undefined), and every alive zone is a source row. Every
 * input the engine reads is present: served p50/p99 and callers' evidence per copy, and ASKED demand (demandRps) from
 * up to 5 of the hosting zones plus 5 zones that host no copy (so those sources take part in the fill and spill).
 */
export function federation(services: number, zones: number, perService: number | undefined): FederationSnapshot {
  const rand = prng(services * 1000 + zones);
  const names = Array.from({ length: zones }, (_, i) => `z${i}`);
  const maps = names.map(() => new Map<string, ServiceStats>());
  const demand = names.map(() => new Map<string, number>());
  for (let s = 0; s < services; s++) {
    const key = `ns${s % 50}/svc${s}`;
    const k = perService ?? zones;
    const start = Math.floor(rand() * zones);
    for (let j = 0; j < k; j++) {
      const z = (start + j * 7) % zones;
      const p50 = 5 + Math.floor(rand() * 4) * 5;
      maps[z]!.set(key, {
        healthyEndpoints: 3,
        totalEndpoints: 3,
        capacityRps: 300,
        rps: rand() * 300,
        inFlight: Math.floor(rand() * 4),
        successes: 1000,
        errors: { http5xx: rand() < 0.01 ? 200 : 0, connectFailure: 0, timeout: 0, reset: 0 },
        latencyP50Ms: p50,
        latencyP99Ms: p50 + 20 + Math.floor(rand() * 4) * 50,
        callers: { requests: 1000, successes: rand() < 0.005 ? 800 : 1000, errors: { http5xx: 0, connectFailure: 0, timeout: 0, reset: 0 }, sources: [names[(z + 1) % zones]!, names[(z + 2) % zones]!] },
      });
      if (j < 5) demand[z]!.set(key, 20 + rand() * 200);
    }
    for (let j = 0; j < 5; j++) {
      const z = (start + 3 + j * 11) % zones;
      if (!maps[z]!.has(key)) demand[z]!.set(key, 20 + rand() * 200);
    }
  }
  return {
    zones: names.map((zone, i): ZoneState => ({
      locality: { cloud: `c${i % 2}`, region: `c${i % 2}-r${i % 5}`, zone },
      network: 'n',
      alive: true,
      drained: false,
      reportedAt: 0,
      services: maps[i]!,
      rttMs: new Map(names.filter((n) => n !== zone).slice(0, 20).map((n, j) => [n, 1 + j] as const)),
      demandRps: demand[i]!,
    })),
  };
}

/**
 * Policies for every 10th service: custom egress costs, a 20% cross-cloud cap and a residency rule (sources in
 * c0-r0 stay in cloud c0). The rest use the default policy.
 */
export function benchPolicies(services: number): Map<string, Policy> {
  const out = new Map<string, Policy>();
  for (let s = 0; s < services; s += 10) {
    const namespace = `ns${s % 50}`;
    const name = `svc${s}`;
    out.set(`${namespace}/${name}`, validatePolicy({ namespace, name, cost: { crossCloud: 20 }, crossCloud: { maxShare: 20 }, residency: [{ from: 'c0/c0-r0/*', allow: ['c0/*'] }] }, 'bench'));
  }
  return out;
}

/**
 * The same federation with the stats of `fraction` of the services changed (every 1/fraction-th service, rps ×1.1
 * in each zone it is in): new stats objects and zone states, the same topology. 1 changes every service, 0 none.
 */
function withChanged(snap: FederationSnapshot, fraction: number): FederationSnapshot {
  const every = fraction > 0 ? Math.max(1, Math.round(1 / fraction)) : 0;
  const changed = (key: string) => every > 0 && Number(key.slice(key.indexOf('/svc') + 4)) % every === 0;
  return {
    zones: snap.zones.map((z) => {
      const services = new Map<string, ServiceStats>();
      for (const [k, s] of z.services) services.set(k, changed(k) ? { ...s, rps: s.rps * 1.1 + 1 } : { ...s });
      const demandRps = new Map<string, number>();
      for (const [k, d] of z.demandRps) demandRps.set(k, changed(k) ? d * 1.1 + 1 : d);
      return { ...z, services, demandRps };
    }),
  };
}

/** The naive peer: a plain split proportional to capacity, one row per source, no tiers, reasons or damping. */
function naive(snapshot: FederationSnapshot): number {
  const byService = new Map<string, { zone: string; cap: number }[]>();
  for (const z of snapshot.zones)
    for (const [k, s] of z.services) {
      let l = byService.get(k);
      if (!l) byService.set(k, (l = []));
      l.push({ zone: z.locality.zone, cap: s.capacityRps });
    }
  let cells = 0;
  for (const list of byService.values()) {
    const total = list.reduce((a, b) => a + b.cap, 0);
    for (const src of snapshot.zones) {
      const row = list.map((t) => ({ zone: t.zone, bp: Math.round((t.cap / total) * 10000) }));
      cells += row.length + (src.alive ? 0 : 1);
    }
  }
  return cells;
}

/** Best (lowest) wall and CPU time of `reps` runs after one warm-up: the host is shared, so the minimum is the least disturbed. */
function time<T>(fn: () => T, reps: number, warm = true): { ms: number; cpuMs: number; value: T } {
  let value = warm ? fn() : (undefined as T);
  let ms = Infinity;
  let cpuMs = Infinity;
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    value = fn();
    ms = Math.min(ms, performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpuMs = Math.min(cpuMs, (c.user + c.system) / 1000);
  }
  return { ms, cpuMs, value };
}

/** Reads every row and reason of every table, as writing all tables to the store would (JSON.stringify). */
function readAll(tables: ReadonlyMap<string, ServiceTable>): number {
  let bytes = 0;
  for (const t of tables.values()) bytes += JSON.stringify(t).length;
  return bytes;
}

/**
 * The engine record (KEYS.engineState) a leader writes, at `services` × `zones`: rounds 1 s apart with the default
 * policy (hold-down 10 s, slow start 30 s); one region (every 10th zone) is drained at 1 s and undrained at 4 s, so its
 * zones go out, are held down until 14 s and ramp until 44 s. Counts the rounds whose record changed (the leader's
 * writes), the largest record, the cost of building and serialising it per round, and what a new leader pays to
 * resume (resumeState over every table as JSON-parsed from the store).
 */
export function recordBench(services: number, zones: number, per: number): void {
  const pols = benchPolicies(services);
  const base = federation(services, zones, per);
  const region = new Set(base.zones.filter((_, i) => i % 10 === 0).map((z) => z.locality.zone));
  const drained: FederationSnapshot = { zones: base.zones.map((z) => (region.has(z.locality.zone) ? { ...z, drained: true } : z)) };
  let state = computeWeights(base, pols, undefined, 0).state;
  let last = '';
  let writes = 0;
  let maxBytes = 0;
  let maxEntries = 0;
  let maxServices = 0;
  let buildMs = 0;
  let minMs = Infinity;
  let record: EngineMemoryRecord | undefined;
  let lastTables: ReadonlyMap<string, ServiceTable> | undefined;
  const rounds = 46;
  for (let i = 1; i < rounds; i++) {
    const r = computeWeights(i >= 1 && i < 4 ? drained : base, pols, state, i * 1000);
    state = r.state;
    const t0 = performance.now();
    const text = JSON.stringify(memoryRecord(state, i * 1000));
    const ms = performance.now() - t0;
    buildMs = Math.max(buildMs, ms);
    const rec = JSON.parse(text) as EngineMemoryRecord;
    minMs = Math.min(minMs, ms);
    if (text !== last) writes++;
    last = text;
    maxBytes = Math.max(maxBytes, text.length);
    maxEntries = Math.max(maxEntries, rec.entries.length);
    maxServices = Math.max(maxServices, rec.services.length);
    if (i === 20) {
      lastTables = r.tables;
      record = decodeMemoryRecord(rec);
    }
  }
  // What a new leader reads at 20 s (mid-ramp): every table as JSON, then resumeState.
  const parsed = [...lastTables!.values()].map((t) => JSON.parse(JSON.stringify(t)) as ServiceTable);
  const resume = time(() => resumeState(parsed, record, 20_000), 3);
  const bare = time(() => resumeState(parsed, undefined, 20_000), 1);
  console.log(`\nengine record at ${services} services × ${zones} zones (${per} zones each), a region of ${region.size} zones drained 1–4 s, ${rounds - 1} rounds 1 s apart:`);
  console.log(`  writes ${writes} in ${rounds - 1} rounds (${(writes / (rounds - 1)).toFixed(2)}/s); largest ${(maxBytes / 1024).toFixed(1)} KiB (${maxServices} services, ${maxEntries} zone states);`);
  console.log(`  build + stringify per round ≤ ${buildMs.toFixed(1)} ms (≥ ${minMs.toFixed(1)} ms);`);
  console.log(`  resumeState over ${parsed.length} stored tables at 20 s (mid-ramp): ${resume.ms.toFixed(0)} ms / ${resume.cpuMs.toFixed(0)} ms CPU with the record, ${bare.ms.toFixed(0)} ms without (from reasons)`);
}

const fmt = (x: number, w: number, digits = 0) => x.toFixed(digits).padStart(w);

export async function main(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const withReference = args.includes('--reference');
  const only = args.find((a) => a.startsWith('--shape='))?.slice('--shape='.length);
  let shapes: [number, number][] = quick ? [[1000, 10]] : [[1000, 10], [1000, 50], [1000, 100], [10000, 10], [10000, 50], [10000, 100]];
  if (only !== undefined) shapes = shapes.filter(([s, z]) => `${s}x${z}` === only);
  const deployOnly = args.find((a) => a.startsWith('--deployed='))?.slice('--deployed='.length);
  const deployments: (number | undefined)[] = deployOnly === undefined ? [3, undefined] : [deployOnly === 'all' ? undefined : Number(deployOnly)];
  console.log(`node ${process.version}; times are the best of several runs (wall ms / CPU ms of this process)`);
  console.log('services zones deployed |   first round |  cold round   | typical 10%   | typical 1%    | unchanged     | read all rows | naive peer | cold/naive | reference first | one service (µs)');
  for (const [services, zones] of shapes) {
    for (const per of deployments) {
      const cellsIfAll = services * zones * zones;
      if (per === undefined && cellsIfAll > 20_000_000 && !args.includes('--all')) {
        console.log(`${fmt(services, 8)} ${fmt(zones, 5)} ${'all'.padStart(8)} | skipped: ${cellsIfAll / 1e6}M source×target cells (pass --all)`);
        continue;
      }
      const snap = federation(services, zones, per);
      const big = services * zones >= 500_000 || (per === undefined && cellsIfAll >= 5_000_000);
      const reps = big ? 3 : 5;
      const pols = benchPolicies(services);
      const first = time(() => computeWeights(snap, pols, undefined, 0), reps);
      // Every round below starts from the same settled memory (a first round's result is settled: nothing to damp).
      const settled = first.value.state;
      const all = withChanged(snap, 1);
      const cold = time(() => computeWeights(all, pols, settled, 1000), reps);
      const ten = withChanged(snap, 0.1);
      const typical10 = time(() => computeWeights(ten, pols, settled, 1000), reps);
      const one1 = withChanged(snap, 0.01);
      const typical1 = time(() => computeWeights(one1, pols, settled, 1000), reps);
      const same = withChanged(snap, 0);
      const unchanged = time(() => computeWeights(same, pols, settled, 1000), reps);
      // Fresh tables each time: rows are built on first read and then kept.
      const read = time(() => readAll(computeWeights(snap, pols, undefined, 0).tables), big ? 1 : 3, false);
      const peer = time(() => naive(snap), reps);
      const ref = withReference && per !== undefined ? time(() => reference.computeWeights(snap, pols, undefined, 0), 1, false) : undefined;
      const index = indexSnapshot(snap);
      const key = 'ns7/svc7';
      const mem = first.value.state.services[key];
      const pol = defaultPolicy('ns7', 'svc7');
      const one = time(() => computeServiceFromIndex(index, key, pol, mem, 1000), 200);
      console.log(
        `${fmt(services, 8)} ${fmt(zones, 5)} ${(per === undefined ? 'all' : `${per} zones`).padStart(8)} |${[first, cold, typical10, typical1, unchanged].map((t) => ` ${fmt(t.ms, 6)} / ${fmt(t.cpuMs, 5)} `).join('|')}| ${fmt(read.ms - first.ms, 13)} | ${fmt(peer.ms, 10)} | ${fmt(cold.ms / peer.ms, 10, 1)} | ${ref ? fmt(ref.ms, 15) : '              -'} | ${fmt(one.ms * 1000, 16, 1)}`,
      );
    }
  }
  if (shapes.some(([s, z]) => s === 10000 && z === 100) && deployments.includes(3)) recordBench(10000, 100, 3);
  console.log('\nwall ms / CPU ms. first = first round (no memory). The others start from the first round\'s (settled) memory with new');
  console.log('snapshot objects: cold = every service\'s stats changed (nothing reusable: a full recompute with damping on);');
  console.log('typical 10% / 1% = that fraction of services changed, the rest reused; unchanged = same values, new objects.');
  console.log('No round builds rows until they are read.');
  console.log('read all rows = extra time to JSON.stringify every table of a fresh round (what writing every table costs; the leader writes only changed ones).');
  console.log('naive peer = a capacity-proportional split building every row; reference = the pre-optimisation engine (--reference).');
  console.log('one service = computeServiceFromIndex on an already-indexed snapshot (the incremental path).');
}
