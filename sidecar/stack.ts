// The order of the sidecar's layers, declared once: outbound (app -> mesh) and inbound (mesh -> app).
import type { Handler, Layer } from './types.ts';
import type { StackDeps } from './layers/deps.ts';
import { routeLayer } from './layers/route.ts';
import { faultLayer } from './layers/fault.ts';
import { timeoutLayer, perTryTimeoutLayer } from './layers/timeout.ts';
import { circuitBreakerLayer } from './layers/circuit-breaker.ts';
import { retryLayer } from './layers/retry.ts';
import { localFailureLayer } from './layers/local-failure.ts';
import { balanceLayer } from './layers/balance.ts';
import { authzLayer } from './layers/authz.ts';

/** Composes layers outermost first: compose([a, b])(h) is a(b(h)). */
export function compose(layers: readonly Layer[]): Layer {
  return (inner: Handler) => layers.reduceRight<Handler>((h, layer) => layer(h), inner);
}

/**
 * Outbound, outermost first. Faults sit before the route deadline (as Envoy's fault filter sits before the router,
 * so an injected delay is not cut short by the route timeout). The circuit breaker counts client requests, the
 * local-failure layer counts once per request what no try could be sent for, the retry layer re-enters the
 * balancer for each try, and the per-try deadline wraps only the upstream call so a
 * timed-out try still names its endpoint. The caller gives the innermost handler: the upstream (sidecar-io),
 * which sends req to req.target.
 */
export function outboundStack(deps: StackDeps): Layer {
  return compose([
    routeLayer(deps),
    faultLayer(deps, 'outbound'),
    timeoutLayer(deps),
    circuitBreakerLayer(deps),
    localFailureLayer(deps),
    retryLayer(deps),
    balanceLayer(deps),
    perTryTimeoutLayer(deps),
  ]);
}

/** Inbound, outermost first: authz before anything else, then inbound faults; the innermost handler is the local app. */
export function inboundStack(deps: StackDeps): Layer {
  return compose([authzLayer(deps), faultLayer(deps, 'inbound')]);
}
