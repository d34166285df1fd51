// Local outlier detection: a pure state machine that ejects endpoints after consecutive failures and lets them back with time or a passed health check.
import type { Outcome } from '../types.ts';

/** Thresholds, in milliseconds and counts (api/sidecar-config.ts gives the defaults). */
export interface OutlierConfig {
  /** 0 disables this trigger. */
  readonly consecutive5xx: number;
  /** Connect failures, resets and timeouts. 0 disables this trigger. */
  readonly consecutiveConnectFailures: number;
  readonly baseEjectionTime: number;
  readonly maxEjectionTime: number;
  readonly maxEjectionPercent: number;
}

/** What the detector knows about one endpoint. */
export interface OutlierEntry {
  readonly consecutive5xx: number;
  readonly consecutiveConnectFailures: number;
  /** How many times it was ejected (decays by one per base ejection time spent un-ejected). */
  readonly ejections: number;
  /** Ejected while now < ejectedUntil; 0 when never ejected. */
  readonly ejectedUntil: number;
}

/**
 * The detector's state for one destination service.
 *
 * Invariants:
 * - An endpoint is ejected at `now` iff its entry's ejectedUntil > now. Un-ejection needs no event, only time, or
 *   unejectRecovered when the zone agent's active health check says the endpoint is ready again.
 * - Ejection length = min(baseEjectionTime × ejections, maxEjectionTime), where ejections counts this one.
 * - An ejection happens only while fewer than max(1, floor(maxEjectionPercent% × zone size)) endpoints of the
 *   endpoint's zone are ejected (maxEjectionPercent 0 disables ejection). Once the cap is reached the failure
 *   counters keep counting, so the endpoint is ejected at its next failure after room frees up.
 * - A success resets both consecutive counters; a 5xx resets the connect-failure counter and vice versa.
 * - Ejecting resets both counters, so a freshly returned endpoint needs a full run of failures to go again.
 * - `entries` holds listed endpoints only; `departed` holds, for endpoints that left the set (the agent took them
 *   out as unhealthy, or discovery dropped them), the entries worth keeping (ejected at least once), at most
 *   DEPARTED_CAP of them, oldest dropped first. A departed entry never counts as ejected.
 * - The state is never mutated: record returns a new state, or the same object when nothing changed.
 */
export interface OutlierState {
  readonly config: OutlierConfig;
  /** Endpoint id -> zone, for the per-zone ejection cap. */
  readonly zoneOf: ReadonlyMap<string, string>;
  readonly zoneSize: ReadonlyMap<string, number>;
  readonly entries: ReadonlyMap<string, OutlierEntry>;
  /** Entries of endpoints no longer listed, kept so a returning endpoint keeps its ejection multiplier. */
  readonly departed: ReadonlyMap<string, OutlierEntry>;
}

/** How many departed entries a service keeps (a bound for endpoint churn; Map order makes the oldest go first). */
export const DEPARTED_CAP = 1024;

/** What record did, for metrics and logs. */
export type OutlierEvent =
  | { readonly kind: 'ejected'; readonly endpoint: string; readonly zone: string; readonly until: number; readonly ejections: number }
  | { readonly kind: 'ejection-capped'; readonly endpoint: string; readonly zone: string };

/** An ejection ended early by unejectRecovered. */
export interface Unejection {
  readonly endpoint: string;
  readonly zone: string;
  /** Why: the zone agent's active health check passed again (Envoy's successful_active_health_check_uneject_host). */
  readonly reason: 'health_check';
}

const EMPTY: OutlierEntry = Object.freeze({ consecutive5xx: 0, consecutiveConnectFailures: 0, ejections: 0, ejectedUntil: 0 });

/** A fresh detector for the given endpoints (id and zone). */
export function createOutlierState(config: OutlierConfig, endpoints: Iterable<{ readonly id: string; readonly zone: string }>): OutlierState {
  return withEndpoints({ config, zoneOf: new Map(), zoneSize: new Map(), entries: new Map(), departed: new Map() }, endpoints);
}

