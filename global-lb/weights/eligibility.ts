// Zone eligibility for one service: the health test and the hysteresis state machine (out fast, hold-down, slow start).
import type { CallerEvidence, ErrorCounts, ServiceStats, ZoneMemory } from './types.ts';

/** A readmitted zone starts at this fraction of its capacity, so it gets some traffic to prove itself. */
export const SLOW_START_FLOOR = 0.1;

/** What the latest report says, before hysteresis. */
export type Health =
  | { readonly healthy: true; readonly note?: string }
  | { readonly healthy: false; readonly reason: string; /** From callers' evidence alone. */ readonly byCallers?: true };

/**
 * How long a zone whose agent lease is gone stays eligible while its callers still see it serve: its endpoints are
 * not presumed dead with its agent. Equals how long agents keep a zone missing from the directory (HOLD_MISSING_MS,
 * 60 s), so a zone keeps its endpoints everywhere for as long as it keeps its weights. Longer than an agent restart
 * after a 30 s outage.
 */
export const STALE_GRACE_MS = 60_000;

/** Settings the health test reads from the policy. */
export interface HealthRules {
  readonly errorRate: number;
  readonly minRequests: number;
}

/** Renders a fraction as a whole percentage ("41%"); keeps one decimal below 10% so 4.6% does not read as 5%. */
export function percent(x: number): string {
  const p = x * 100;
  if (p > 0 && p < 10 && Math.round(p) !== p) return `${(Math.round(p * 10) / 10).toFixed(1)}%`;
  return `${Math.round(p)}%`;
}

/** Renders milliseconds briefly: "850ms", "12s", "4m". */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 120_000) return `${Math.floor(ms / 1000)}s`;
  if (ms < 7_200_000) return `${Math.floor(ms / 60_000)}m`;
  return `${Math.floor(ms / 3_600_000)}h`;
}

// One shared verdict for the common case: a round checks every candidate of every service.
const HEALTHY: Health = Object.freeze({ healthy: true });

/**
 * The health test for a zone present in the snapshot: out when its SERVED error rate, or the error rate its callers
 * saw (`callers`), is above the ejection threshold, each judged only from minRequests requests. Order matters only
 * for which reason is shown. A verdict from callers' evidence alone carries `byCallers` (see paths.ts).
 */
export function zoneHealth(
  zone: { readonly alive: boolean; readonly drained: boolean; readonly leaseGoneForMs?: number },
  stats: ServiceStats,
  drainedByPolicy: boolean,
  rules: HealthRules,
): Health {
  const core = coreHealth(zone, stats, drainedByPolicy, rules);
  if (!core.healthy) return core;
  const seen = callersHealth(stats.callers, rules);
  if (!seen.healthy) return seen;
  if (!zone.alive) {
    const c = stats.callers;
    const gone = zone.leaseGoneForMs ?? 0;
    const saw = c !== undefined && c.requests > 0 ? `callers still see it serve (${c.successes} of ${c.requests} ok)` : 'no caller has seen it fail';
    return { healthy: true, note: `stale: agent lease gone ${duration(gone)} ago; kept while ${saw}, for at most ${duration(STALE_GRACE_MS)}` };
  }
  return HEALTHY;
}

/**
 * What holds for every source alike: the agent's lease (or its stale grace), drains, healthy endpoints and the error
 * rate the zone's endpoints SERVED. A path failure never shows here.
 */
export function coreHealth(
  zone: { readonly alive: boolean; readonly drained: boolean; readonly leaseGoneForMs?: number },
  stats: ServiceStats,
  drainedByPolicy: boolean,
  rules: HealthRules,
): Health {
  if (!zone.alive && !(zone.leaseGoneForMs !== undefined && zone.leaseGoneForMs < STALE_GRACE_MS)) {
    return { healthy: false, reason: zone.leaseGoneForMs !== undefined ? `agent lease gone (stale for ${duration(zone.leaseGoneForMs)}, grace ${duration(STALE_GRACE_MS)})` : 'agent lease gone' };
  }
  if (zone.drained) return { healthy: false, reason: 'drained by operator' };
  if (drainedByPolicy) return { healthy: false, reason: 'drained by policy (drainedZones)' };
  if (stats.healthyEndpoints <= 0) return { healthy: false, reason: `no healthy endpoint (0 of ${stats.totalEndpoints})` };
  // SERVED: what the zone's own endpoints answered. Judged first: it is the zone's own word about itself (not for a
  // stale zone: its last report says nothing about now).
  const served = zone.alive ? errorRate(stats.errors, stats.successes, rules) : undefined;
  if (served !== undefined && served > rules.errorRate) return { healthy: false, reason: `error rate ${percent(served)} > ejection ${percent(rules.errorRate)} (served by its endpoints)` };
  return HEALTHY;
}

/**
 * The callers' evidence, summed over every caller zone: the error rate they saw (including connect failures and
 * resets its endpoints never see), then their outlier ejection. What one source saw of its own path is judged apart,
 * per source (paths.ts).
 */
