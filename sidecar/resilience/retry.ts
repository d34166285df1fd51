// Pure retry decisions: what is retryable, the retry budget (Envoy's retry_budget) and jittered exponential backoff.
import type { ProxyResponse, Random, RetryOn, RetryPolicy } from '../types.ts';

/** Methods that are safe to send twice (RFC 9110 idempotent methods). */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** The retry budget: active retries may be at most max(minConcurrency, percent% of active requests). */
export interface RetryBudget {
  readonly percent: number;
  readonly minConcurrency: number;
}

/** True when one more retry fits the budget, given the destination's requests and retries in flight now. */
export function budgetAllows(budget: RetryBudget, activeRequests: number, activeRetries: number): boolean {
  const allowed = Math.max(budget.minConcurrency, Math.floor((budget.percent * activeRequests) / 100));
  return activeRetries < allowed;
}

/**
 * Full-jitter exponential backoff: uniform in [0, min(base × 2^(retry-1), max)), as Envoy does, so a burst of
 * retries spreads out instead of hitting the upstream in lockstep. `retry` is 1 for the first retry.
 */
export function backoffMs(retry: number, baseMs: number, maxMs: number, random: Random): number {
  const ceiling = Math.min(baseMs * 2 ** Math.max(0, retry - 1), maxMs);
  return Math.floor(random() * ceiling);
}

/** Which retryOn condition a response meets, if any. */
export function retryCondition(res: ProxyResponse, retryOn: readonly RetryOn[]): RetryOn | undefined {
  const flags = res.flags ?? [];
  if (retryOn.includes('connect-failure') && flags.includes('connect-failure')) return 'connect-failure';
  if (retryOn.includes('reset') && (flags.includes('reset') || flags.includes('timeout'))) return 'reset';
  if (retryOn.includes('503') && res.status === 503) return '503';
  if (retryOn.includes('gateway-error') && (res.status === 502 || res.status === 503 || res.status === 504)) return 'gateway-error';
  return undefined;
}

/** The retry decision for one finished attempt. */
export type RetryDecision =
  | { readonly retry: true; readonly condition: RetryOn; readonly backoffMs: number }
  | { readonly retry: false; readonly reason: 'success' | 'not-retryable' | 'attempts-exhausted' | 'non-idempotent' | 'body-consumed' | 'budget-exhausted' | 'cancelled' };

/** Everything a retry decision looks at. */
export interface RetryInput {
  readonly policy: RetryPolicy;
  readonly method: string;
  /** The attempt that just finished, 1-based. */
  readonly attempt: number;
  readonly response: ProxyResponse;
  /** True when the request body was (partly) read by an earlier attempt, so it cannot be sent again. */
  readonly bodyConsumed: boolean;
  /** The client went away or the overall deadline fired. */
  readonly cancelled: boolean;
  readonly budget: RetryBudget;
  readonly activeRequests: number;
  readonly activeRetries: number;
  readonly random: Random;
}

/** Decides whether to retry. Pure; the order of checks is the order of the reasons a caller would want to see. */
export function decideRetry(input: RetryInput): RetryDecision {
  const condition = retryCondition(input.response, input.policy.retryOn);
  if (condition === undefined) return { retry: false, reason: input.response.status < 500 ? 'success' : 'not-retryable' };
  if (input.cancelled) return { retry: false, reason: 'cancelled' };
  if (input.attempt >= input.policy.attempts) return { retry: false, reason: 'attempts-exhausted' };
  if (!input.policy.retryNonIdempotent && !IDEMPOTENT_METHODS.has(input.method.toUpperCase())) return { retry: false, reason: 'non-idempotent' };
  if (input.bodyConsumed) return { retry: false, reason: 'body-consumed' };
  if (!budgetAllows(input.budget, input.activeRequests, input.activeRetries)) return { retry: false, reason: 'budget-exhausted' };
  return { retry: true, condition, backoffMs: backoffMs(input.attempt, input.policy.backoffBaseMs, input.policy.backoffMaxMs, input.random) };
}
