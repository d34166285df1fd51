// The one interface every chaos fault goes through: inject, check it applied, see it act, revert, check it cleared.
import type { Topology } from '../../api/topology.ts';
import type { UpState } from '../../local/state.ts';

/** What a fault may read and reach in the running federation. */
export interface FaultContext {
  /** The state directory of the federation (up.json, trust/, run/holds). */
  readonly stateDir: string;
  /** up.json as it is now (pids change as components restart). */
  state(): UpState;
  /** The topology the federation runs (clusters, networks, clouds of each zone). */
  readonly topology: Topology;
  /** One progress line. */
  readonly log: (line: string) => void;
}

/** The result of a check: ok, and what was seen, in words for the journal. */
export interface Check {
  readonly ok: boolean;
  readonly detail: string;
}

/** A fault that has been injected. Every method is safe to call more than once. */
export interface ActiveFault {
  /** How it was done, e.g. "SIGKILL + supervisor hold"; shown in the report. */
  readonly mechanism: string;
  /** What it hit, in words. */
  readonly target: string;
  /** Right after inject: is the change in place (rule listed, process gone, bundle stored)? */
  applied(): Promise<Check>;
  /**
   * Near the end of the fault window: did it act on anything (a counter of injected faults grew, requests failed over)?
   * A fault with no effect fails the run visibly instead of passing vacuously.
   */
  effect(): Promise<Check>;
  /** Undoes the change. Must not throw for "already undone". */
  revert(): Promise<void>;
  /** After revert: is every trace gone (no rule left, process back and ready, bundle as before)? */
  cleared(): Promise<Check>;
}

/** Injects one kind of fault. `spec` is the validated scenario entry of that kind. */
export type InjectFault<S> = (ctx: FaultContext, spec: S) => Promise<ActiveFault>;
