// Shared by the weight engine and its test oracle: policy compilation, tiers, locality matching, capacity, demand and the in-tier terms.
import { proximity, type Locality, type LocalityLevel } from '../../api/locality.ts';
import { DEFAULT_EGRESS_COST, defaultPolicy, durationMs, parseLocalityMatcher, type LocalityMatcher } from '../../api/policy.ts';
import type { Policy, ServiceKey, ServiceStats, ZoneState } from './types.ts';

/** Capacity assumed per healthy endpoint when a zone reports none, so such zones still get a share. */
export const NOMINAL_RPS_PER_ENDPOINT = 100;
/** Memory of a zone that has not been seen for this long is dropped. */
export const FORGET_AFTER_MS = 10 * 60_000;
export const EPS = 1e-9;

// Plain arrays, not typed arrays: rows are short, and allocating typed arrays per row dominated the profile.
export function zeros(n: number): number[] {
  const a = new Array<number>(n);
  for (let i = 0; i < n; i++) a[i] = 0;
  return a;
}

export interface DistributeTarget {
  readonly text: string;
  readonly matcher: LocalityMatcher;
  readonly share: number;
}
export interface DistributeRule {
  readonly from: LocalityMatcher;
  readonly fromText: string;
  readonly to: readonly DistributeTarget[];
}

/** A residency rule: sources matching `from` may send only to localities matching one of `allow`. */
export interface ResidencyRule {
  readonly from: LocalityMatcher;
  readonly fromText: string;
  readonly allow: readonly LocalityMatcher[];
  readonly allowText: readonly string[];
}

/** The locality-pair names by proximity (0 same zone .. 3 different cloud), as policies and topologies spell them. */
export const PAIR_NAMES = ['sameZone', 'sameRegion', 'sameCloud', 'crossCloud'] as const;

/** A policy compiled into what the hot loop reads. */
export interface Params {
  readonly u: number;
  readonly errorRate: number;
  readonly minRequests: number;
  readonly holdDownMs: number;
  readonly slowStartMs: number;
  readonly halfMs: number;
  readonly maxStep: number;
  readonly deadband: number;
  readonly panicThreshold: number;
  readonly drained: ReadonlySet<string>;
  /** Tier by proximity (0 same zone .. 3 different cloud) when failover uses levels. */
  readonly tierByProximity: readonly number[] | undefined;
  readonly levels: readonly LocalityLevel[];
  readonly zoneTier: ReadonlyMap<string, number> | undefined;
  readonly zoneTierCount: number;
  readonly rules: readonly DistributeRule[];
  /** Relative egress cost by proximity (0 same zone .. 3 different cloud). */
  readonly cost: readonly number[];
  /** Cost at which a target gets half the share; 0: no cost term. */
  readonly costHalf: number;
  /** Largest fraction of a source's traffic that may leave its cloud outside panic; 1: no cap. */
  readonly maxCrossShare: number;
  readonly residency: readonly ResidencyRule[];
}

const paramsCache = new WeakMap<Policy, Params>();

export function compile(policy: Policy): Params {
  const cached = paramsCache.get(policy);
  if (cached) return cached;
  const levels = policy.failover.priority;
  let tierByProximity: number[] | undefined;
  let zoneTier: Map<string, number> | undefined;
  let zoneTierCount = 0;
  if (policy.failover.zones) {
    zoneTier = new Map();
    policy.failover.zones.forEach((tier, i) => {
      for (const z of typeof tier === 'string' ? [tier] : tier) zoneTier!.set(z, i);
    });
    zoneTierCount = policy.failover.zones.length;
  } else {
    const lv = levels ?? [];
    // A level "matches" when the two localities share it; unmatched levels form a prefix of the nearest-first list.
    const matches = (level: LocalityLevel, prox: number) => (level === 'zone' ? prox === 0 : level === 'region' ? prox <= 1 : prox <= 2);
    tierByProximity = [0, 1, 2, 3].map((prox) => lv.filter((l) => !matches(l, prox)).length);
  }
  const params: Params = {
    u: policy.targetUtilization,
    errorRate: policy.ejection.errorRate,
    minRequests: policy.ejection.minRequests,
    holdDownMs: durationMs(policy.holdDown),
    slowStartMs: durationMs(policy.slowStart),
    halfMs: durationMs(policy.latency.halfWeightAt),
    maxStep: policy.maxStep,
    deadband: policy.deadband,
    panicThreshold: policy.panicThreshold,
    drained: new Set(policy.drainedZones),
    tierByProximity,
    levels: levels ?? [],
    zoneTier,
    zoneTierCount,
    rules: policy.distribute.map((r) => ({
      from: parseLocalityMatcher(r.from)!,
      fromText: r.from,
      to: Object.entries(r.to)
        .filter(([, pct]) => pct > 0)
        .map(([text, pct]) => ({ text, matcher: parseLocalityMatcher(text)!, share: pct / 100 })),
    })),
    cost: PAIR_NAMES.map((k) => policy.cost[k] ?? DEFAULT_EGRESS_COST[k]),
    costHalf: policy.cost.halfWeightAt,
    maxCrossShare: policy.crossCloud.maxShare / 100,
    residency: policy.residency.map((r) => ({ from: parseLocalityMatcher(r.from)!, fromText: r.from, allow: r.allow.map((a) => parseLocalityMatcher(a)!), allowText: r.allow })),
  };
  paramsCache.set(policy, params);
  return params;
}

