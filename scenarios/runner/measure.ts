// Pure measurement of a chaos run's load: window statistics (success, latency, share per serving zone) and the time series drawn in the report.
import type { RelMs, SeriesPoint } from '../report/journal.ts';

/** One request of the run's load, times relative to t0. */
export interface RequestRecord {
  readonly sentMs: RelMs;
  readonly doneMs: RelMs;
  readonly ok: boolean;
  readonly status: number;
  readonly idempotent: boolean;
  /** The zone that SERVED each hop of a successful request, in call order. */
  readonly hops: readonly { readonly service: string; readonly zone: string }[];
  readonly error?: string;
}

/** Statistics of the requests that completed in (fromMs, toMs]. */
export interface WindowStats {
  readonly requests: number;
  readonly failed: number;
  readonly success: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** service → serving zone → share 0..1 of that service's hops in the window. */
  readonly share: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** The q-quantile (0..1) of sorted values, nearest rank; null for none. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/** First index whose doneMs > t, in records sorted by doneMs. */
function firstAfter(records: readonly RequestRecord[], t: number): number {
  let lo = 0, hi = records.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (records[mid]!.doneMs > t) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Statistics over (fromMs, toMs]; `records` must be sorted by doneMs (the recorder appends them in completion order). */
export function windowStats(records: readonly RequestRecord[], fromMs: number, toMs: number): WindowStats {
  const latencies: number[] = [];
  const hops = new Map<string, Map<string, number>>();
  let failed = 0;
  for (let i = firstAfter(records, fromMs); i < records.length && records[i]!.doneMs <= toMs; i++) {
    const r = records[i]!;
    latencies.push(r.doneMs - r.sentMs);
    if (!r.ok) failed++;
    for (const h of r.hops) {
      const m = hops.get(h.service) ?? new Map<string, number>();
      m.set(h.zone, (m.get(h.zone) ?? 0) + 1);
      hops.set(h.service, m);
    }
  }
  latencies.sort((a, b) => a - b);
  const share: Record<string, Record<string, number>> = {};
  for (const [service, zones] of hops) {
    let total = 0;
    for (const n of zones.values()) total += n;
    share[service] = Object.fromEntries([...zones].map(([z, n]) => [z, n / total]));
  }
  const n = latencies.length;
  return { requests: n, failed, success: n === 0 ? null : (n - failed) / n, p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99), share };
}

/** A series point for the window of `windowMs` ending at `atMs`. */
export function seriesPoint(records: readonly RequestRecord[], atMs: number, windowMs: number, weights?: SeriesPoint['weights']): SeriesPoint {
  const s = windowStats(records, atMs - windowMs, atMs);
  return { atMs, windowMs, requests: s.requests, success: s.success, p50Ms: s.p50Ms, p99Ms: s.p99Ms, share: s.share, ...(weights !== undefined ? { weights } : {}) };
}

/** The share `zone` served of `service` in a point; undefined when the service had no hop in the window. */
export function shareOf(p: { share: SeriesPoint['share'] }, service: string, zone: string): number | undefined {
  const m = p.share[service];
  if (m === undefined) return undefined;
  return m[zone] ?? 0;
}
