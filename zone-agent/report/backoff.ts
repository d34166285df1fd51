// Pure reconnect policy: exponential backoff with full jitter and failover across balancer addresses.

/** Backoff settings; defaults suit a control-plane stream (fast first retry, capped wait). */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
  /** 0 = no jitter, 1 = full jitter (wait uniformly in [0, cap]). */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = Object.freeze({ initialMs: 100, maxMs: 5000, multiplier: 2, jitter: 0.5 });

/**
 * The wait before reconnect attempt number `attempt` (0 = first retry). `random` returns [0, 1).
 * Invariant: the result lies in [cap * (1 - jitter), cap] where cap = min(maxMs, initialMs * multiplier^attempt).
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number): number {
  const cap = Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** Math.max(0, attempt));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(cap * (1 - policy.jitter * r));
}

/**
 * Which address to try next. A failed address moves to the next one, so every balancer replica is tried in turn;
 * a stream that was healthy keeps its address on the first retry (a blip should not move the agent).
 */
export function nextAddressIndex(current: number, count: number, wasHealthy: boolean): number {
  if (count <= 0) return 0;
  return wasHealthy ? current % count : (current + 1) % count;
}