export function tierOf(p: Params, src: Locality, dst: Locality): number {
  if (p.zoneTier) return p.zoneTier.get(dst.zone) ?? p.zoneTierCount;
  return p.tierByProximity![proximity(src, dst)]!;
}

export function tierLabel(p: Params, tier: number): string {
  if (p.zoneTier) return tier < p.zoneTierCount ? 'explicit order' : 'unlisted zones';
  return tier < p.levels.length ? `same ${p.levels[tier]}` : 'anywhere';
}

export function matches(m: LocalityMatcher, l: Locality): boolean {
  return (m.cloud === undefined || m.cloud === l.cloud) && (m.region === undefined || m.region === l.region) && (m.zone === undefined || m.zone === l.zone);
}

/** A zone's capacity for a service: what it reports, or a nominal rate per healthy endpoint. */
export function capacityOf(s: ServiceStats): number {
  return s.capacityRps > 0 ? s.capacityRps : s.healthyEndpoints * NOMINAL_RPS_PER_ENDPOINT;
}

/**
 * A source zone's demand for a service: what its clients ASKED (ZoneState.demandRps), whether or not it hosts a
 * copy; 0 when the zone measured none (what a zone serves is other zones' demand, so it is never a stand-in).
 */
export function demandOf(zone: ZoneState, service: ServiceKey): number {
  const d = zone.demandRps.get(service);
  return d !== undefined && d > 0 && Number.isFinite(d) ? d : 0;
}

const finite = (x: number | undefined): number | undefined => (x !== undefined && Number.isFinite(x) && x >= 0 ? x : undefined);

/**
 * The served part of a destination's effective latency: p50 + (p99 − p50) / 4, from the zone's own endpoints'
 * histogram (a quarter of the tail counts: a slow tail hurts, but the median is what most requests see). 0 when the
 * window had no requests; p99 defaults to p50.
 */
export function servedLatencyMs(s: ServiceStats): number {
  const p50 = finite(s.latencyP50Ms);
  const p99 = finite(s.latencyP99Ms);
  if (p50 === undefined) return p99 !== undefined ? p99 / 4 : 0;
  return p50 + Math.max(0, (p99 ?? p50) - p50) / 4;
}

/**
 * A destination's measured utilisation: the larger of served rps and the rate its in-flight requests imply by
 * Little's law (inFlight / p50), over its capacity. 0 when the capacity is unknown.
 */
export function utilisation(s: ServiceStats, cap: number): number {
  if (cap <= 0) return 0;
  const rps = finite(s.rps) ?? 0;
  const p50 = finite(s.latencyP50Ms);
  const inFlight = finite(s.inFlight) ?? 0;
  const implied = p50 !== undefined && p50 > 0 ? (inFlight * 1000) / p50 : 0;
  return Math.max(rps, implied) / cap;
}

/** The load term: 1 up to the target utilisation, then target / utilisation (a zone at twice the target gets half), at least 0.1. */
export function utilFactor(p: Params, util: number): number {
  return util <= p.u ? 1 : Math.max(0.1, p.u / util);
}

