// Shared by the weight engine and its test oracle: policy compilation, tiers, locality matching, capacity and demand.
import { proximity, type Locality, type LocalityLevel } from '../../api/locality.ts';
import { defaultPolicy, durationMs, parseLocalityMatcher, type LocalityMatcher } from '../../api/policy.ts';
import type { Policy, ServiceKey, ServiceStats } from './types.ts';

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

/** A zone's demand for a service (rps, preferring its demand estimate); 0 when unknown or invalid. */
export function demandOf(s: ServiceStats | undefined): number {
  if (!s) return 0;
  const d = s.demandRps ?? s.rps;
  return d > 0 && Number.isFinite(d) ? d : 0;
}

let sharedDefault: Policy | undefined;

/** Services without a policy share one default policy object, so its compiled form is cached once, not per service. */
export function policyFor(service: ServiceKey, policies: ReadonlyMap<ServiceKey, Policy>): Policy {
  return policies.get(service) ?? (sharedDefault ??= defaultPolicy('default', 'default'));
}
