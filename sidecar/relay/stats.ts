// Pure conversion of the sidecar's cumulative Prometheus counters into the per-window SidecarStats (asked and served) the agent merges.
import { LATENCY_BOUNDS_MS, bucketIndex } from '../../api/histogram.ts';
import type { ServiceStats } from '../../api/generated/meshfed/v1/ServiceStats.ts';

/** One sample of a prom-client metric (the shape of `metric.get().values`). */
export interface PromSample {
  readonly labels: Readonly<Record<string, string | number | undefined>>;
  readonly value: number;
  readonly metricName?: string;
}

/** Cumulative local failures (LocalFailures in relay.proto) of one asked entry. */
export interface LocalTotals {
  readonly faultInjected: number;
  readonly overflow: number;
  readonly denied: number;
  readonly noEndpoint: number;
  readonly timeout: number;
}

/** Cumulative totals of one stats entry since the sidecar started. */
export interface ServiceTotals {
  /** Tries that reached the zone (asked) or answers the workload gave (served); local failures are apart. */
  readonly requests: number;
  readonly successes: number;
  readonly http5xx: number;
  readonly timeout: number;
  readonly connectFailure: number;
  readonly reset: number;
  /** Requests in flight when the totals were taken (a level, not a count). */
  readonly inFlight: number;
  /** Counts over LATENCY_BOUNDS_MS (+ overflow), not cumulative. */
  readonly buckets: readonly number[];
  readonly sumMs: number;
  readonly local: LocalTotals;
  /** ASKED levels at the time the totals were taken: the zone's endpoints known, and ejected or unreachable. */
  readonly endpointsKnown: number;
  readonly endpointsEjected: number;
}

/** Totals since start: ASKED per "namespace/name|destination zone" ('' zone: local failures only), SERVED per "namespace/name". */
export interface Totals {
  readonly asked: Readonly<Record<string, ServiceTotals>>;
  readonly served: Readonly<Record<string, ServiceTotals>>;
}

/** The samples totalsFrom reads, one list per sidecar metric (docs/sidecar.md, "Metrics"). */
export interface StatsSamples {
  /** meshfed_upstream_tries_total{dest_service, dest_zone, outcome} */
  readonly tries: readonly PromSample[];
  /** meshfed_upstream_try_duration_seconds{dest_service, dest_zone} (buckets and sum) */
  readonly tryDuration: readonly PromSample[];
  /** meshfed_upstream_tries_in_flight{dest_service, dest_zone} */
  readonly tryInFlight: readonly PromSample[];
  /** meshfed_local_failures_total{dest_service, dest_zone, class} */
  readonly local: readonly PromSample[];
  /** meshfed_inbound_outcomes_total{service, outcome} */
  readonly served: readonly PromSample[];
  /** meshfed_inbound_request_duration_seconds{service} */
  readonly servedDuration: readonly PromSample[];
  /** meshfed_inbound_requests_in_flight{service} */
  readonly servedInFlight: readonly PromSample[];
  /** meshfed_outbound_zone_endpoints{dest_service, dest_zone, state} (state known or ejected) */
  readonly zoneEndpoints?: readonly PromSample[];
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly number[] ? number[] : T[K] extends object ? Mutable<T[K]> : T[K] };
type Entry = Mutable<ServiceTotals>;

const emptyTotals = (): Entry => ({
  requests: 0, successes: 0, http5xx: 0, timeout: 0, connectFailure: 0, reset: 0, inFlight: 0,
  buckets: new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0), sumMs: 0,
  local: { faultInjected: 0, overflow: 0, denied: 0, noEndpoint: 0, timeout: 0 },
  endpointsKnown: 0, endpointsEjected: 0,
});

const OUTCOME_FIELD = { success: 'successes', http_5xx: 'http5xx', timeout: 'timeout', connect_failure: 'connectFailure', reset: 'reset' } as const;
const LOCAL_FIELD = { fault_injected: 'faultInjected', overflow: 'overflow', denied: 'denied', no_endpoint: 'noEndpoint', timeout: 'timeout' } as const;