/** The latency term: halfWeightAt / (halfWeightAt + rtt + served latency); 1 when the policy disables it. */
export function latencyFactor(p: Params, rttMs: number, servedMs: number): number {
  return p.halfMs > 0 ? p.halfMs / (p.halfMs + rttMs + servedMs) : 1;
}

/** The cost term for a locality pair (by proximity): costHalf / (costHalf + cost); 1 when disabled. */
export function costFactor(p: Params, prox: number): number {
  return p.costHalf > 0 ? p.costHalf / (p.costHalf + p.cost[prox]!) : 1;
}

/**
 * How much a source asks of a destination inside a tier, per unit of spare capacity: latency × cost × load, and 0
 * when residency forbids the destination (0 is what every later step reads as "not allowed").
 */
export function pairFactor(p: Params, allowed: boolean, rttMs: number, servedMs: number, prox: number, load: number): number {
  return allowed ? latencyFactor(p, rttMs, servedMs) * costFactor(p, prox) * load : 0;
}

/** The index of the residency rule a source matches (first wins), or -1 (unrestricted). */
export function residencyOf(p: Params, src: Locality): number {
  for (let i = 0; i < p.residency.length; i++) if (matches(p.residency[i]!.from, src)) return i;
  return -1;
}

/** Whether a destination is allowed under a residency rule (-1: no rule, everything is). */
export function allowedBy(p: Params, rule: number, dst: Locality): boolean {
  if (rule < 0) return true;
  for (const m of p.residency[rule]!.allow) if (matches(m, dst)) return true;
  return false;
}

/**
 * Applies the cross-cloud cap to one source's weights (sum 1): when more than maxCrossShare goes to zones of another
 * cloud (`cross[e]`) and some allowed zone of the source's cloud exists, the cross-cloud weights shrink to the cap
 * and the rest moves to the in-cloud zones (in proportion to their weights, or to offer × factor when they had
 * none). Returns whether it capped. Outside panic only (the caller's business).
 */
export function capCrossCloud(p: Params, weights: number[], cross: readonly boolean[], factor: readonly number[], offers: readonly number[]): boolean {
  const n = weights.length;
  let x = 0;
  let inSum = 0;
  let inAllowed = 0;
  for (let e = 0; e < n; e++) {
    if (cross[e]) x += weights[e]!;
    else {
      inSum += weights[e]!;
      if (factor[e]! > 0) inAllowed++;
    }
  }
  if (x <= p.maxCrossShare + EPS || inAllowed === 0) return false;
  const excess = x - p.maxCrossShare;
  const keep = p.maxCrossShare / x;
  let basis = 0;
  if (inSum <= EPS) for (let e = 0; e < n; e++) if (!cross[e] && factor[e]! > 0) basis += offers[e]! * factor[e]!;
  for (let e = 0; e < n; e++) {
    if (cross[e]) weights[e] = weights[e]! * keep;
    else if (inSum > EPS) weights[e] = weights[e]! + (excess * weights[e]!) / inSum;
    else if (factor[e]! > 0) weights[e] = basis > 0 ? (excess * offers[e]! * factor[e]!) / basis : excess / inAllowed;
  }
  return true;
}

let sharedDefault: Policy | undefined;

/** Services without a policy share one default policy object, so its compiled form is cached once, not per service. */
export function policyFor(service: ServiceKey, policies: ReadonlyMap<ServiceKey, Policy>): Policy {
  return policies.get(service) ?? (sharedDefault ??= defaultPolicy('default', 'default'));
}

/** What a destination's own report contributes to every pair factor toward it (computed once per round). */
export interface ServedTerms {
  /** servedLatencyMs of its report. */
  readonly servedMs: number;
  /** Measured utilisation (see utilisation). */
  readonly util: number;
  /** utilFactor of it. */
  readonly load: number;
}

const NO_TERMS: ServedTerms = Object.freeze({ servedMs: 0, util: 0, load: 1 });

/** The served terms of a destination (a vanished one, without stats, has none). */
export function servedTerms(p: Params, s: ServiceStats | undefined, cap: number): ServedTerms {
  if (s === undefined) return NO_TERMS;
  const servedMs = servedLatencyMs(s);
  const util = utilisation(s, cap);
  const load = utilFactor(p, util);
  return servedMs === 0 && load === 1 && util === 0 ? NO_TERMS : { servedMs, util, load };
}