export function callersHealth(c: CallerEvidence | undefined, rules: HealthRules): Health {
  if (c === undefined) return HEALTHY;
  const seen = errorRate(c.errors, c.successes, rules);
  if (seen !== undefined && seen > rules.errorRate) {
    const who = c.sources.length > 0 ? ` in ${c.sources.join(', ')}` : '';
    const reason = `error rate ${percent(seen)} > ejection ${percent(rules.errorRate)} (seen by callers${who})`;
    // Mostly 5xx: the zone answered with errors, which is no path failure, so no healthy path may keep it (a source's
    // own window can still be under the threshold while a failure starts). Transport failures (connect, timeout,
    // reset) are what a cut path looks like.
    const e = c.errors;
    const transport = e.connectFailure + e.timeout + e.reset;
    return transport * 2 >= transport + e.http5xx ? { healthy: false, byCallers: true, reason } : { healthy: false, reason };
  }
  // Outlier ejection: callers stop sending to a zone they ejected, so its error rate soon has too few requests to
  // judge. While at least half the caller sidecars that know the zone have ejected every endpoint, it stays out.
  const ejecting = c.sidecarsEjectingAll ?? 0;
  if (ejectionQuorum(ejecting, c.sidecarsKnowing ?? ejecting)) {
    const who = c.ejectingSources !== undefined && c.ejectingSources.length > 0 ? ` in ${c.ejectingSources.join(', ')}` : '';
    return { healthy: false, byCallers: true, reason: `every endpoint ejected by the outlier detection of ${ejecting} of ${c.sidecarsKnowing ?? ejecting} caller sidecars${who}` };
  }
  return HEALTHY;
}

/** At least half the caller sidecars that know a zone ejected every endpoint of it. */
export function ejectionQuorum(ejectingAll: number, knowing: number): boolean {
  return ejectingAll > 0 && ejectingAll * 2 >= knowing;
}

/** What the panic rule reads about one zone that has (or had) the service. */
export interface PanicInput {
  /** The zone counts at all: alive, not drained by the operator or the policy, and reporting the service. */
  readonly counted: boolean;
  readonly eligible: boolean;
  /** Held down (healthy again, waiting for readmission): coming back, so not lost capacity. */
  readonly holding: boolean;
  readonly healthyEndpoints: number;
  readonly totalEndpoints: number;
  /** Capacity at 100% utilisation (rps). */
  readonly capacity: number;
}

/** The panic verdict of one service, with what the reason shows. */
export interface PanicVerdict {
  readonly panic: boolean;
  /** Healthy endpoints of eligible zones over every endpoint of the zones that count (held-down zones excluded). */
  readonly eligibleFraction: number;
  /** Capacity of the eligible zones at the target utilisation, and the service's measured demand (rps). */
  readonly eligibleOffer: number;
  readonly demand: number;
}

/**
 * Step 5, panic: too little healthy capacity remains. Both must hold: the eligible zones' endpoints are below
 * panicThreshold of all (held-down zones are coming back, so they are not counted as lost: an undrain never causes
 * panic), and their capacity at the target utilisation cannot carry the service's measured demand (a 40% remnant
 * that carries the load is no reason to send traffic to failing zones). With no measured demand the endpoint fraction
 * alone decides, as there is nothing to size by. Panic needs some zone with a healthy endpoint to spread over.
 */
export function panicVerdict(zones: Iterable<PanicInput>, demand: number, threshold: number, targetUtilization: number): PanicVerdict {
  let healthyEligible = 0;
  let total = 0;
  let offer = 0;
  let spreadable = 0;
  for (const z of zones) {
    if (!z.counted) continue;
    if (z.healthyEndpoints > 0) spreadable++;
    if (z.holding) continue;
    total += z.totalEndpoints;
    if (z.eligible) {
      healthyEligible += z.healthyEndpoints;
      offer += z.capacity * targetUtilization;
    }
  }
  const eligibleFraction = total > 0 ? healthyEligible / total : 0;
  const short = eligibleFraction < threshold;
  const overloaded = !(demand > 0) || demand > offer;
  return { panic: short && overloaded && spreadable > 0, eligibleFraction, eligibleOffer: offer, demand };
}

/** The panic reason every target of a panicking row carries. */
export function panicReason(v: PanicVerdict, threshold: number): string {
  const load = v.demand > 0 ? ` and their capacity at target (${Math.round(v.eligibleOffer)} rps) cannot carry the demand (${Math.round(v.demand)} rps)` : '';
  return `panic: only ${percent(v.eligibleFraction)} of endpoints eligible (< ${percent(threshold)})${load}; spread over every zone with a healthy endpoint by capacity`;
}

/** errors / (errors + successes), or undefined below minRequests (too few to judge). */
export function errorRate(e: ErrorCounts, successes: number, rules: HealthRules): number | undefined {
  const errors = e.http5xx + e.connectFailure + e.timeout + e.reset;
  const total = errors + successes;
  if (!(total > 0) || total < rules.minRequests) return undefined;
  return errors / total;
}