/** The key of a sample, or undefined for labels that do not name a service. */
type KeyOf = (labels: PromSample['labels']) => string | undefined;
const askedKey: KeyOf = (l) => {
  const svc = String(l['dest_service'] ?? '');
  return svc.includes('/') ? `${svc}|${String(l['dest_zone'] ?? '')}` : undefined;
};
const servedKey: KeyOf = (l) => {
  const svc = String(l['service'] ?? '');
  return svc.includes('/') ? svc : undefined;
};

/** Folds one metric's samples into `out` (entries made on demand). */
function fold(out: Record<string, Entry>, samples: readonly PromSample[], keyOf: KeyOf, add: (t: Entry, s: PromSample) => void): void {
  for (const s of samples) {
    const key = keyOf(s.labels);
    if (key !== undefined) add((out[key] ??= emptyTotals()), s);
  }
}

function addOutcome(t: Entry, s: PromSample): void {
  const field = OUTCOME_FIELD[String(s.labels['outcome']) as keyof typeof OUTCOME_FIELD];
  if (field === undefined) return;
  t[field] += s.value;
  t.requests += s.value;
}

/**
 * Folds a histogram's cumulative buckets and sum into entries. Buckets are cumulative per label set: they are grouped,
 * sorted by bound and differenced. Prometheus buckets that do not line up with the shared bounds go to the next
 * shared bound up, so latency is never understated.
 */
function foldHistogram(out: Record<string, Entry>, samples: readonly PromSample[], keyOf: KeyOf): void {
  const cumulative = new Map<string, { key: string; le: number; value: number }[]>();
  for (const s of samples) {
    const key = keyOf(s.labels);
    if (key === undefined) continue;
    if (s.metricName?.endsWith('_sum')) (out[key] ??= emptyTotals()).sumMs += s.value * 1000;
    if (!s.metricName?.endsWith('_bucket')) continue;
    const le = s.labels['le'] === '+Inf' ? Infinity : Number(s.labels['le']);
    const series = JSON.stringify({ ...s.labels, le: undefined });
    const list = cumulative.get(series) ?? [];
    list.push({ key, le, value: s.value });
    cumulative.set(series, list);
  }
  for (const list of cumulative.values()) {
    list.sort((a, b) => a.le - b.le);
    let below = 0;
    for (const b of list) {
      const n = b.value - below;
      below = b.value;
      const i = b.le === Infinity ? LATENCY_BOUNDS_MS.length : bucketIndex(LATENCY_BOUNDS_MS, b.le * 1000);
      const t = (out[b.key] ??= emptyTotals());
      t.buckets[i] = (t.buckets[i] as number) + n;
    }
  }
}

/**
 * Folds the sidecar's samples into totals. ASKED: one entry per (destination service, destination zone) from the
 * per-try counters, so each try counts for the zone it went to (retries once per try), plus local failures by class
 * (under zone '' when no zone was picked). SERVED: one entry per fronted service from the inbound counters. The
 * outcome classes are disjoint and cover every request counted.
 */
export function totalsFrom(s: StatsSamples): Totals {
  const asked: Record<string, Entry> = {};
  const served: Record<string, Entry> = {};
  fold(asked, s.tries, askedKey, addOutcome);
  fold(asked, s.local, askedKey, (t, x) => {
    const field = LOCAL_FIELD[String(x.labels['class']) as keyof typeof LOCAL_FIELD];
    if (field !== undefined) t.local[field] += x.value;
  });
  foldHistogram(asked, s.tryDuration, askedKey);
  fold(served, s.served, servedKey, addOutcome);
  foldHistogram(served, s.servedDuration, servedKey);
  // A level only matters for an entry that exists for other reasons, or while something is in flight.
  const level = (t: Entry, x: PromSample) => { t.inFlight = Math.max(0, x.value); };
  fold(asked, s.tryInFlight.filter((x) => x.value > 0 || asked[askedKey(x.labels) ?? ''] !== undefined), askedKey, level);
  fold(served, s.servedInFlight.filter((x) => x.value > 0 || served[servedKey(x.labels) ?? ''] !== undefined), servedKey, level);
  // Endpoint levels go on every entry that exists, and make one for a zone with ejected endpoints: a sidecar that
  // ejected a zone stops sending to it, and the ejection is then the only evidence it has.
  const zoneEndpoints = s.zoneEndpoints ?? [];
  const ejectedZones = new Set(zoneEndpoints.filter((x) => x.labels['state'] === 'ejected' && x.value > 0).map((x) => askedKey(x.labels)));
  fold(asked, zoneEndpoints.filter((x) => ejectedZones.has(askedKey(x.labels)) || asked[askedKey(x.labels) ?? ''] !== undefined), askedKey, (t, x) => {
    if (x.labels['state'] === 'known') t.endpointsKnown = Math.max(0, x.value);
    else if (x.labels['state'] === 'ejected') t.endpointsEjected = Math.max(0, x.value);
  });
  return { asked, served };
}

