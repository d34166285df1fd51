// The straightforward per-source weight engine (pre-optimisation), kept only as a test oracle for engine.ts; not exported.
// It shares params.ts (policy compilation, tiers, capacity) with engine.ts: what it checks is the optimised round.
import { proximity, type Locality } from '../../api/locality.ts';
import { dampStep, largestRemainder } from './damping.ts';
import { admit, gone, panicReason, panicVerdict, percent, zoneHealth, type Admission, type PanicVerdict } from './eligibility.ts';
import type {
  FederationSnapshot,
  Policy,
  ServiceKey,
  ServiceStats,
  ServiceTable,
  SourceRow,
  TargetShare,
  ZoneMemory,
  ZoneState,
  ZoneVerdict,
} from './types.ts';
import { allowedBy, capacityOf, capCrossCloud, compile, demandOf, EPS, FORGET_AFTER_MS, matches, pairFactor, policyFor, residencyOf, servedTerms, tierLabel, tierOf, zeros, type DistributeRule, type DistributeTarget, type Params } from './params.ts';
import { distributeInto, fill, nearestTier } from './fill.ts';
import { capReason, termReasons, unavailableReason } from './reasons.ts';
import { exceptionFor, keptByPath, pathVerdicts, type PathVerdict } from './paths.ts';

/** The reference's own memory layout (per source zone), independent of the optimised engine's. */
interface ServiceMemory {
  readonly zones: Readonly<Record<string, ZoneMemory>>;
  readonly weights: Readonly<Record<string, Readonly<Record<string, number>>>>;
}
/** Memory carried between the reference's rounds. */
export interface EngineState {
  readonly format: 1;
  readonly services: Readonly<Record<ServiceKey, ServiceMemory>>;
}
/** A full round of the reference. */
export interface EngineResult {
  readonly tables: ReadonlyMap<ServiceKey, ServiceTable>;
  readonly verdicts: readonly ZoneVerdict[];
  readonly state: EngineState;
}
interface ServiceResult {
  readonly table: ServiceTable | undefined;
  readonly verdicts: readonly ZoneVerdict[];
  readonly memory: ServiceMemory;
}

/** The snapshot, indexed once per round. */
export interface SnapshotIndex {
  /** Sorted by zone name. */
  readonly zones: readonly ZoneState[];
  readonly byName: ReadonlyMap<string, ZoneState>;
  /** Alive zones: each gets a row in every table. */
  readonly sources: readonly ZoneState[];
}

/** Indexes a snapshot (sorting zones by name so results do not depend on input order). */
export function indexSnapshot(snapshot: FederationSnapshot): SnapshotIndex {
  const zones = [...snapshot.zones].sort((a, b) => (a.locality.zone < b.locality.zone ? -1 : a.locality.zone > b.locality.zone ? 1 : 0));
  const byName = new Map(zones.map((z) => [z.locality.zone, z] as const));
  return { zones, byName, sources: zones.filter((z) => z.alive) };
}

/** A zone that has, or had, the service. */
interface Candidate {
  readonly name: string;
  readonly loc: Locality;
  readonly zone: ZoneState | undefined;
  readonly stats: ServiceStats | undefined;
  readonly adm: Admission;
  /** Sources for which this zone's eligibility differs from adm's (their own path, see paths.ts). */
  readonly paths: readonly PathVerdict[];
  /** Capacity at 100% utilisation (rps). */
  readonly cap: number;
  /** Capacity offered to the fill: cap × targetUtilization × slow-start ramp. */
  readonly offer: number;
  /** Served latency and load terms (see params.ts servedTerms). */
  readonly servedMs: number;
  readonly util: number;
  readonly load: number;
}



/** Whether `source` may send to candidate t outside panic: t's own verdict unless the source's path says otherwise. */
function pathOk(t: Candidate, source: string): boolean {
  return exceptionFor(t.paths, source)?.eligible ?? t.adm.eligible;
}

function rttFrom(src: ZoneState, dst: string, byName: ReadonlyMap<string, ZoneState>): number | undefined {
  return src.rttMs.get(dst) ?? byName.get(dst)?.rttMs.get(src.locality.zone);
}

