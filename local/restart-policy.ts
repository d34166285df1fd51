// Pure restart decisions for supervised components: exponential backoff and a restart budget over a sliding window.

/** How a component that exits on its own is restarted. */
export interface RestartPolicy {
  /** Delay before the first restart in a window; doubled for each further one. */
  readonly initialBackoffMs: number;
  /** The delay never grows past this. */
  readonly maxBackoffMs: number;
  /** At most this many restarts within windowMs; one more exit in the window stops the federation. */
  readonly budget: number;
  readonly windowMs: number;
}

/** 0.5 s doubling to 5 s; 5 restarts in 60 s. */
export const DEFAULT_RESTART_POLICY: RestartPolicy = Object.freeze({ initialBackoffMs: 500, maxBackoffMs: 5000, budget: 5, windowMs: 60_000 });

/** What to do about an exit. */
export type RestartDecision =
  | { readonly kind: 'restart'; readonly attempt: number; readonly delayMs: number }
  | { readonly kind: 'give-up'; readonly restartsInWindow: number };

/**
 * Decides on an exit at `now`, given when earlier restarts were made. Restarts older than the window are forgotten,
 * so a component that stayed up for a minute starts again from the initial backoff and a full budget.
 * Invariant: attempt = 1 + restarts in the window; delay = min(initial * 2^(attempt-1), max).
 */
export function decideRestart(restartTimes: readonly number[], now: number, policy: RestartPolicy = DEFAULT_RESTART_POLICY): RestartDecision {
  const recent = restartTimes.filter((t) => now - t < policy.windowMs).length;
  if (recent >= policy.budget) return { kind: 'give-up', restartsInWindow: recent };
  const delayMs = Math.min(policy.initialBackoffMs * 2 ** recent, policy.maxBackoffMs);
  return { kind: 'restart', attempt: recent + 1, delayMs };
}

/** Restart times still inside the window at `now` (the history a tracker keeps). */
export function pruneRestarts(restartTimes: readonly number[], now: number, policy: RestartPolicy = DEFAULT_RESTART_POLICY): number[] {
  return restartTimes.filter((t) => now - t < policy.windowMs);
}

/** How an exit reads in a progress line: "signal SIGKILL" or "code 1". */
export function describeExit(code: number | null, signal: string | null): string {
  return signal !== null ? `signal ${signal}` : `code ${code ?? '?'}`;
}

/**
 * The restart bookkeeping of one component, with time passed in. Invariant: `history` holds only restarts made
 * within the window of the last decision; `total` counts every restart since start.
 */
export class RestartTracker {
  private history: number[] = [];
  total = 0;
  readonly policy: RestartPolicy;

  constructor(policy: RestartPolicy = DEFAULT_RESTART_POLICY) {
    this.policy = policy;
  }

  /** Decides on an exit at `now`; a restart decision is recorded as made at now + its delay. */
  onExit(now: number): RestartDecision {
    this.history = pruneRestarts(this.history, now, this.policy);
    const d = decideRestart(this.history, now, this.policy);
    if (d.kind === 'restart') {
      this.history.push(now + d.delayMs);
      this.total++;
    }
    return d;
  }
}
