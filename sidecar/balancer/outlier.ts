// Local outlier detection: a pure state machine that ejects endpoints after consecutive failures and lets them back with time.
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
 * - An endpoint is ejected at `now` iff its entry's ejectedUntil > now; un-ejection needs no event, only time.
 * - Ejection length = min(baseEjectionTime × ejections, maxEjectionTime), where ejections counts this one.
 * - An ejection happens only while fewer than max(1, floor(maxEjectionPercent% × zone size)) endpoints of the
 *   endpoint's zone are ejected (maxEjectionPercent 0 disables ejection). Once the cap is reached the failure
 *   counters keep counting, so the endpoint is ejected at its next failure after room frees up.
 * - A success resets both consecutive counters; a 5xx resets the connect-failure counter and vice versa.
 * - Ejecting resets both counters, so a freshly returned endpoint needs a full run of failures to go again.
 * - The state is never mutated: record returns a new state, or the same object when nothing changed.
 */
export interface OutlierState {
  readonly config: OutlierConfig;
  /** Endpoint id -> zone, for the per-zone ejection cap. */
  readonly zoneOf: ReadonlyMap<string, string>;
  readonly zoneSize: ReadonlyMap<string, number>;
  readonly entries: ReadonlyMap<string, OutlierEntry>;
}

/** What record did, for metrics and logs. */
export type OutlierEvent =
  | { readonly kind: 'ejected'; readonly endpoint: string; readonly zone: string; readonly until: number; readonly ejections: number }
  | { readonly kind: 'ejection-capped'; readonly endpoint: string; readonly zone: string };

const EMPTY: OutlierEntry = Object.freeze({ consecutive5xx: 0, consecutiveConnectFailures: 0, ejections: 0, ejectedUntil: 0 });

/** A fresh detector for the given endpoints (id and zone). */
export function createOutlierState(config: OutlierConfig, endpoints: Iterable<{ readonly id: string; readonly zone: string }>): OutlierState {
  return withEndpoints({ config, zoneOf: new Map(), zoneSize: new Map(), entries: new Map() }, endpoints);
}

/** Carries what is known over to a new endpoint set (config reload, discovery change); gone endpoints are forgotten. */
export function withEndpoints(state: OutlierState, endpoints: Iterable<{ readonly id: string; readonly zone: string }>, config: OutlierConfig = state.config): OutlierState {
  const zoneOf = new Map<string, string>();
  const zoneSize = new Map<string, number>();
  const entries = new Map<string, OutlierEntry>();
  for (const e of endpoints) {
    if (zoneOf.has(e.id)) continue;
    zoneOf.set(e.id, e.zone);
    zoneSize.set(e.zone, (zoneSize.get(e.zone) ?? 0) + 1);
    const old = state.entries.get(e.id);
    if (old) entries.set(e.id, old);
  }
  return { config, zoneOf, zoneSize, entries };
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