/** What the fill decided for one source, kept for the reasons. */
interface SourcePlan {
  /** Real weights over the target list (sum 1, or all 0). */
  readonly weights: number[];
  readonly tiers: number[];
  /** Pair factor per target: latency × cost × load; 0 where residency forbids the zone. */
  readonly lat: number[];
  readonly rtt: number[];
  readonly prox: number[];
  /** Per target: in another cloud than the source. */
  readonly cross: boolean[];
  /** Residency rule of the source (-1: none). */
  readonly res: number;
  /** The cross-cloud cap changed the weights. */
  capped: boolean;
  /** Weight that came from overflow (every tier full at target utilisation). */
  overflow: number[] | undefined;
  readonly demand: number;
  readonly rule: DistributeRule | undefined;
  /** distribute targets with no eligible zone: their share went by failover order... */
  failed: readonly DistributeTarget[];
  /** ...and landed here (weight per target). */
  failover: number[] | undefined;
}



/** FNV-1a over the parts of the rows that matter to the data plane; two lanes for 64 bits. */
function hashRows(rows: readonly SourceRow[]): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ 0x5bd1e995;
  const mix = (x: number) => {
    h1 = Math.imul(h1 ^ x, 0x01000193);
    h2 = Math.imul(h2 ^ x, 0x5bd1e995) ^ (h2 >>> 15);
  };
  const str = (s: string) => {
    for (let i = 0; i < s.length; i++) mix(s.charCodeAt(i));
    mix(0xff);
  };
  for (const row of rows) {
    str(row.sourceZone);
    mix(row.panic ? 1 : 2);
    for (const t of row.targets) {
      str(t.zone);
      mix(t.basisPoints);
      mix(t.tier);
    }
    mix(0xfe);
  }
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}

const EMPTY_MEMORY: ServiceMemory = { zones: {}, weights: {} };

/**
 * Recomputes one service. `index` is the indexed snapshot (see indexSnapshot); `prevMem` is the service's memory
 * from the last round (undefined on the first). Pure.
 */