/**
 * Carries what is known over to a new endpoint set (config reload, discovery change). A gone endpoint's entry moves
 * to `departed` when it was ever ejected (else it is forgotten); a listed endpoint takes its entry back from there.
 */
export function withEndpoints(state: OutlierState, endpoints: Iterable<{ readonly id: string; readonly zone: string }>, config: OutlierConfig = state.config): OutlierState {
  const zoneOf = new Map<string, string>();
  const zoneSize = new Map<string, number>();
  const entries = new Map<string, OutlierEntry>();
  for (const e of endpoints) {
    if (zoneOf.has(e.id)) continue;
    zoneOf.set(e.id, e.zone);
    zoneSize.set(e.zone, (zoneSize.get(e.zone) ?? 0) + 1);
    const old = state.entries.get(e.id) ?? state.departed.get(e.id);
    if (old) entries.set(e.id, old);
  }
  const departed = new Map<string, OutlierEntry>();
  for (const [id, e] of state.departed) if (!zoneOf.has(id)) departed.set(id, e);
  for (const [id, e] of state.entries) {
    if (zoneOf.has(id) || e.ejections === 0) continue;
    departed.delete(id);
    departed.set(id, e);
  }
  for (const id of departed.keys()) {
    if (departed.size <= DEPARTED_CAP) break;
    departed.delete(id);
  }
  return { config, zoneOf, zoneSize, entries, departed };
}

/** The endpoints of `endpoints` that `state` does not list: new ones, and ones coming back (see unejectRecovered). */
export function rejoining(state: OutlierState, endpoints: Iterable<{ readonly id: string }>): string[] {
  const out = new Set<string>();
  for (const e of endpoints) if (!state.zoneOf.has(e.id)) out.add(e.id);
  return [...out];
}

/**
 * Ends the ejection of endpoints the zone agent's active health check found ready again, as Envoy's
 * successful_active_health_check_uneject_host does. Nobody sends traffic to an ejected endpoint, so without this
 * only time ends an ejection, even long after the endpoint is back.
 * Rules: an ejected endpoint of `recovered` is back at `now` (ejectedUntil = now, so the multiplier's decay counts
 * from its return); every recovered endpoint's failure counters restart, so it needs a full run of failures to go
 * again. `ejections` (the multiplier) is kept, as in Envoy: an endpoint that passes health checks yet fails real
 * traffic is ejected for longer each time. Unknown (unlisted) ids are ignored.
 * Pure: returns the same state object when nothing changed, and one Unejection per ejection ended.
 */
export function unejectRecovered(state: OutlierState, recovered: Iterable<string>, now: number): { state: OutlierState; unejected: Unejection[] } {
  const unejected: Unejection[] = [];
  let entries: Map<string, OutlierEntry> | undefined;
  for (const id of recovered) {
    const zone = state.zoneOf.get(id);
    const cur = (entries ?? state.entries).get(id);
    if (zone === undefined || cur === undefined) continue;
    const ejected = cur.ejectedUntil > now;
    if (!ejected && cur.consecutive5xx === 0 && cur.consecutiveConnectFailures === 0) continue;
    entries ??= new Map(state.entries);
    entries.set(id, { consecutive5xx: 0, consecutiveConnectFailures: 0, ejections: cur.ejections, ejectedUntil: ejected ? now : cur.ejectedUntil });
    if (ejected) unejected.push({ endpoint: id, zone, reason: 'health_check' });
  }
  return { state: entries ? { ...state, entries } : state, unejected };
}

/** True when the endpoint is ejected at `now`. */
export function isEjected(state: OutlierState, endpoint: string, now: number): boolean {
  const e = state.entries.get(endpoint);
  return e !== undefined && e.ejectedUntil > now;
}

