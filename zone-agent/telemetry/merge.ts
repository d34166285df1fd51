// Pure merging of sidecar stats into per-window totals: what the zone's workloads SERVED, and what its clients ASKED
// of each service per destination zone (with the failures their own sidecars made kept apart).
import { emptyHistogram, fromProto, merge, type Histogram } from '../../api/histogram.ts';
import type { SidecarStats__Output } from '../../api/generated/meshfed/v1/SidecarStats.ts';
import type { ServiceStats__Output } from '../../api/generated/meshfed/v1/ServiceStats.ts';
import { err, ok, type Result } from '../../common/errors.ts';

/** Error counts by class, as the proto names them. */
export interface ErrorWindow {
  readonly http_5xx: number;
  readonly connect_failure: number;
  readonly timeout: number;
  readonly reset: number;
}

/** Outcomes of requests that some zone answered (served by this zone, or asked of one destination zone). */
export interface OutcomeWindow {
  readonly requests: number;
  readonly successes: number;
  readonly errors: ErrorWindow;
  readonly latency: Histogram;
}

/** Failures the clients' own sidecars made; they count against nobody's health. */
export interface LocalWindow {
  readonly fault_injected: number;
  readonly overflow: number;
  readonly denied: number;
  readonly no_endpoint: number;
  readonly timeout: number;
}

/** What this zone's clients asked of one service: outcome per destination zone, and local failures. */
export interface AskedWindow {
  readonly destinations: Readonly<Record<string, OutcomeWindow>>;
  readonly local: LocalWindow;
}

/** Gauges per service per sidecar id: the latest value each sidecar sent (gauges do not add over time). */
export type Gauges = Readonly<Record<string, Readonly<Record<string, number>>>>;

/** One window of a zone's telemetry, keyed by "namespace/name". */
export interface WindowTotals {
  /** SERVED: what the zone's own workloads answered, per service they front. */
  readonly served: Readonly<Record<string, OutcomeWindow>>;
  /** ASKED: what the zone's clients sent, per destination service. */
  readonly asked: Readonly<Record<string, AskedWindow>>;
  /** Served in-flight gauges; summed at report time. */
  readonly servedInFlight: Gauges;
  /** Asked (outbound) in-flight gauges; summed at report time. */
  readonly askedInFlight: Gauges;
  /**
   * Per "namespace/name|zone", per sidecar: how many of that destination zone's endpoints the sidecar knows and has
   * ejected, as of its latest message (a message replaces the sidecar's whole set: a zone it no longer lists is no
   * longer ejected by it).
   */
  readonly ejections: Readonly<Record<string, Readonly<Record<string, EjectionGauge>>>>;
}

/** The key of `ejections`: a destination service and zone. */
export function ejectionKey(service: string, zone: string): string {
  return `${service}|${zone}`;
}

/** The service and zone an `ejections` key names (zone names hold no "|"). */
export function parseEjectionKey(key: string): { readonly service: string; readonly zone: string } {
  const at = key.lastIndexOf('|');
  return { service: key.slice(0, at), zone: key.slice(at + 1) };
}

/** One sidecar's view of one destination zone's endpoints. */
export interface EjectionGauge {
  readonly known: number;
  readonly ejected: number;
}

export const EMPTY_OUTCOME: OutcomeWindow = Object.freeze({
  requests: 0, successes: 0, errors: Object.freeze({ http_5xx: 0, connect_failure: 0, timeout: 0, reset: 0 }), latency: emptyHistogram(),
});
export const EMPTY_LOCAL: LocalWindow = Object.freeze({ fault_injected: 0, overflow: 0, denied: 0, no_endpoint: 0, timeout: 0 });
export const EMPTY_WINDOW: WindowTotals = Object.freeze({ served: {}, asked: {}, servedInFlight: {}, askedInFlight: {}, ejections: {} });

