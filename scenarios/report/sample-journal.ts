// A SYNTHETIC journal of a made-up 2-minute chaos run, for the report's tests and for previewing its look; never real data.
import { seededRandom } from '../../common/random.ts';
import type { ExpectationResult, FaultRecord, Journal, PhaseSpan, ProbeSample, SeriesPoint } from './journal.ts';

const A = 'us-east-1a';
const B = 'us-east-1b';
const EU = 'europe-west1-b';
const DURATION_MS = 120_000;

/** Destination zone → basis points. */
type Row = Readonly<Record<string, number>>;

/** 0 before `from`, 1 after `from + overMs`, linear between. */
function ramp(t: number, from: number, overMs: number): number {
  return Math.min(1, Math.max(0, (t - from) / overMs));
}

/** Blends two weight rows by p (0 → a, 1 → b), rounded so the row still sums to 10000. */
function blend(a: Row, b: Row, p: number): Row {
  const keys = Object.keys(a);
  const out: Record<string, number> = {};
  let sum = 0;
  for (const k of keys.slice(1)) {
    out[k] = Math.round((a[k] ?? 0) * (1 - p) + (b[k] ?? 0) * p);
    sum += out[k];
  }
  out[keys[0]!] = 10000 - sum;
  return out;
}

const phases: readonly PhaseSpan[] = [
  { name: 'start', startMs: 0, endMs: 3_000 },
  { name: 'steady-before', startMs: 3_000, endMs: 35_000 },
  { name: 'faults', startMs: 35_000, endMs: 75_000 },
  { name: 'rollback', startMs: 75_000, endMs: 85_000 },
  { name: 'steady-after', startMs: 85_000, endMs: DURATION_MS },
];

function phaseAt(t: number): PhaseSpan['name'] {
  return phases.find((p) => t >= p.startMs && t < p.endMs)?.name ?? 'steady-after';
}

/** How far the zone-down of catalog in us-east-1a has acted at t: 0 steady, 1 fully away from us-east-1a. */
function zoneDown(t: number): number {
  return t < 60_000 ? ramp(t, 40_000, 900) : 1 - ramp(t, 61_000, 4_000);
}

/** How far pricing has moved away from the slowed europe-west1-b at t. */
function pricingAway(t: number): number {
  return t < 70_000 ? ramp(t, 51_000, 5_000) : 1 - ramp(t, 70_500, 5_000);
}

function catalogWeights(t: number): Record<string, Row> {
  const p = zoneDown(t);
  return {
    [A]: blend({ [A]: 7000, [B]: 2500, [EU]: 500 }, { [A]: 0, [B]: 9000, [EU]: 1000 }, p),
    [B]: blend({ [A]: 2500, [B]: 7000, [EU]: 500 }, { [A]: 0, [B]: 9500, [EU]: 500 }, p),
    [EU]: blend({ [A]: 1000, [B]: 1000, [EU]: 8000 }, { [A]: 0, [B]: 2000, [EU]: 8000 }, p),
  };
}

function pricingWeights(t: number): Record<string, Row> {
  const p = pricingAway(t);
  return {
    [A]: blend({ [A]: 7000, [B]: 2500, [EU]: 500 }, { [A]: 7000, [B]: 2900, [EU]: 100 }, p),
    [B]: blend({ [A]: 2500, [B]: 7000, [EU]: 500 }, { [A]: 2900, [B]: 7000, [EU]: 100 }, p),
    [EU]: blend({ [A]: 1000, [B]: 1000, [EU]: 8000 }, { [A]: 3500, [B]: 3500, [EU]: 3000 }, p),
  };
}