/** How many endpoints of a zone are ejected at `now`. */
export function ejectedInZone(state: OutlierState, zone: string, now: number): number {
  let n = 0;
  for (const [id, e] of state.entries) if (e.ejectedUntil > now && state.zoneOf.get(id) === zone) n++;
  return n;
}

/** True when at least one endpoint is ejected at `now` (lets pickers skip per-endpoint checks in the common case). */
export function anyEjected(state: OutlierState, now: number): boolean {
  for (const e of state.entries.values()) if (e.ejectedUntil > now) return true;
  return false;
}

/** The ejection cap of a zone: how many of its endpoints may be out at once. */
export function maxEjectedInZone(config: OutlierConfig, zoneSize: number): number {
  if (config.maxEjectionPercent <= 0 || zoneSize === 0) return 0;
  return Math.max(1, Math.floor((config.maxEjectionPercent * zoneSize) / 100));
}

function decayed(e: OutlierEntry, config: OutlierConfig, now: number): number {
  // Envoy-like: each base ejection time spent back in service forgives one past ejection.
  if (e.ejections === 0 || e.ejectedUntil > now || config.baseEjectionTime <= 0) return e.ejections;
  const healthyFor = now - e.ejectedUntil;
  return Math.max(0, e.ejections - Math.floor(healthyFor / config.baseEjectionTime));
}

/** Records one attempt's outcome. Pure: returns the next state (the same object when nothing changed) and any event. */
export function recordOutcome(state: OutlierState, endpoint: string, outcome: Outcome, now: number): { state: OutlierState; event?: OutlierEvent } {
  const zone = state.zoneOf.get(endpoint);
  if (zone === undefined) return { state };
  const cur = state.entries.get(endpoint) ?? EMPTY;
  const cfg = state.config;
  let next: OutlierEntry;
  if (outcome === 'success') {
    if (cur.consecutive5xx === 0 && cur.consecutiveConnectFailures === 0) return { state };
    next = { ...cur, consecutive5xx: 0, consecutiveConnectFailures: 0 };
  } else if (outcome === '5xx') {
    next = { ...cur, consecutive5xx: cur.consecutive5xx + 1, consecutiveConnectFailures: 0 };
  } else {
    next = { ...cur, consecutive5xx: 0, consecutiveConnectFailures: cur.consecutiveConnectFailures + 1 };
  }
  let event: OutlierEvent | undefined;
  const tripped =
    cur.ejectedUntil <= now &&
    ((cfg.consecutive5xx > 0 && next.consecutive5xx >= cfg.consecutive5xx) ||
      (cfg.consecutiveConnectFailures > 0 && next.consecutiveConnectFailures >= cfg.consecutiveConnectFailures));
  if (tripped) {
    const cap = maxEjectedInZone(cfg, state.zoneSize.get(zone) ?? 0);
    if (ejectedInZone(state, zone, now) < cap) {
      const ejections = decayed(cur, cfg, now) + 1;
      const until = now + Math.min(cfg.baseEjectionTime * ejections, cfg.maxEjectionTime);
      next = { consecutive5xx: 0, consecutiveConnectFailures: 0, ejections, ejectedUntil: until };
      event = { kind: 'ejected', endpoint, zone, until, ejections };
    } else {
      event = { kind: 'ejection-capped', endpoint, zone };
    }
  }
  const entries = new Map(state.entries);
  entries.set(endpoint, next);
  const out = { state: { ...state, entries } } as { state: OutlierState; event?: OutlierEvent };
  if (event) out.event = event;
  return out;
}

/** The earliest time after `now` at which some ejection ends (for a timer that republishes pickers), or undefined. */
export function nextUnejection(state: OutlierState, now: number): number | undefined {
  let min: number | undefined;
  for (const e of state.entries.values()) if (e.ejectedUntil > now && (min === undefined || e.ejectedUntil < min)) min = e.ejectedUntil;
  return min;
}