export function computeServiceFromIndex(index: SnapshotIndex, service: ServiceKey, policy: Policy, prevMem: ServiceMemory | undefined, now: number, explicitPolicy = true): ServiceResult {
  const p = compile(policy);
  const prevZones = prevMem?.zones ?? {};
  const rampNew = prevMem !== undefined;

  // 1. Eligibility, with hysteresis.
  const cands: Candidate[] = [];
  const seen = new Set<string>();
  for (const zone of index.zones) {
    const stats = zone.services.get(service);
    if (!stats || (stats.totalEndpoints <= 0 && stats.healthyEndpoints <= 0)) continue;
    const name = zone.locality.zone;
    seen.add(name);
    const health = zoneHealth(zone, stats, p.drained.has(name), p);
    const base = admit(prevZones[name], health, now, p.holdDownMs, p.slowStartMs, rampNew);
    const pv = pathVerdicts(zone, stats, p.drained.has(name), base, prevZones[name]?.paths, now, p, p.holdDownMs);
    const adm = pv.paths === undefined ? base : { ...base, memory: { ...base.memory, paths: pv.paths } };
    const cap = capacityOf(stats);
    // A zone out for everyone but the sources whose own path is healthy offers its full capacity to them.
    const ramp = adm.eligible ? adm.ramp : pv.exceptions.length > 0 ? 1 : 0;
    cands.push({ name, loc: zone.locality, zone, stats, adm, paths: pv.exceptions, cap, offer: cap * p.u * ramp, ...servedTerms(p, stats, cap) });
  }
  for (const name of Object.keys(prevZones)) {
    if (seen.has(name)) continue;
    const prev = prevZones[name]!;
    if (now - prev.lastSeen > FORGET_AFTER_MS) continue;
    const zone = index.byName.get(name);
    const why = zone === undefined ? 'no report (agent lease gone)' : zone.alive ? 'service no longer reported in this zone' : 'agent lease gone';
    const loc = zone?.locality ?? prev.locality;
    if (!loc) continue;
    cands.push({ name, loc, zone, stats: undefined, adm: gone(prev, now, why), paths: [], cap: 0, offer: 0, ...servedTerms(p, undefined, 0) });
  }
  cands.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  // Targets outside panic: zones eligible for some source (their own verdict, or a source's healthy path).
  const eligible = cands.filter((c) => c.adm.eligible || c.paths.length > 0);
  // 5 (panic) is decided before filling: it changes who may receive traffic at all.
  const counted = (c: (typeof cands)[number]) => c.stats !== undefined && c.zone?.alive === true && !c.zone.drained && !p.drained.has(c.name);
  const demand = index.sources.reduce((sum, z) => sum + demandOf(z, service), 0);
  const verdict = panicVerdict(cands.map((c) => ({
    counted: counted(c), eligible: c.adm.eligible || keptByPath(c.paths), holding: !(c.adm.eligible || keptByPath(c.paths)) && c.adm.memory.status === 'holding',
    healthyEndpoints: c.stats?.healthyEndpoints ?? 0, totalEndpoints: c.stats?.totalEndpoints ?? 0, capacity: c.cap,
  })), demand, p.panicThreshold, p.u);
  const { panic } = verdict;
  const panicZones = cands.filter((c) => counted(c) && c.stats!.healthyEndpoints > 0);
  const targets = panic ? panicZones : eligible;
  const n = targets.length;
  const caps = targets.map((c) => c.cap * (panic ? 1 : c.adm.eligible ? c.adm.ramp : 1));
  const offers = targets.map((c) => (panic ? c.cap * p.u : c.offer));

  // 2-4. Tiers, fill with spillover, latency discount, distribute overrides: one plan per source.
  const sources = index.sources;
  const plans: SourcePlan[] = [];
  for (const src of sources) {
    const tiers = zeros(n);
    const lat = zeros(n);
    const rtts = zeros(n);
    const prox = zeros(n);
    const cross = targets.map((t) => t.loc.cloud !== src.locality.cloud);
    const res = residencyOf(p, src.locality);
    for (let e = 0; e < n; e++) {
      const t = targets[e]!;
      tiers[e] = tierOf(p, src.locality, t.loc);
      const rtt = t.name === src.locality.zone || p.halfMs <= 0 ? 0 : rttFrom(src, t.name, index.byName);
      rtts[e] = rtt !== undefined && rtt > 0 ? rtt : 0;
      prox[e] = proximity(src.locality, t.loc);
      lat[e] = pairFactor(p, allowedBy(p, res, t.loc) && (panic || pathOk(t, src.locality.zone)), rtts[e]!, t.servedMs, prox[e]!, t.load);
    }
    const rule = panic ? undefined : p.rules.find((r) => matches(r.from, src.locality));
    plans.push({ weights: zeros(n), tiers, lat, rtt: rtts, prox, cross, res, capped: false, overflow: undefined, demand: demandOf(src, service), rule, failed: [], failover: undefined });
  }
  const remaining = offers.slice();
  if (n > 0) {
    if (panic) {
      // Residency holds in panic too: each source spreads over the zones it may use.
      for (const plan of plans) {
        let total = 0;
        for (let e = 0; e < n; e++) if (plan.lat[e]! > 0) total += caps[e]!;
        for (let e = 0; e < n; e++) plan.weights[e] = total > 0 && plan.lat[e]! > 0 ? caps[e]! / total : 0;
      }
    } else {
      const filled = plans.filter((pl) => pl.rule === undefined && pl.demand > 0);
      const alloc = fill(
        filled.map((pl) => pl.demand),
        filled,
        remaining,
        caps,
      );
      filled.forEach((pl, i) => {
        const a = alloc[i]!;
        let sum = 0;
        for (let e = 0; e < n; e++) sum += a[e]!;
        for (let e = 0; e < n; e++) pl.weights[e] = sum > 0 ? a[e]! / sum : 0;
        if (pl.overflow) for (let e = 0; e < n; e++) pl.overflow[e] = sum > 0 ? pl.overflow[e]! / sum : 0;
      });
      for (const pl of plans) {
        if (pl.rule !== undefined) distributeInto(pl, targets, remaining, offers, caps);
        else if (pl.demand <= 0) nearestTier(pl.tiers, pl.lat, remaining, offers, pl.weights);
      }
      if (p.maxCrossShare < 1) for (const pl of plans) pl.capped = capCrossCloud(p, pl.weights, pl.cross, pl.lat, offers);
    }
  }

  // 6. Rounding, damping, reasons.
  const rows: SourceRow[] = [];
  const weightsMemory: Record<string, Record<string, number>> = {};
  const tierUtil = (plan: SourcePlan, k: number): number => {
    let used = 0;
    let cap = 0;
    for (let e = 0; e < n; e++) {
      if (plan.tiers[e] !== k) continue;
      used += offers[e]! - remaining[e]!;
      cap += targets[e]!.cap;
    }
    return cap > 0 ? used / cap : 0;
  };
  const outCands = cands.filter((c) => !targets.includes(c));
  for (let si = 0; si < sources.length; si++) {
    const src = sources[si]!;
    const srcName = src.locality.zone;
    const plan = plans[si]!;
    const target = largestRemainder(Array.from(plan.weights));
    const prevRow = prevMem?.weights[srcName];
    let final = target;
    if (!panic && prevRow !== undefined && n > 0) {
      // A zone residency now forbids drops at once, like an ineligible one.
      const prevArr = targets.map((t, e) => (plan.lat[e]! > 0 ? (prevRow[t.name] ?? 0) : 0));
      final = dampStep(prevArr, target, p.maxStep, p.deadband);
    }
    let firstTier = Infinity;
    let usedTier = -1;
    let total = 0;
    for (let e = 0; e < n; e++) {
      if (plan.lat[e]! <= 0) continue;
      firstTier = Math.min(firstTier, plan.tiers[e]!);
      if (final[e]! > 0) usedTier = Math.max(usedTier, plan.tiers[e]!);
      total += final[e]!;
    }
    // The allowed eligible zones of the next two unused tiers are listed at 0 bp (standby), so a data plane that loses
    // its used tiers can fail over tier by tier on its own.
    let standby1 = Infinity;
    for (let e = 0; e < n; e++) if (plan.lat[e]! > 0 && plan.tiers[e]! > usedTier) standby1 = Math.min(standby1, plan.tiers[e]!);
    let standby2 = Infinity;
    for (let e = 0; e < n; e++) if (plan.lat[e]! > 0 && plan.tiers[e]! > standby1) standby2 = Math.min(standby2, plan.tiers[e]!);
    const out: TargetShare[] = [];
    const rowMem: Record<string, number> = {};
    // Targets out for this source alone (its own path, or out for all but others' healthy paths) are listed as outs.
    const pathOuts: { name: string; reason: string }[] = [];
    for (let e = 0; e < n; e++) {
      const t = targets[e]!;
      const bp = final[e]!;
      const tier = plan.tiers[e]!;
      if (!panic && !pathOk(t, srcName)) {
        if (allowedBy(p, plan.res, t.loc)) {
          const why = exceptionFor(t.paths, srcName)?.reason ?? t.adm.reason;
          pathOuts.push({ name: t.name, reason: why });
          out.push({ zone: t.name, basisPoints: 0, tier, reason: why });
        }
        continue;
      }
      if (plan.lat[e]! <= 0 || (bp <= 0 && tier > usedTier && tier !== standby1 && tier !== standby2)) continue;
      if (bp > 0) rowMem[t.name] = bp;
      const own = panic ? undefined : exceptionFor(t.paths, srcName);
      out.push({ zone: t.name, basisPoints: bp, tier, reason: reasonFor(p, plan, e, t, bp, target[e]!, firstTier, usedTier, panic, verdict, tierUtil, targets, own?.reason ?? t.adm.reason) });
    }
    const listedOuts = outCands.filter((c) => allowedBy(p, plan.res, c.loc)).map((c) => ({ name: c.name, reason: c.adm.reason }));
    for (const c of outCands) if (allowedBy(p, plan.res, c.loc)) out.push({ zone: c.name, basisPoints: 0, tier: tierOf(p, src.locality, c.loc), reason: c.adm.reason });
    const unavailableOuts = [...listedOuts, ...pathOuts].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    out.sort((a, b) => a.tier - b.tier || (a.zone < b.zone ? -1 : a.zone > b.zone ? 1 : 0));
    const row: SourceRow = { sourceZone: srcName, targets: out, panic };
    rows.push({
      ...row,
      ...(plan.res >= 0 ? { exclusive: true } : {}),
      ...(total <= 0 && (out.length > 0 || plan.res >= 0) ? { unavailableReason: unavailableReason(p, plan.res, unavailableOuts) } : {}),
    });
    weightsMemory[srcName] = rowMem;
  }

  const zonesMemory: Record<string, ZoneMemory> = {};
  const verdicts: ZoneVerdict[] = [];
  for (const c of cands) {
    zonesMemory[c.name] = c.adm.memory.locality === c.loc ? c.adm.memory : { ...c.adm.memory, locality: c.loc };
    verdicts.push({ zone: c.name, service, eligible: c.adm.eligible, reason: c.adm.reason === '' ? 'eligible' : c.adm.reason });
  }
  const memory: ServiceMemory = { zones: zonesMemory, weights: weightsMemory };
  if (cands.length === 0 && !explicitPolicy) return { table: undefined, verdicts, memory: EMPTY_MEMORY };
  const table: ServiceTable = {
    service,
    namespace: service.slice(0, service.indexOf('/')),
    name: service.slice(service.indexOf('/') + 1),
    version: hashRows(rows),
    computedAt: now,
    rows,
  };
  return { table, verdicts, memory };
}


