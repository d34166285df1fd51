// Pure evaluation of a scenario's expectations on the run's evidence, each with the value it measured.
import type { Expectation } from '../../api/scenario.ts';
import type { ExpectationResult, FaultRecord, SeriesPoint } from '../report/journal.ts';
import type { RequestRecord } from './measure.ts';
import { shareOf } from './measure.ts';

/** Everything an expectation is judged on. Times are RelMs. */
export interface Evidence {
  /** Sorted by doneMs. */
  readonly records: readonly RequestRecord[];
  readonly series: readonly SeriesPoint[];
  readonly faults: readonly FaultRecord[];
  /** Milliseconds from the end of rollback until every steady-state probe held again; null when it never did. */
  readonly steadyAgainMs: number | null;
  /** How long the runner waited for steady state after rollback. */
  readonly steadyWaitMs: number;
  /** Metric values of `metric` expectations by expectation index, at the fault's start and end. */
  readonly metrics: ReadonlyMap<number, { readonly start: number | undefined; readonly end: number | undefined }>;
}

const sec = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** Default names: the kind, and the fault or service it is about. */
export function expectationName(e: Expectation, i: number): string {
  if (e.name !== undefined) return e.name;
  const about = 'fault' in e ? `@${e.fault}` : '';
  return `${e.kind}${about}#${i + 1}`;
}

/** Evaluates every expectation. A fault that never ran, or a measure with no data, fails with that said. */
export function evaluateExpectations(list: readonly Expectation[], ev: Evidence): ExpectationResult[] {
  return list.map((e, i) => ({ name: expectationName(e, i), ...evaluateOne(e, i, ev) }));
}

