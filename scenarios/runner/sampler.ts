// The runner's background loop: a series point every tick, the weights every other tick, and the steady-state probes and stop conditions.
import type { Probe } from '../../api/scenario.ts';
import { upAdminToken, type UpState } from '../../local/state.ts';
import type { PhaseSpan, ProbeSample, SeriesPoint } from '../report/journal.ts';
import { callJson } from '../faults/http.ts';
import { componentAdmin } from '../faults/process.ts';
import { seriesPoint, windowStats, type RequestRecord } from './measure.ts';
import { evaluateProbe, metricKey, metricValue, probeName, type ProbeVerdict } from './probes.ts';

/** A series point every TICK_MS over the last SERIES_WINDOW_MS. */
export const TICK_MS = 250;
export const SERIES_WINDOW_MS = 1000;
/** Probes are evaluated every PROBE_EVERY_TICKS ticks. */
const PROBE_EVERY_TICKS = 2;

/** The value of one metric on one component now; undefined when it does not answer or has none. */
export async function fetchMetric(state: UpState, m: { component: string; metric: string; labels: Readonly<Record<string, string>> }): Promise<number | undefined> {
  const admin = componentAdmin(state, m.component);
  if (admin === undefined) return undefined;
  const r = await callJson('GET', `${admin.url}/metrics`, undefined, 2000);
  return r.ok ? metricValue(r.text, m.metric, m.labels) : undefined;
}

/** The weights now, from the first global-lb replica that answers: service → source → destination → bp. */
async function fetchWeights(state: UpState): Promise<SeriesPoint['weights']> {
  for (const admin of state.adminUrls) {
    const r = await callJson('GET', `${admin}/v1/weights`, undefined, 1000, upAdminToken(state));
    if (!r.ok) continue;
    const body = r.json as { tables?: { service: string; rows: { sourceZone: string; targets: { zone: string; basisPoints: number }[] }[] }[] };
    const out: Record<string, Record<string, Record<string, number>>> = {};
    for (const t of body.tables ?? []) {
      const name = t.service.replace(/^shop\//, '');
      out[name] = Object.fromEntries(t.rows.map((row) => [row.sourceZone, Object.fromEntries(row.targets.map((x) => [x.zone, x.basisPoints]))]));
    }
    return out;
  }
  return undefined;
}

/** One evaluation of every probe, at one time. */
export interface ProbeRound {
  readonly atMs: number;
  readonly verdicts: readonly { readonly probe: Probe; readonly name: string; readonly verdict: ProbeVerdict }[];
  readonly allOk: boolean;
}

export interface SamplerOptions {
  readonly t0: number;
  readonly records: readonly RequestRecord[];
  readonly state: () => UpState;
  readonly probes: readonly Probe[];
  /** Stop-condition probes, evaluated with the steady probes. */
  readonly stops: readonly Probe[];
  readonly windowMs: number;
  readonly phase: () => PhaseSpan['name'];
  /** Called after every probe round (steady probes and stop probes). */
  readonly onRound: (steady: ProbeRound, stops: ProbeRound) => void;
}

/** A running sampler; `stop` ends the loop after the tick in progress. */
export interface Sampler {
  readonly series: SeriesPoint[];
  readonly samples: ProbeSample[];
  stop(): Promise<void>;
}

/** Evaluates a list of probes on the last `windowMs` of traffic. */
async function evaluate(o: SamplerOptions, list: readonly Probe[], now: number, weights: SeriesPoint['weights']): Promise<ProbeRound> {
  const atMs = now - o.t0;
  const stats = windowStats(o.records, atMs - o.windowMs, atMs);
  const metrics = new Map<string, number | undefined>();
  for (const p of list) if (p.kind === 'metric') metrics.set(metricKey(p), await fetchMetric(o.state(), p));
  const verdicts = list.map((probe) => ({ probe, name: probeName(probe), verdict: evaluateProbe(probe, { stats, weights, metrics }) }));
  return { atMs, verdicts, allOk: verdicts.every((v) => v.verdict.ok) };
}

/** Starts the loop. Invariant: series points are appended in time order, one per tick, even while a tick's HTTP calls are slow. */
export function startSampler(o: SamplerOptions): Sampler {
  const series: SeriesPoint[] = [];
  const samples: ProbeSample[] = [];
  let running = true;
  let weights: SeriesPoint['weights'];
  const loop = (async () => {
    for (let tick = 0; running; tick++) {
      const started = Date.now();
      if (tick % 2 === 0) weights = await fetchWeights(o.state()).catch(() => undefined);
      series.push(seriesPoint(o.records, Date.now() - o.t0, SERIES_WINDOW_MS, weights));
      if (tick % PROBE_EVERY_TICKS === 0) {
        const now = Date.now();
        const steady = await evaluate(o, o.probes, now, weights);
        const stops = await evaluate(o, o.stops, now, weights);
        const phase = o.phase();
        for (const v of steady.verdicts) samples.push({ atMs: steady.atMs, probe: v.name, phase, ok: v.verdict.ok, value: v.verdict.value, detail: v.verdict.detail });
        for (const v of stops.verdicts) samples.push({ atMs: stops.atMs, probe: `stop:${v.name}`, phase, ok: v.verdict.ok, value: v.verdict.value, detail: v.verdict.detail });
        o.onRound(steady, stops);
      }
      const wait = TICK_MS - (Date.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  return {
    series, samples,
    async stop() {
      running = false;
      await loop;
    },
  };
}
