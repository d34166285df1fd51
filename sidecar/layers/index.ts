// Public API of the sidecar layers: one concern per file, composed in sidecar/stack.ts.
export { routeLayer } from './route.ts';
export { faultLayer } from './fault.ts';
export { timeoutLayer, perTryTimeoutLayer, withDeadline, isDeadline } from './timeout.ts';
export { circuitBreakerLayer } from './circuit-breaker.ts';
export { retryLayer } from './retry.ts';
export { localFailureLayer } from './local-failure.ts';
export { balanceLayer, classifyOutcome, queueWaitCapMs, QUEUE_POLL_MS, QUEUE_WAIT_DEFAULT_MS } from './balance.ts';
export { teeBody, MirrorAbandoned, MIRROR_BACKLOG_BYTES, type BodyTee, type TeeOptions } from './tee.ts';
export { authzLayer } from './authz.ts';
export { localResponse, REASON_HEADER_MAX, discard, realTimers, type StackDeps, type StackEvent } from './deps.ts';
