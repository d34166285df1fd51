// Public API of the sidecar layers: one concern per file, composed in sidecar/stack.ts.
export { routeLayer } from './route.ts';
export { faultLayer } from './fault.ts';
export { timeoutLayer, perTryTimeoutLayer, withDeadline } from './timeout.ts';
export { circuitBreakerLayer } from './circuit-breaker.ts';
export { retryLayer } from './retry.ts';
export { balanceLayer, classifyOutcome } from './balance.ts';
export { authzLayer } from './authz.ts';
export { localResponse, discard, realTimers, type StackDeps, type StackEvent } from './deps.ts';