function reasonFor(
  p: Params,
  plan: SourcePlan,
  e: number,
  t: Candidate,
  bp: number,
  targetBp: number,
  firstTier: number,
  usedTier: number,
  panic: boolean,
  verdict: PanicVerdict,
  tierUtil: (plan: SourcePlan, k: number) => number,
  targets: readonly Candidate[],
  admReason: string,
): string {
  const tier = plan.tiers[e]!;
  const parts: string[] = [];
  const tierText = `tier ${tier} (${tierLabel(p, tier)})`;
  if (panic) {
    parts.push(panicReason(verdict, p.panicThreshold));
    if (!t.adm.eligible) parts.push(`normally ${t.adm.reason}`);
    return parts.join('; ');
  }
  if (bp <= 0) {
    parts.push(tier > usedTier ? `standby: ${tierText}, takes traffic when nearer tiers fail or fill` : `${tierText}: no spare capacity left this round`);
  } else if (plan.rule) {
    const to = plan.rule.to.find((d) => matches(d.matcher, t.loc));
    if (to) parts.push(`distribute from ${plan.rule.fromText}: ${Math.round(to.share * 100)}% to ${to.text}`);
    if (plan.failover && plan.failover[e]! > EPS) {
      const names = plan.failed.map((f) => `${f.text} (${Math.round(f.share * 100)}%)`).join(', ');
      parts.push(`${tierText}: takes by failover order the share of ${names}, which has no eligible zone`);
    }
  } else if (plan.overflow && plan.overflow[e]! > 0 && plan.overflow[e]! >= plan.weights[e]! - EPS) {
    parts.push(`${tierText}: overflow, every tier is at ${percent(p.u)} target utilisation`);
  } else if (tier > firstTier) {
    let prev = -1;
    for (let x = 0; x < targets.length; x++) if (plan.tiers[x]! < tier) prev = Math.max(prev, plan.tiers[x]!);
    parts.push(`${tierText}: spillover, tier ${prev} at ${percent(tierUtil(plan, prev))} utilisation (target ${percent(p.u)})`);
  } else if (plan.demand <= 0) {
    parts.push(`${tierText}: nearest eligible tier; no demand measured from this zone`);
  } else {
    parts.push(`${tierText}: nearest tier has room, ${percent(tierUtil(plan, tier))} utilised (target ${percent(p.u)})`);
  }
  parts.push(...termReasons(p, plan, targets, e));
  if (plan.capped && bp > 0) parts.push(capReason(p, plan.cross[e]!));
  if (admReason !== '') parts.push(admReason);
  if (bp !== targetBp) parts.push(`damped: moving to ${targetBp} bp by at most ${p.maxStep}/round`);
  return parts.join('; ');
}


