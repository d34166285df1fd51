// Circuit-breaker layer: refuses a request at once (503) when its destination already has maxRequests in flight.
import { admitRequest } from '../resilience/circuit-breaker.ts';
import type { Layer } from '../types.ts';
import { localResponse, type StackDeps } from './deps.ts';

/** Counts requests in flight per destination service; connection and pending limits are the upstream pool's to apply. */
export function circuitBreakerLayer(deps: StackDeps): Layer {
  const active = new Map<string, number>();
  return (next) => async (req) => {
    const limits = req.route?.circuitBreaker;
    if (!limits) return next(req);
    const service = req.service;
    const n = active.get(service) ?? 0;
    const overflow = admitRequest(limits, { connections: 0, pendingRequests: 0, activeRequests: n });
    if (overflow) {
      deps.onEvent?.({ kind: 'overflow', service, overflow });
      deps.onEvent?.({ kind: 'local-failure', service, zone: '', class: 'overflow' });
      return localResponse(503, 'MESHFED_E_SIDECAR_CIRCUIT_OPEN', `circuit open for ${service} (${overflow})`, ['circuit-open'], { 'x-meshfed-overflow': overflow });
    }
    active.set(service, n + 1);
    try {
      return await next(req);
    } finally {
      const left = (active.get(service) ?? 1) - 1;
      if (left > 0) active.set(service, left);
      else active.delete(service);
    }
  };
}
