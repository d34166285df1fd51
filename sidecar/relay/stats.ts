// Pure conversion of the sidecar's cumulative Prometheus counters into the per-window SidecarStats the agent merges.
import { LATENCY_BOUNDS_MS, bucketIndex } from '../../api/histogram.ts';
import type { ServiceStats } from '../../api/generated/meshfed/v1/ServiceStats.ts';

/** One sample of a prom-client metric (the shape of `metric.get().values`). */
export interface PromSample {
  readonly labels: Readonly<Record<string, string | number | undefined>>;
  readonly value: number;
  readonly metricName?: string;
}

/** Cumulative totals of one destination service since the sidecar started. */
export interface ServiceTotals {
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
}

/** Totals per "namespace/name". */
export type Totals = Readonly<Record<string, ServiceTotals>>;

type MutableTotals = { -readonly [K in keyof ServiceTotals]: K extends 'buckets' ? number[] : ServiceTotals[K] };
const emptyTotals = (): MutableTotals =>
  ({ requests: 0, successes: 0, http5xx: 0, timeout: 0, connectFailure: 0, reset: 0, inFlight: 0, buckets: new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0), sumMs: 0 });

/**
 * Folds the samples of meshfed_requests_total, meshfed_request_duration_seconds, meshfed_upstream_failures_total and
 * meshfed_requests_in_flight into totals per service. The error classes are disjoint: status 504 is a timeout; a
 * 502/503 that an upstream connect failure or reset produced is that class; any other 5xx is http_5xx. Prometheus
 * buckets that do not line up with the shared bounds go to the next shared bound up, so latency is never understated.
 */
export function totalsFrom(
  requests: readonly PromSample[],
  duration: readonly PromSample[],
  failures: readonly PromSample[] = [],
  inFlight: readonly PromSample[] = [],
): Totals {
  const out: Record<string, MutableTotals> = {};
  const of = (svc: string) => (out[svc] ??= emptyTotals());
  for (const s of requests) {
    const svc = String(s.labels['dest_service'] ?? '');
    if (!svc.includes('/')) continue;
    const code = Number(s.labels['code']);
    const t = of(svc);
    t.requests += s.value;
    if (code < 500) t.successes += s.value;
    else if (code === 504) t.timeout += s.value;
    else t.http5xx += s.value;
  }
  for (const s of failures) {
    const svc = String(s.labels['dest_service'] ?? '');
    const t = out[svc];
    if (!t) continue;
    // Timeouts are already counted by their 504; connect failures and resets are carved out of the other 5xx.
    if (s.labels['class'] === 'connect_failure') t.connectFailure += s.value;
    else if (s.labels['class'] === 'reset') t.reset += s.value;
  }
  for (const t of Object.values(out)) {
    const carved = Math.min(t.http5xx, t.connectFailure + t.reset);
    t.http5xx -= carved;
  }
  for (const s of inFlight) {
    const t = out[String(s.labels['dest_service'] ?? '')];
    if (t) t.inFlight = Math.max(0, s.value);
  }
  // Buckets are cumulative per label set; group them, sort by bound and take differences.
  const cumulative = new Map<string, { svc: string; le: number; value: number }[]>();
  for (const s of duration) {
    const svc = String(s.labels['dest_service'] ?? '');
    if (!svc.includes('/')) continue;
    if (s.metricName?.endsWith('_sum')) of(svc).sumMs += s.value * 1000;
    if (!s.metricName?.endsWith('_bucket')) continue;
    const le = s.labels['le'] === '+Inf' ? Infinity : Number(s.labels['le']);
    const key = JSON.stringify({ ...s.labels, le: undefined });
    const list = cumulative.get(key) ?? [];
    list.push({ svc, le, value: s.value });
    cumulative.set(key, list);
  }
  for (const list of cumulative.values()) {
    list.sort((a, b) => a.le - b.le);
    let below = 0;
    for (const b of list) {
      const n = b.value - below;
      below = b.value;
      const i = b.le === Infinity ? LATENCY_BOUNDS_MS.length : bucketIndex(LATENCY_BOUNDS_MS, b.le * 1000);
      const t = of(b.svc);
      t.buckets[i] = (t.buckets[i] as number) + n;
    }
  }
  return out;
}

/**
 * The window between two totals as ServiceStats. A service whose totals went down (a restarted counter) counts
 * from zero. Services without requests in the window are left out. in_flight is the level at the window's end.
 */
export function windowStats(prev: Totals, cur: Totals): ServiceStats[] {
  const out: ServiceStats[] = [];
  for (const svc of Object.keys(cur).sort()) {
    const c = cur[svc] as ServiceTotals;
    const p0 = prev[svc];
    const p = p0 && p0.requests <= c.requests && p0.buckets.every((v, i) => v <= (c.buckets[i] as number)) ? p0 : undefined;
    const requests = c.requests - (p?.requests ?? 0);
    if (requests <= 0) continue;
    const counts = c.buckets.map((v, i) => v - (p?.buckets[i] ?? 0));
    const [namespace, name] = svc.split('/') as [string, string];
    out.push({
      namespace, name,
      requests: String(requests),
      successes: String(c.successes - (p?.successes ?? 0)),
      errors: {
        http_5xx: String(Math.max(0, c.http5xx - (p?.http5xx ?? 0))),
        timeout: String(c.timeout - (p?.timeout ?? 0)),
        connect_failure: String(Math.max(0, c.connectFailure - (p?.connectFailure ?? 0))),
        reset: String(Math.max(0, c.reset - (p?.reset ?? 0))),
      },
      in_flight: c.inFlight,
      latency: {
        bounds_ms: [...LATENCY_BOUNDS_MS],
        counts: counts.map(String),
        sum_ms: Math.max(0, c.sumMs - (p?.sumMs ?? 0)),
        count: String(counts.reduce((a, b) => a + b, 0)),
      },
    });
  }
  return out;
}
