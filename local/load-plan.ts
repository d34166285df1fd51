// Pure pacing for the load generator: when each request of a fixed-rate, bounded run is due.

/** A bounded load: stops at whichever limit comes first. */
export interface LoadPlan {
  readonly rps: number;
  readonly maxRequests: number;
  readonly maxDurationMs: number;
}

/** The send time (ms after start) of request i, or undefined once the plan is exhausted. */
export function dueAt(plan: LoadPlan, i: number): number | undefined {
  if (!(plan.rps > 0) || i >= plan.maxRequests) return undefined;
  const t = (i * 1000) / plan.rps;
  return t < plan.maxDurationMs ? t : undefined;
}

/** How many requests are due by `elapsedMs` (used to catch up after a stall without bursting past the plan). */
export function dueCount(plan: LoadPlan, elapsedMs: number): number {
  if (!(plan.rps > 0) || elapsedMs < 0) return 0;
  const byTime = Math.floor((Math.min(elapsedMs, plan.maxDurationMs - 1e-9) * plan.rps) / 1000) + 1;
  return Math.max(0, Math.min(plan.maxRequests, byTime));
}

/** Counts outcomes per key, e.g. the zone that served a hop. */
export function shares(counts: ReadonlyMap<string, number>): Map<string, number> {
  let total = 0;
  for (const n of counts.values()) total += n;
  const out = new Map<string, number>();
  for (const [k, n] of counts) out.set(k, total === 0 ? 0 : n / total);
  return out;
}
