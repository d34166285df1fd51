// The JSON journal of one chaos run: every probe sample, fault event and expectation, with times. The HTML report is drawn from it alone.

/** Times in a journal are milliseconds since `t0` (the run's start, epoch ms), so plots share one axis. */
export type RelMs = number;

/** One phase of a run, in order: start → steady-before → faults → rollback → steady-after (some may be missing on an abort). */
export interface PhaseSpan {
  readonly name: 'start' | 'steady-before' | 'faults' | 'rollback' | 'steady-after';
  readonly startMs: RelMs;
  readonly endMs: RelMs;
}

/** One step in a fault's life. */
export interface FaultEvent {
  readonly atMs: RelMs;
  /** injected: the change was made; applied: it was checked in place; effect: it was seen to act on traffic; reverted; cleared: checked gone. */
  readonly what: 'injected' | 'applied' | 'effect' | 'reverted' | 'cleared';
  readonly ok: boolean;
  readonly detail: string;
}

/** One fault of the timeline as it ran. */
export interface FaultRecord {
  /** The scenario's id for the fault (its `id`, else `<kind>-<index>`). */
  readonly id: string;
  readonly kind: string;
  /** What it hit, e.g. "app-us-east-1a-catalog-*" or "sidecars of catalog in us-east-1a". */
  readonly target: string;
  /** How it was done, e.g. "SIGKILL + supervisor hold", "sidecar admin PUT /faults (L7)", "L4 fault layer (tc netem unavailable)". */
  readonly mechanism: string;
  /** When the fault window started and ended (revert began); endMs is undefined when it never ended (a crash). */
  readonly startMs: RelMs;
  readonly endMs: RelMs | undefined;
  readonly events: readonly FaultEvent[];
}

/**
 * One point of the run's time series: a window of `windowMs` ending at `atMs`.
 * Success and latency are over the load's requests that COMPLETED in the window; `share` is, per service, the share
 * of that service's hops each zone SERVED in the window (0..1); `weights` is what `meshfed weights` said at `atMs`.
 */
export interface SeriesPoint {
  readonly atMs: RelMs;
  readonly windowMs: number;
  readonly requests: number;
  /** 0..1, or null with no completed request in the window. */
  readonly success: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** service → serving zone → share 0..1. */
  readonly share: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** service → source zone → destination zone → basis points (0..10000); absent when the admin API did not answer. */
  readonly weights?: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, number>>>>>>;
}

/** One evaluation of one steady-state probe or stop condition. */
export interface ProbeSample {
  readonly atMs: RelMs;
  readonly probe: string;
  readonly phase: PhaseSpan['name'];
  readonly ok: boolean;
  /** The measured value (a rate 0..1, milliseconds, a share 0..1, basis points, a metric value), null when unmeasurable. */
  readonly value: number | null;
  readonly detail: string;
}

/** One expectation's verdict. */
export interface ExpectationResult {
  readonly name: string;
  /** What was expected, in words, e.g. "share of catalog served by us-east-1a <= 1% within 3 s of fault zone-down". */
  readonly goal: string;
  readonly ok: boolean;
  /** The measured value in words, e.g. "0.8 s", "0 of 312 failed", "never (stayed at 34%)". */
  readonly measured: string;
  /** The measured number behind `measured` (seconds, a count, a share), null when there was none. */
  readonly value: number | null;
}

/** One check of the rollback: a fault cleared, a process back, a rule gone. */
export interface RollbackCheck {
  readonly what: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** The whole journal, written as `journal.json` in the report directory. */
export interface Journal {
  readonly version: 1;
  readonly scenario: { readonly name: string; readonly description: string; readonly file: string };
  /** ISO time of t0. */
  readonly startedAt: string;
  /** Epoch ms of the run's start; every RelMs counts from here. */
  readonly t0: number;
  readonly quick: boolean;
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly node: string; readonly platform: string };
  readonly zones: readonly { readonly name: string; readonly locality: string }[];
  /** The load as run: rate, duration, targets. */
  readonly load: { readonly rps: number; readonly durationMs: number; readonly targets: readonly string[] };
  readonly phases: readonly PhaseSpan[];
  readonly faults: readonly FaultRecord[];
  readonly series: readonly SeriesPoint[];
  readonly probes: readonly ProbeSample[];
  readonly expectations: readonly ExpectationResult[];
  /** Set when a stop condition ended the fault phase early, or the runner was signalled. */
  readonly aborted?: { readonly atMs: RelMs; readonly reason: string };
  readonly rollback: { readonly ok: boolean; readonly checks: readonly RollbackCheck[] };
  /** passed: every expectation held and rollback verified; failed: one did not; aborted: a stop condition or signal ended it. */
  readonly result: 'passed' | 'failed' | 'aborted';
  /** Totals of the load over the whole run. */
  readonly totals: { readonly sent: number; readonly ok: number; readonly failed: number; readonly failedIdempotent: number };
}