const localSum = (l: LocalTotals): number => l.faultInjected + l.overflow + l.denied + l.noEndpoint + l.timeout;

/** The previous totals of an entry, unless a counter went down (a restart): then the window counts from zero. */
function baseline(p: ServiceTotals | undefined, c: ServiceTotals): ServiceTotals | undefined {
  if (!p) return undefined;
  const keys = Object.keys(LOCAL_FIELD).map((k) => LOCAL_FIELD[k as keyof typeof LOCAL_FIELD]);
  const down = p.requests > c.requests || p.buckets.some((v, i) => v > (c.buckets[i] as number)) || keys.some((k) => p.local[k] > c.local[k]);
  return down ? undefined : p;
}

/** One entry's window; undefined when nothing happened in it and nothing is in flight. */
function entryWindow(key: string, p0: ServiceTotals | undefined, c: ServiceTotals, asked: boolean): ServiceStats | undefined {
  const p = baseline(p0, c);
  const d = (f: (t: ServiceTotals) => number): number => Math.max(0, f(c) - (p ? f(p) : 0));
  const requests = d((t) => t.requests);
  const local = d((t) => localSum(t.local));
  if (requests <= 0 && local <= 0 && c.inFlight <= 0 && c.endpointsEjected <= 0) return undefined;
  const counts = c.buckets.map((v, i) => Math.max(0, v - (p?.buckets[i] ?? 0)));
  const [svc, zone] = key.split('|') as [string, string | undefined];
  const [namespace, name] = svc.split('/') as [string, string];
  return {
    namespace, name,
    requests: String(requests),
    successes: String(d((t) => t.successes)),
    errors: {
      http_5xx: String(d((t) => t.http5xx)),
      timeout: String(d((t) => t.timeout)),
      connect_failure: String(d((t) => t.connectFailure)),
      reset: String(d((t) => t.reset)),
    },
    in_flight: c.inFlight,
    latency: {
      bounds_ms: [...LATENCY_BOUNDS_MS],
      counts: counts.map(String),
      sum_ms: d((t) => t.sumMs),
      count: String(counts.reduce((a, b) => a + b, 0)),
    },
    ...(asked ? {
      destination_zone: zone ?? '',
      local: {
        fault_injected: String(d((t) => t.local.faultInjected)),
        overflow: String(d((t) => t.local.overflow)),
        denied: String(d((t) => t.local.denied)),
        no_endpoint: String(d((t) => t.local.noEndpoint)),
        timeout: String(d((t) => t.local.timeout)),
      },
      endpoints_known: c.endpointsKnown,
      endpoints_ejected: Math.min(c.endpointsEjected, c.endpointsKnown),
    } : {}),
  };
}

/**
 * The window between two totals as SidecarStats' lists: `services` (ASKED, one entry per destination service and
 * destination zone, sorted) and `served` (SERVED). An entry whose totals went down (a restarted counter) counts
 * from zero; entries with nothing in the window and nothing in flight are left out. in_flight is the level at the
 * window's end.
 */
export function windowStats(prev: Totals, cur: Totals): { services: ServiceStats[]; served: ServiceStats[] } {
  const list = (p: Totals['asked'], c: Totals['asked'], asked: boolean): ServiceStats[] =>
    Object.keys(c).sort().flatMap((k) => entryWindow(k, p[k], c[k] as ServiceTotals, asked) ?? []);
  return { services: list(prev.asked, cur.asked, true), served: list(prev.served, cur.served, false) };
}

/** Totals with nothing counted: the baseline of the first window. */
export const NO_TOTALS: Totals = { asked: {}, served: {} };
