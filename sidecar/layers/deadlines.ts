// Deadline timers for the hot path: long deadlines share one coarse ticking timer instead of a timer per request.
//
// Why: every outbound request arms the route deadline (15 s by default) and nearly always cancels it a millisecond
// later. A Node timer per request allocates a Timeout and, when the 15 s timer list empties between requests, creates
// and destroys that list and its priority-queue slot each time. Here a long deadline is one small entry in a Set;
// one interval, running only while entries exist, fires the due ones.
//
// Invariants:
// - a deadline never fires early: an entry fires on the first tick at which now >= its due time;
// - a coarse deadline fires at most tickMs (plus event-loop delay) late; deadlines shorter than coarseFromMs get a
//   precise timer of their own, so per-try timeouts and short route timeouts keep their precision;
// - a cancelled entry is removed at once (nothing lingers until its due time), and cancelling twice, or after it
//   fired, does nothing;
// - the interval runs only while entries are pending (it is cleared on the first tick that finds none), and it keeps
//   the process alive exactly as per-request timers did.

/** The timer primitives the scheduler runs on; the real ones by default, fakes in tests. */
export interface TimerFns {
  readonly now: () => number;
  readonly setTimeout: (fn: () => void, ms: number) => unknown;
  readonly clearTimeout: (handle: unknown) => void;
  readonly setInterval: (fn: () => void, ms: number) => unknown;
  readonly clearInterval: (handle: unknown) => void;
}

export interface CoarseSchedulerOptions {
  /** Deadlines at least this long share the coarse tick (default 1000 ms). */
  readonly coarseFromMs?: number;
  /** The tick of the shared timer: the most a coarse deadline fires late (default 50 ms, 5% of the threshold). */
  readonly tickMs?: number;
  readonly timers?: TimerFns;
}

interface Entry {
  readonly at: number;
  readonly fn: () => void;
}

const REAL_TIMERS: TimerFns = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

/** A `schedule(ms, fn) -> cancel` (the StackDeps contract) with shared coarse timing for long deadlines. */
export function coarseScheduler(opts: CoarseSchedulerOptions = {}): { schedule: (ms: number, fn: () => void) => () => void; pending: () => number } {
  const coarseFromMs = opts.coarseFromMs ?? 1000;
  const tickMs = opts.tickMs ?? 50;
  const t = opts.timers ?? REAL_TIMERS;
  const entries = new Set<Entry>();
  let interval: unknown;

  const tick = (): void => {
    if (entries.size === 0) {
      t.clearInterval(interval);
      interval = undefined;
      return;
    }
    const now = t.now();
    // Deleting the visited entry while iterating a Set is safe; entries added by fn are visited but not yet due.
    for (const e of entries) {
      if (e.at <= now) {
        entries.delete(e);
        e.fn();
      }
    }
  };

  const schedule = (ms: number, fn: () => void): (() => void) => {
    if (ms < coarseFromMs) {
      const h = t.setTimeout(fn, ms);
      return () => t.clearTimeout(h);
    }
    const e: Entry = { at: t.now() + ms, fn };
    entries.add(e);
    if (interval === undefined) interval = t.setInterval(tick, tickMs);
    return () => { entries.delete(e); };
  };
  return { schedule, pending: () => entries.size };
}
