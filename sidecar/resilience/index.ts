// Public API of the sidecar's resilience decisions: retries, retry budget, backoff, circuit breaking.
export { decideRetry, retryCondition, backoffMs, budgetAllows, IDEMPOTENT_METHODS, type RetryBudget, type RetryDecision, type RetryInput } from './retry.ts';
export { admitRequest, admitPending, admitConnection, type CircuitUsage, type Overflow } from './circuit-breaker.ts';