/**
 * Computes every service's weight table. Services are those any zone reports, any policy names, or the last round
 * remembers. Services without a policy use defaultPolicy. Pure: same inputs, same outputs.
 */
export function computeWeights(snapshot: FederationSnapshot, policies: ReadonlyMap<ServiceKey, Policy>, previous: EngineState | undefined, now: number): EngineResult {
  const index = indexSnapshot(snapshot);
  const keys = new Set<ServiceKey>();
  for (const z of index.zones) for (const k of z.services.keys()) keys.add(k);
  for (const k of policies.keys()) keys.add(k);
  if (previous) for (const k of Object.keys(previous.services)) keys.add(k);
  const sorted = [...keys].sort();
  const tables = new Map<ServiceKey, ServiceTable>();
  const verdicts: ZoneVerdict[] = [];
  const services: Record<ServiceKey, ServiceMemory> = {};
  for (const key of sorted) {
    const r = computeServiceFromIndex(index, key, policyFor(key, policies), previous?.services[key], now, policies.has(key));
    if (r.table) tables.set(key, r.table);
    for (const v of r.verdicts) verdicts.push(v);
    if (r.table) services[key] = r.memory;
  }
  return { tables, verdicts, state: { format: 1, services } };
}

/** Recomputes one service only (the incremental path); same semantics as computeWeights restricted to it. */
export function computeServiceWeights(snapshot: FederationSnapshot, service: ServiceKey, policy: Policy | undefined, previous: EngineState | undefined, now: number): ServiceResult {
  return computeServiceFromIndex(indexSnapshot(snapshot), service, policy ?? policyFor(service, new Map()), previous?.services[service], now, policy !== undefined);
}

/** A copy of `previous` with one service's memory replaced (O(services); callers doing many updates may batch). */
export function withServiceMemory(previous: EngineState | undefined, service: ServiceKey, memory: ServiceMemory | undefined): EngineState {
  const services: Record<ServiceKey, ServiceMemory> = { ...(previous?.services ?? {}) };
  if (memory === undefined) delete services[service];
  else services[service] = memory;
  return { format: 1, services };
}
