// Pure evaluation of steady-state probes and stop conditions on what the runner observed in one window.
import type { Probe } from '../../api/scenario.ts';
import type { SeriesPoint } from '../report/journal.ts';
import type { WindowStats } from './measure.ts';

/** What a probe may look at: the load's last window, the weights now, and metric values fetched for this tick. */
export interface Observation {
  readonly stats: WindowStats;
  readonly weights: SeriesPoint['weights'];
  /** Metric values by probeKey(probe); undefined when the component did not answer. */
  readonly metrics: ReadonlyMap<string, number | undefined>;
}

/** The verdict of one probe. */
export interface ProbeVerdict {
  readonly ok: boolean;
  readonly value: number | null;
  readonly detail: string;
}

/** A probe's display name: its `name`, else a description of what it checks. */
export function probeName(p: Probe): string {
  if (p.name !== undefined) return p.name;
  switch (p.kind) {
    case 'success': return `success>=${pct(p.min)}`;
    case 'latency': return `${p.quantile}<=${p.max}ms`;
    case 'share': return `share(${p.service}@${p.zone})`;
    case 'weights': return `weights(${p.service} ${p.from}->${p.zone})`;
    case 'metric': return `metric(${p.component} ${p.metric})`;
  }
}

/** The key a metric probe's value is fetched under (component, metric and labels). */
export function metricKey(m: { component: string; metric: string; labels: Readonly<Record<string, string>> }): string {
  return `${m.component} ${m.metric}${JSON.stringify(Object.entries(m.labels).sort())}`;
}

const pct = (x: number) => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;

/** Evaluates one probe. A probe with nothing to measure (no traffic, no table) fails: a steady state must be shown, not assumed. */
export function evaluateProbe(p: Probe, o: Observation): ProbeVerdict {
  const s = o.stats;
  switch (p.kind) {
    case 'success':
      if (s.success === null) return { ok: false, value: null, detail: 'no request completed in the window' };
      return { ok: s.success >= p.min, value: s.success, detail: `${pct(s.success)} of ${s.requests} (want >= ${pct(p.min)})` };
    case 'latency': {
      const v = p.quantile === 'p50' ? s.p50Ms : s.p99Ms;
      if (v === null) return { ok: false, value: null, detail: 'no request completed in the window' };
      return { ok: v <= p.max, value: v, detail: `${p.quantile} ${v} ms (want <= ${p.max} ms)` };
    }
    case 'share': {
      const m = s.share[p.service.replace(/^shop\//, '')];
      if (m === undefined) return { ok: false, value: null, detail: `no ${p.service} hop in the window` };
      const v = m[p.zone] ?? 0;
      return { ok: v >= p.min && v <= p.max, value: v, detail: `${p.zone} served ${pct(v)} of ${p.service} (want ${pct(p.min)}..${pct(p.max)})` };
    }
    case 'weights': {
      const row = o.weights?.[p.service.replace(/^shop\//, '')]?.[p.from];
      if (row === undefined) return { ok: false, value: null, detail: `no weight row ${p.service} from ${p.from}` };
      const v = row[p.zone] ?? 0;
      return { ok: v >= p.minBp && v <= p.maxBp, value: v, detail: `${p.from} -> ${p.zone}: ${v} bp (want ${p.minBp}..${p.maxBp})` };
    }
    case 'metric': {
      const v = o.metrics.get(metricKey(p));
      if (v === undefined) return { ok: false, value: null, detail: `${p.component} did not answer /metrics, or has no ${p.metric}` };
      const ok = (p.min === undefined || v >= p.min) && (p.max === undefined || v <= p.max);
      return { ok, value: v, detail: `${p.metric} = ${v} (want ${p.min ?? '-inf'}..${p.max ?? 'inf'})` };
    }
  }
}

/**
 * Tracks one stop condition over time. Invariant: it trips exactly when its probe has failed at every evaluation for
 * at least `forMs` (an evaluation that passes resets it).
 */
export function stopTracker(forMs: number): { update(ok: boolean, now: number): boolean } {
  let failingSince: number | undefined;
  return {
    update(ok, now) {
      if (ok) {
        failingSince = undefined;
        return false;
      }
      failingSince ??= now;
      return now - failingSince >= forMs;
    },
  };
}

/** Every sample of `metric` in Prometheus text exposition, with its labels (other metrics sharing the prefix are skipped). */
export function* metricSamples(text: string, metric: string): Generator<{ readonly labels: Readonly<Record<string, string>>; readonly value: number }> {
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || !line.startsWith(metric)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== metric) continue;
    const v = Number(m[4]);
    if (Number.isFinite(v)) yield { labels: parseLabels(m[3] ?? ''), value: v };
  }
}

/** Sums the samples of `metric` whose labels include every given label; undefined when no sample matches. */
export function metricValue(text: string, metric: string, labels: Readonly<Record<string, string>>): number | undefined {
  let sum: number | undefined;
  for (const x of metricSamples(text, metric)) {
    if (Object.entries(labels).every(([k, v]) => x.labels[k] === v)) sum = (sum ?? 0) + x.value;
  }
  return sum;
}

function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  return out;
}