/** The share each zone served: the source zones send equal traffic, so it is the column mean of the weights, plus noise. */
function servedShare(weights: Record<string, Row>, noise: () => number): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const row of Object.values(weights)) for (const [dest, bp] of Object.entries(row)) sums[dest] = (sums[dest] ?? 0) + bp;
  const raw = Object.entries(sums).map(([dest, s]) => [dest, s === 0 ? 0 : Math.max(0, s / 30000 + (noise() - 0.5) * 0.04)] as const);
  const total = raw.reduce((acc, [, v]) => acc + v, 0);
  return Object.fromEntries(raw.map(([dest, v]) => [dest, Math.round((v / total) * 1000) / 1000]));
}

function seriesPoint(t: number, noise: () => number): SeriesPoint {
  const warming = t <= 2_000;
  const down = t > 40_000 && t <= 43_000;
  const slowShare = t > 50_000 && t <= 70_000 ? servedShare(pricingWeights(t), () => 0.5)[EU]! : 0;
  const success = warming ? null : down ? [0.86, 0.95, 0.994][(t - 41_000) / 1000]! : Math.min(1, 0.9985 + (noise() - 0.5) * 0.003);
  const p99Base = slowShare > 0.02 ? 318 + slowShare * 60 : 38 + noise() * 14;
  return {
    atMs: t,
    windowMs: 1000,
    requests: warming ? 0 : 38 + Math.round(noise() * 4),
    success,
    p50Ms: warming ? null : 11 + noise() * 4 + (down ? 30 : 0),
    p99Ms: warming ? null : down ? [1450, 880, 120][(t - 41_000) / 1000]! : p99Base,
    share: warming ? { catalog: {}, pricing: {} } : { catalog: servedShare(catalogWeights(t), noise), pricing: servedShare(pricingWeights(t), noise) },
    weights: t === 30_000 ? undefined : { catalog: catalogWeights(t), pricing: pricingWeights(t) },
  };
}

const faults: readonly FaultRecord[] = [
  {
    id: 'zone-down-1a',
    kind: 'zone-down',
    target: 'app-us-east-1a-catalog-*',
    mechanism: 'SIGKILL + supervisor hold',
    startMs: 40_000,
    endMs: 60_000,
    events: [
      { atMs: 40_000, what: 'injected', ok: true, detail: 'SIGKILL to 3 catalog processes in us-east-1a, hold set' },
      { atMs: 40_150, what: 'applied', ok: true, detail: '0 of 3 catalog processes in us-east-1a running' },
      { atMs: 40_900, what: 'effect', ok: true, detail: 'share of catalog served by us-east-1a 0% at 40.9 s' },
      { atMs: 60_000, what: 'reverted', ok: true, detail: 'hold released' },
      { atMs: 61_800, what: 'cleared', ok: true, detail: '3 of 3 catalog processes in us-east-1a ready' },
    ],
  },
  {
    id: 'pricing-slow-eu',
    kind: 'latency',
    target: 'sidecars of pricing in europe-west1-b',
    mechanism: 'sidecar admin PUT /faults (L7)',
    startMs: 50_000,
    endMs: 70_000,
    events: [
      { atMs: 50_000, what: 'injected', ok: true, detail: '+300 ms delay on 2 sidecars' },
      { atMs: 50_040, what: 'applied', ok: true, detail: 'GET /faults on 2 sidecars: delay 300 ms' },
      { atMs: 51_600, what: 'effect', ok: true, detail: 'p99 of pricing via europe-west1-b 334 ms' },
      { atMs: 70_000, what: 'reverted', ok: true, detail: 'DELETE /faults on 2 sidecars' },
      { atMs: 70_030, what: 'cleared', ok: true, detail: 'GET /faults on 2 sidecars: none' },
    ],
  },
];

