// The fault phase: each fault of the timeline injected at its offset, checked, held for its duration (or until an abort), then reverted and checked clear.
import type { Expectation, Fault } from '../../api/scenario.ts';
import type { FaultEvent, FaultRecord } from '../report/journal.ts';
import type { ActiveFault, FaultContext } from '../faults/fault.ts';
import { fetchMetric } from './sampler.ts';

/** A fault record being written while the fault runs. */
export interface LiveFault {
  readonly spec: Fault & { readonly id: string };
  record: { id: string; kind: string; target: string; mechanism: string; startMs: number; endMs: number | undefined; events: FaultEvent[] };
  active: ActiveFault | undefined;
}

/** The fault timing a run uses: as written, or compressed for --quick (offsets halved, durations halved but at least 4 s). */
export function effectiveTiming<F extends { at: number; duration: number }>(f: F, quick: boolean): F {
  if (!quick) return f;
  return { ...f, at: Math.round(f.at / 2), duration: f.duration === 0 ? 0 : Math.min(f.duration, Math.max(4000, Math.ceil(f.duration / 2))) };
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleepAbortable(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export interface TimelineOptions {
  readonly ctx: FaultContext;
  readonly faults: readonly (Fault & { readonly id: string })[];
  readonly expectations: readonly Expectation[];
  readonly inject: (ctx: FaultContext, f: Fault & { id: string }) => Promise<ActiveFault>;
  /** Epoch ms of the run's t0; records use times relative to it. */
  readonly t0: number;
  readonly quick: boolean;
  /** Aborts the phase: faults not started are skipped, running ones are reverted at once. */
  readonly signal: AbortSignal;
  readonly print: (line: string) => void;
  /** Metric values of `metric` expectations, filled at each fault's start and end. */
  readonly metrics: Map<number, { start: number | undefined; end: number | undefined }>;
}

/** Runs the timeline; returns every fault that started (the rollback reverts them again, whatever happened here). */
export async function runTimeline(o: TimelineOptions, live: LiveFault[]): Promise<void> {
  const phaseStart = Date.now();
  await Promise.all(o.faults.map((spec) => runOne(o, effectiveTiming(spec, o.quick), phaseStart, live)));
}

async function runOne(o: TimelineOptions, spec: Fault & { id: string }, phaseStart: number, live: LiveFault[]): Promise<void> {
  await sleepAbortable(phaseStart + spec.at - Date.now(), o.signal);
  if (o.signal.aborted) {
    o.print(`  fault ${spec.id}: not started (the run was aborted)`);
    return;
  }
  const rel = () => Date.now() - o.t0;
  const lf: LiveFault = { spec, active: undefined, record: { id: spec.id, kind: spec.kind, target: '', mechanism: '', startMs: rel(), endMs: undefined, events: [] } };
  live.push(lf);
  const event = (what: FaultEvent['what'], ok: boolean, detail: string) => {
    lf.record.events.push({ atMs: rel(), what, ok, detail });
    o.print(`  fault ${spec.id}: ${what} ${ok ? 'ok' : 'FAILED'}: ${detail}`);
  };
  const mine = o.expectations.map((e, i) => ({ e, i })).filter((x) => x.e.kind === 'metric' && x.e.fault === spec.id);
  for (const { e, i } of mine) if (e.kind === 'metric') o.metrics.set(i, { start: await fetchMetric(o.ctx.state(), e), end: undefined });
  try {
    lf.active = await o.inject(o.ctx, spec);
  } catch (e) {
    lf.record.endMs = rel();
    event('injected', false, (e as Error).message);
    return;
  }
  lf.record.target = lf.active.target;
  lf.record.mechanism = lf.active.mechanism;
  event('injected', true, `${spec.kind} for ${(spec.duration / 1000).toFixed(1)} s`);
  const applied = await lf.active.applied();
  event('applied', applied.ok, applied.detail);
  await sleepAbortable(lf.record.startMs + o.t0 + spec.duration - Date.now(), o.signal);
  const effect = await lf.active.effect();
  event('effect', effect.ok, effect.detail);
  for (const { e, i } of mine) if (e.kind === 'metric') o.metrics.set(i, { start: o.metrics.get(i)?.start, end: await fetchMetric(o.ctx.state(), e) });
  lf.record.endMs = rel();
  await revertAndCheck(lf, event);
}

/** Reverts one fault and checks it cleared; used by the timeline and again by the rollback for anything not cleared. */
export async function revertAndCheck(lf: LiveFault, event: (what: FaultEvent['what'], ok: boolean, detail: string) => void): Promise<boolean> {
  if (lf.active === undefined) return true;
  try {
    await lf.active.revert();
    event('reverted', true, 'reverted');
  } catch (e) {
    event('reverted', false, (e as Error).message);
  }
  const cleared = await lf.active.cleared();
  event('cleared', cleared.ok, cleared.detail);
  return cleared.ok;
}

/** The finished record of a fault. */
export function faultRecord(lf: LiveFault): FaultRecord {
  return { ...lf.record, events: [...lf.record.events] };
}