/** Zone names are DNS labels (checked again by the balancer); anything else is refused here already. */
const ZONE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function count(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function allCounts<T extends Record<string, number | undefined>>(o: T): o is { [K in keyof T]: number } & T {
  return Object.values(o).every((v) => v !== undefined);
}

/** Adds two outcomes; undefined when their histograms do not share bounds. */
function addOutcome(a: OutcomeWindow, b: OutcomeWindow): OutcomeWindow | undefined {
  const latency = merge(a.latency, b.latency);
  if (!latency.ok) return undefined;
  return {
    requests: a.requests + b.requests,
    successes: a.successes + b.successes,
    errors: {
      http_5xx: a.errors.http_5xx + b.errors.http_5xx,
      connect_failure: a.errors.connect_failure + b.errors.connect_failure,
      timeout: a.errors.timeout + b.errors.timeout,
      reset: a.errors.reset + b.errors.reset,
    },
    latency: latency.value,
  };
}

function addLocal(a: LocalWindow, b: LocalWindow): LocalWindow {
  return {
    fault_injected: a.fault_injected + b.fault_injected,
    overflow: a.overflow + b.overflow,
    denied: a.denied + b.denied,
    no_endpoint: a.no_endpoint + b.no_endpoint,
    timeout: a.timeout + b.timeout,
  };
}

/** Checks one stats entry from another process. Invariant of an accepted entry: successes + errors ≤ requests. */
function decodeEntry(s: ServiceStats__Output, where: string, asked: boolean): Result<{ key: string; zone: string; outcome: OutcomeWindow; local: LocalWindow }, string> {
  if (!s.namespace || !s.name) return err(`${where}: namespace and name are required`);
  const requests = count(s.requests);
  const successes = count(s.successes);
  const e = s.errors;
  const l = s.local;
  const errors = { http_5xx: count(e?.http_5xx ?? '0'), connect_failure: count(e?.connect_failure ?? '0'), timeout: count(e?.timeout ?? '0'), reset: count(e?.reset ?? '0') };
  const local = { fault_injected: count(l?.fault_injected ?? '0'), overflow: count(l?.overflow ?? '0'), denied: count(l?.denied ?? '0'), no_endpoint: count(l?.no_endpoint ?? '0'), timeout: count(l?.timeout ?? '0') };
  if (requests === undefined || successes === undefined || !allCounts(errors) || !allCounts(local)) return err(`${where}: counters must be non-negative integers`);
  const errTotal = errors.http_5xx + errors.connect_failure + errors.timeout + errors.reset;
  if (successes + errTotal > requests) return err(`${where}: successes + errors (${successes + errTotal}) exceed requests (${requests})`);
  if (!asked && Object.values(local).some((n) => n > 0)) return err(`${where}.local: only asked (outbound) entries carry local failures`);
  const zone = asked ? s.destination_zone : '';
  if (!asked && s.destination_zone !== '') return err(`${where}.destination_zone: a served entry names no destination`);
  if (zone !== '' && !ZONE.test(zone)) return err(`${where}.destination_zone: "${zone.slice(0, 80)}" is not a zone name`);
  if (zone === '' && requests > 0 && asked) return err(`${where}: requests without a destination_zone (only local failures may lack one)`);
  const h = fromProto(s.latency);
  if (!h.ok) return err(`${where}: ${h.error.message}`);
  return ok({
    key: `${s.namespace}/${s.name}`,
    zone,
    outcome: { requests, successes, errors, latency: h.value },
    local,
  });
}

/**
 * Adds one sidecar's stats message to the window. The message came from another process, so it is checked whole
 * first: any bad field refuses the message (as a value) and leaves the window as it was.
 */
export function addStats(w: WindowTotals, sidecarId: string, msg: SidecarStats__Output): Result<WindowTotals, string> {
  const served: Record<string, OutcomeWindow> = { ...w.served };
  const asked: Record<string, AskedWindow> = { ...w.asked };
  const servedInFlight: Record<string, Record<string, number>> = { ...w.servedInFlight };
  const askedInFlight: Record<string, Record<string, number>> = { ...w.askedInFlight };
  const askedGauge: Record<string, number> = {};
  const ejections: Record<string, Readonly<Record<string, EjectionGauge>>> = {};
  for (const [key, per] of Object.entries(w.ejections)) {
    const { [sidecarId]: _replaced, ...rest } = per;
    if (Object.keys(rest).length > 0) ejections[key] = rest;
  }
  for (const [i, s] of (msg.served ?? []).entries()) {
    const d = decodeEntry(s, `served[${i}]`, false);
    if (!d.ok) return d;
    const sum = addOutcome(served[d.value.key] ?? EMPTY_OUTCOME, d.value.outcome);
    if (!sum) return err(`served[${i}]: latency bounds differ from the window's`);
    served[d.value.key] = sum;
    servedInFlight[d.value.key] = { ...(servedInFlight[d.value.key] ?? {}), [sidecarId]: s.in_flight };
  }
  for (const [i, s] of msg.services.entries()) {
    const d = decodeEntry(s, `services[${i}]`, true);
    if (!d.ok) return d;
    const { key, zone, outcome, local } = d.value;
    const prev = asked[key] ?? { destinations: {}, local: EMPTY_LOCAL };
    const destinations = { ...prev.destinations };
    if (zone !== '') {
      const sum = addOutcome(destinations[zone] ?? EMPTY_OUTCOME, outcome);
      if (!sum) return err(`services[${i}]: latency bounds differ from the window's`);
      destinations[zone] = sum;
    }
    asked[key] = { destinations, local: addLocal(prev.local, local) };
    askedGauge[key] = (askedGauge[key] ?? 0) + s.in_flight;
    const known = s.endpoints_known ?? 0;
    if (zone !== '' && known > 0) {
      if ((s.endpoints_ejected ?? 0) > known) return err(`services[${i}]: endpoints_ejected (${s.endpoints_ejected}) exceeds endpoints_known (${known})`);
      const ek = ejectionKey(key, zone);
      ejections[ek] = { ...(ejections[ek] ?? {}), [sidecarId]: { known, ejected: s.endpoints_ejected ?? 0 } };
    }
  }
  for (const [key, n] of Object.entries(askedGauge)) askedInFlight[key] = { ...(askedInFlight[key] ?? {}), [sidecarId]: n };
  return ok({ served, asked, servedInFlight, askedInFlight, ejections });
}

function dropFrom(g: Gauges, sidecarId: string): Gauges {
  const out: Record<string, Readonly<Record<string, number>>> = {};
  for (const [key, per] of Object.entries(g)) {
    const { [sidecarId]: _gone, ...rest } = per;
    out[key] = rest;
  }
  return out;
}

/** Forgets a sidecar's gauges when its stream ends, so a gone sidecar does not hold load forever. */
export function dropSidecar(w: WindowTotals, sidecarId: string): WindowTotals {
  const ejections: Record<string, Readonly<Record<string, EjectionGauge>>> = {};
  for (const [key, per] of Object.entries(w.ejections)) {
    const { [sidecarId]: _gone, ...rest } = per;
    if (Object.keys(rest).length > 0) ejections[key] = rest;
  }
  return { ...w, servedInFlight: dropFrom(w.servedInFlight, sidecarId), askedInFlight: dropFrom(w.askedInFlight, sidecarId), ejections };
}

/** Starts a new window: counters reset, gauges carry over. */
export function resetWindow(w: WindowTotals): WindowTotals {
  return { served: {}, asked: {}, servedInFlight: w.servedInFlight, askedInFlight: w.askedInFlight, ejections: w.ejections };
}

function gaugeSum(g: Gauges, key: string): number {
  return Object.values(g[key] ?? {}).reduce((a, b) => a + b, 0);
}

/** Served in-flight of a service over every sidecar of the zone. */
export function inFlightOf(w: WindowTotals, key: string): number {
  return gaugeSum(w.servedInFlight, key);
}

/**
 * The zone's caller sidecars that know a destination zone's endpoints, and how many of them have ejected every one.
 */
export function ejectionsOf(w: WindowTotals, service: string, zone: string): { readonly knowing: number; readonly ejectingAll: number } {
  const per = Object.values(w.ejections[ejectionKey(service, zone)] ?? {});
  return { knowing: per.length, ejectingAll: per.filter((g) => g.ejected >= g.known).length };
}

/** Asked (outbound) in-flight of a service over every sidecar of the zone. */
export function askedInFlightOf(w: WindowTotals, key: string): number {
  return gaugeSum(w.askedInFlight, key);
}

/**
 * Adds windows' counters into one (gauges from the last, the newest). Windows come from this agent's own merging,
 * so their histograms share bounds; a pair that does not is a programmer error.
 */
export function sumWindows(ws: readonly WindowTotals[]): WindowTotals {
  if (ws.length === 0) return EMPTY_WINDOW;
  const must = (o: OutcomeWindow | undefined): OutcomeWindow => {
    if (!o) throw new Error('sumWindows: windows with different latency bounds');
    return o;
  };
  const served: Record<string, OutcomeWindow> = {};
  const asked: Record<string, AskedWindow> = {};
  for (const w of ws) {
    for (const [key, o] of Object.entries(w.served)) served[key] = must(addOutcome(served[key] ?? EMPTY_OUTCOME, o));
    for (const [key, a] of Object.entries(w.asked)) {
      const prev = asked[key] ?? { destinations: {}, local: EMPTY_LOCAL };
      const destinations = { ...prev.destinations };
      for (const [zone, o] of Object.entries(a.destinations)) destinations[zone] = must(addOutcome(destinations[zone] ?? EMPTY_OUTCOME, o));
      asked[key] = { destinations, local: addLocal(prev.local, a.local) };
    }
  }
  const last = ws[ws.length - 1]!;
  return { served, asked, servedInFlight: last.servedInFlight, askedInFlight: last.askedInFlight, ejections: last.ejections };
}

/** A closed interval of telemetry, kept for the evidence window. */
export interface ClosedWindow {
  readonly startMs: number;
  readonly endMs: number;
  readonly totals: WindowTotals;
}

/**
 * The intervals a report covers: the newest closed intervals whose start lies within `evidenceMs` of `nowMs`
 * (always at least the newest one), so a report's counters span a few seconds and a service called a few times a
 * second still reaches the ejection's minimum request count. Returns the kept intervals, oldest first.
 */
export function evidence(closed: readonly ClosedWindow[], nowMs: number, evidenceMs: number): ClosedWindow[] {
  const kept = closed.filter((c) => nowMs - c.startMs <= evidenceMs);
  return kept.length > 0 || closed.length === 0 ? kept : [closed[closed.length - 1]!];
}
