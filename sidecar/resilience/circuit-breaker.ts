// Pure circuit-breaker decisions per destination: max connections, max pending requests, max requests.
import type { CircuitBreakerLimits } from '../types.ts';

/** What is in use at one destination right now. */
export interface CircuitUsage {
  readonly connections: number;
  readonly pendingRequests: number;
  readonly activeRequests: number;
}

/** Which limit overflowed, in Envoy's words (the `x-meshfed-overflow` header and the metric label use these). */
export type Overflow = 'max-connections' | 'max-pending-requests' | 'max-requests';

/** May one more request start? Counted before the request is added. */
export function admitRequest(limits: CircuitBreakerLimits, usage: CircuitUsage): Overflow | undefined {
  return usage.activeRequests >= limits.maxRequests ? 'max-requests' : undefined;
}

/** May a request wait for a connection? (The pool asks this when every connection is busy.) */
export function admitPending(limits: CircuitBreakerLimits, usage: CircuitUsage): Overflow | undefined {
  return usage.pendingRequests >= limits.maxPendingRequests ? 'max-pending-requests' : undefined;
}

/** May the pool open one more connection? When not, the request waits (subject to admitPending). */
export function admitConnection(limits: CircuitBreakerLimits, usage: CircuitUsage): Overflow | undefined {
  return usage.connections >= limits.maxConnections ? 'max-connections' : undefined;
}