function probeSamples(series: readonly SeriesPoint[]): ProbeSample[] {
  const samples: ProbeSample[] = [];
  for (const p of series.filter((q) => q.atMs >= 3_000)) {
    const t = p.atMs;
    const phase = phaseAt(t);
    const success = p.success;
    samples.push({ atMs: t, probe: 'stop: success rate < 50%', phase, ok: success === null || success >= 0.5, value: success, detail: '' });
    if (t % 2000 === 0) {
      samples.push({ atMs: t, probe: 'success rate >= 99%', phase, ok: success !== null && success >= 0.99, value: success, detail: success === null ? 'no completed request' : '' });
      samples.push({ atMs: t, probe: 'p99 <= 500 ms', phase, ok: p.p99Ms !== null && p.p99Ms <= 500, value: p.p99Ms, detail: '' });
    }
    if (t > 40_000 && t <= 60_000) {
      const share = p.share['catalog']?.[A] ?? null;
      samples.push({ atMs: t, probe: 'catalog share in us-east-1a <= 1%', phase, ok: share !== null && share <= 0.01, value: share, detail: `${Math.round((share ?? 0) * 100)}% of ${p.requests} hops` });
    }
  }
  return samples;
}

const expectations: readonly ExpectationResult[] = [
  { name: 'catalog leaves us-east-1a', goal: 'share of catalog served by us-east-1a <= 1% within 3 s of fault zone-down-1a', ok: true, measured: '0.9 s', value: 0.9 },
  { name: 'no idempotent failures', goal: 'failed idempotent requests == 0 over the run', ok: true, measured: '0 of 4680 sent', value: 0 },
  { name: 'pricing p99 under slow eu', goal: 'p99 latency <= 250 ms while pricing-slow-eu is active, after 5 s', ok: false, measured: '338 ms', value: 338 },
];

/**
 * A SYNTHETIC journal: a made-up 2-minute run over us-east-1a, us-east-1b and europe-west1-b with services catalog and
 * pricing, a 20 s zone-down of catalog in us-east-1a (its share drops to 0 within ~1 s and the weights move), an
 * overlapping latency fault on pricing in europe-west1-b, two expectations passing and one failing. For tests and
 * previews of the report only; it was never measured.
 */
export function sampleJournal(): Journal {
  const noise = seededRandom(20261204);
  const series: SeriesPoint[] = [];
  for (let t = 1000; t <= DURATION_MS; t += 1000) series.push(seriesPoint(t, noise));
  const t0 = Date.UTC(2026, 11, 4, 1, 0, 0);
  return {
    version: 1,
    scenario: {
      name: 'zone-down-catalog (synthetic sample)',
      description: 'Synthetic sample: kill catalog in us-east-1a for 20 s while pricing in europe-west1-b is slowed by 300 ms; traffic must leave both.',
      file: 'scenarios/zone-down-catalog.yaml',
    },
    startedAt: new Date(t0).toISOString(),
    t0,
    quick: false,
    machine: { cpus: 2, cpuModel: 'Synthetic CPU @ 2.4GHz', node: 'v24.21.0', platform: 'linux' },
    zones: [
      { name: A, locality: 'aws/us-east-1/us-east-1a' },
      { name: B, locality: 'aws/us-east-1/us-east-1b' },
      { name: EU, locality: 'gcp/europe-west1/europe-west1-b' },
    ],
    load: { rps: 40, durationMs: DURATION_MS, targets: ['frontend /catalog (us-east-1a)', 'frontend /catalog (us-east-1b)', 'frontend /catalog (europe-west1-b)'] },
    phases,
    faults,
    series,
    probes: probeSamples(series),
    expectations,
    rollback: {
      ok: true,
      checks: [
        { what: 'zone-down-1a cleared', ok: true, detail: '3 of 3 catalog processes in us-east-1a ready, hold released' },
        { what: 'pricing-slow-eu cleared', ok: true, detail: 'GET /faults on 2 sidecars: none' },
        { what: 'weights back to steady', ok: true, detail: 'catalog from us-east-1a: us-east-1a 70% (steady 70%)' },
      ],
    },
    result: 'failed',
    totals: { sent: 4680, ok: 4612, failed: 68, failedIdempotent: 0 },
  };
}