function evaluateOne(e: Expectation, index: number, ev: Evidence): Omit<ExpectationResult, 'name'> {
  if (e.kind === 'steady-again') {
    const goal = `every steady-state probe holds again within ${sec(e.within)} of rollback`;
    if (ev.steadyAgainMs === null) return { goal, ok: false, measured: `never, within the ${sec(ev.steadyWaitMs)} waited`, value: null };
    return { goal, ok: ev.steadyAgainMs <= e.within, measured: sec(ev.steadyAgainMs), value: ev.steadyAgainMs / 1000 };
  }
  const fault = ev.faults.find((f) => f.id === e.fault);
  const window = fault && fault.endMs !== undefined ? { start: fault.startMs, end: fault.endMs } : undefined;
  switch (e.kind) {
    case 'share': {
      const goal = `share of ${e.service} served by ${e.zone} in ${pct(e.min)}..${pct(e.max)} within ${sec(e.within)} of fault ${e.fault}, until it ends`;
      if (!window) return notRun(goal, e.fault);
      const t = settleTime(ev.series, window, (p) => {
        const v = shareOf(p, e.service.replace(/^shop\//, ''), e.zone);
        return v === undefined ? undefined : v >= e.min && v <= e.max;
      });
      if (t.kind === 'no-data') return { goal, ok: false, measured: `no ${e.service} traffic during the fault`, value: null };
      if (t.kind === 'never') return { goal, ok: false, measured: `never (last window: ${describeShare(t.last, e.service, e.zone)})`, value: null };
      return { goal, ok: t.ms <= e.within, measured: sec(t.ms), value: t.ms / 1000 };
    }
    case 'failed-requests': {
      const goal = `at most ${e.max} failed ${e.idempotentOnly ? 'idempotent ' : ''}requests from fault ${e.fault}'s start to ${sec(e.settle)} after its end`;
      if (!window) return notRun(goal, e.fault);
      const inWindow = ev.records.filter((r) => r.doneMs >= window.start && r.doneMs <= window.end + e.settle && (!e.idempotentOnly || r.idempotent));
      const failed = inWindow.filter((r) => !r.ok);
      const classes = [...new Set(failed.map((r) => r.error ?? `HTTP ${r.status}`))].slice(0, 3).join(', ');
      return { goal, ok: failed.length <= e.max && inWindow.length > 0, measured: inWindow.length === 0 ? 'no request in the window' : `${failed.length} of ${inWindow.length} failed${classes ? ` (${classes})` : ''}`, value: failed.length };
    }
    case 'errors-stop': {
      const goal = `the last failed request comes within ${sec(e.within)} of fault ${e.fault}'s start`;
      if (!window) return notRun(goal, e.fault);
      const during = ev.records.filter((r) => r.doneMs >= window.start && r.doneMs <= window.end);
      if (during.length === 0) return { goal, ok: false, measured: 'no request during the fault', value: null };
      const failed = during.filter((r) => !r.ok);
      const last = failed.length === 0 ? 0 : Math.max(...failed.map((r) => r.doneMs)) - window.start;
      return { goal, ok: last <= e.within, measured: failed.length === 0 ? `no failed request (of ${during.length})` : `${sec(last)} (${failed.length} failed of ${during.length})`, value: last / 1000 };
    }
    case 'weights-shift': {
      const goal = `${e.service} weights to ${e.zone} <= ${e.maxBp} bp from ${e.from?.join(', ') ?? 'every source'} within ${sec(e.within)} of fault ${e.fault}`;
      if (!window) return notRun(goal, e.fault);
      const service = e.service.replace(/^shop\//, '');
      const first = ev.series.find((p) => p.atMs >= window.start && p.weights?.[service] !== undefined && rowsAtMost(p.weights[service]!, e.zone, e.maxBp, e.from));
      if (first === undefined) return { goal, ok: false, measured: 'never during the fault', value: null };
      const ms = first.atMs - window.start;
      return { goal, ok: ms <= e.within, measured: sec(ms), value: ms / 1000 };
    }
    case 'metric': {
      const goal = `${e.component} ${e.metric}${e.delta ? ' growth' : ''} over fault ${e.fault} in ${e.min ?? '-inf'}..${e.max ?? 'inf'}`;
      if (!window) return notRun(goal, e.fault);
      const m = ev.metrics.get(index);
      if (m?.end === undefined || (e.delta && m.start === undefined)) return { goal, ok: false, measured: `${e.component} did not answer, or has no ${e.metric}`, value: null };
      const v = e.delta ? m.end - (m.start ?? 0) : m.end;
      return { goal, ok: (e.min === undefined || v >= e.min) && (e.max === undefined || v <= e.max), measured: String(v), value: v };
    }
  }
}

function notRun(goal: string, fault: string): Omit<ExpectationResult, 'name'> {
  return { goal, ok: false, measured: `fault ${fault} did not run to its end`, value: null };
}

function describeShare(p: SeriesPoint | undefined, service: string, zone: string): string {
  const v = p ? shareOf(p, service.replace(/^shop\//, ''), zone) : undefined;
  return v === undefined ? 'no traffic' : pct(v);
}

/** True when every row (or those of `from`) gives `zone` at most maxBp; a row without the zone gives it 0. */
function rowsAtMost(rows: Readonly<Record<string, Readonly<Record<string, number>>>>, zone: string, maxBp: number, from: readonly string[] | undefined): boolean {
  const sources = from ?? Object.keys(rows);
  return sources.length > 0 && sources.every((s) => rows[s] !== undefined && (rows[s]![zone] ?? 0) <= maxBp);
}

type Settle = { kind: 'ok'; ms: number } | { kind: 'never'; last: SeriesPoint | undefined } | { kind: 'no-data' };

/**
 * How long after the window's start the condition began to hold for good: the start of the first series window
 * (inside the fault) from which every later window with data, up to the fault's end, holds. Windows that end after
 * the fault are not judged.
 */
export function settleTime(series: readonly SeriesPoint[], w: { start: number; end: number }, holds: (p: SeriesPoint) => boolean | undefined): Settle {
  const inside = series.filter((p) => p.atMs - p.windowMs >= w.start && p.atMs <= w.end);
  const judged = inside.map((p) => ({ p, v: holds(p) })).filter((x) => x.v !== undefined);
  if (judged.length === 0) return { kind: 'no-data' };
  let from = -1;
  for (let i = judged.length - 1; i >= 0 && judged[i]!.v === true; i--) from = i;
  if (from < 0) return { kind: 'never', last: judged[judged.length - 1]?.p };
  const p = judged[from]!.p;
  return { kind: 'ok', ms: Math.max(0, p.atMs - p.windowMs - w.start) };
}