/** The verdict of one round. */
export interface Admission {
  readonly eligible: boolean;
  /** Fraction of capacity offered while slow-starting; 1 when not ramping, 0 when not eligible. */
  readonly ramp: number;
  /** Empty for an eligible zone at full strength. */
  readonly reason: string;
  readonly memory: ZoneMemory;
}

/**
 * The hysteresis state machine.
 * - in + unhealthy → out at once (fast failover).
 * - out + healthy → holding (healthy since now); holding + unhealthy → out again (the hold-down restarts).
 * - holding for ≥ holdDown → in, ramping from SLOW_START_FLOOR to 1 over slowStart.
 * - unknown zone: unhealthy → out; healthy → in, ramping only when `rampNew` (the service already had memory, so this
 *   zone joined later; on the engine's first round nothing ramps, so a restart does not throttle every zone).
 * Invariant: eligible ⇔ memory.status === 'in'.
 */
export function admit(prev: ZoneMemory | undefined, health: Health, now: number, holdDownMs: number, slowStartMs: number, rampNew: boolean): Admission {
  const a = transition(prev, health, now, holdDownMs, slowStartMs, rampNew);
  // A healthy verdict with a note (a stale zone) says so wherever the zone's reason shows.
  return health.healthy && health.note !== undefined && a.eligible ? { ...a, reason: a.reason ? `${a.reason}; ${health.note}` : health.note } : a;
}

function transition(prev: ZoneMemory | undefined, health: Health, now: number, holdDownMs: number, slowStartMs: number, rampNew: boolean): Admission {
  if (!health.healthy) {
    const wasOut = prev !== undefined && prev.status !== 'in';
    const since = prev !== undefined && prev.status === 'out' ? prev.since : now;
    const memory: ZoneMemory = health.byCallers ? { status: 'out', since, outReason: health.reason, lastSeen: now, byCallers: true } : { status: 'out', since, outReason: health.reason, lastSeen: now };
    const forHow = wasOut && prev.status === 'out' && now - since >= 1000 ? ` for ${duration(now - since)}` : '';
    return { eligible: false, ramp: 0, reason: `out — ${health.reason}${forHow}`, memory };
  }
  if (prev === undefined) {
    const memory: ZoneMemory = rampNew && slowStartMs > 0 ? { status: 'in', since: now, rampStart: now, lastSeen: now } : { status: 'in', since: now, lastSeen: now };
    return inRound(memory, now, slowStartMs);
  }
  if (prev.status === 'out' || prev.status === 'holding') {
    const healthySince = prev.status === 'holding' ? prev.since : now;
    if (now - healthySince >= holdDownMs) {
      const memory: ZoneMemory = slowStartMs > 0 ? { status: 'in', since: now, rampStart: now, lastSeen: now } : { status: 'in', since: now, lastSeen: now };
      return inRound(memory, now, slowStartMs);
    }
    const memory: ZoneMemory = { status: 'holding', since: healthySince, lastSeen: now, ...(prev.outReason !== undefined ? { outReason: prev.outReason } : {}), ...(prev.byCallers ? { byCallers: true as const } : {}) };
    const was = prev.outReason !== undefined ? ` (was out: ${prev.outReason})` : '';
    return { eligible: false, ramp: 0, reason: `held down — healthy for ${duration(now - healthySince)} of ${duration(holdDownMs)}${was}`, memory };
  }
  // Path memory is the caller's to attach each round (see paths.ts), never carried over from here.
  const { paths: _paths, ...kept } = prev;
  return inRound({ ...kept, lastSeen: now }, now, slowStartMs);
}

function inRound(memory: ZoneMemory, now: number, slowStartMs: number): Admission {
  if (memory.rampStart === undefined) return { eligible: true, ramp: 1, reason: '', memory };
  const elapsed = now - memory.rampStart;
  if (slowStartMs <= 0 || elapsed >= slowStartMs) {
    const { rampStart: _done, ...rest } = memory;
    return { eligible: true, ramp: 1, reason: '', memory: rest };
  }
  const ramp = Math.max(SLOW_START_FLOOR, elapsed / slowStartMs);
  return { eligible: true, ramp, reason: `slow start ${percent(ramp)} (${duration(elapsed)} of ${duration(slowStartMs)})`, memory };
}

/** Memory for a zone that has vanished from the snapshot (its report aged out with its lease). */
export function gone(prev: ZoneMemory, now: number, why: string): Admission {
  const since = prev.status === 'out' ? prev.since : now;
  const forHow = prev.status === 'out' && now - since >= 1000 ? ` for ${duration(now - since)}` : '';
  const memory: ZoneMemory = { status: 'out', since, outReason: why, lastSeen: prev.lastSeen, ...(prev.locality ? { locality: prev.locality } : {}) };
  return { eligible: false, ramp: 0, reason: `out — ${why}${forHow}`, memory };
}
