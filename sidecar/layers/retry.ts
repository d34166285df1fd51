// Retry layer: re-sends failed attempts per the route's retry policy, within the retry budget, avoiding what failed.
import { decideRetry } from '../resilience/retry.ts';
import type { Layer, ProxyResponse } from '../types.ts';
import { discard, type StackDeps } from './deps.ts';

/** A body wrapper that remembers whether anyone started reading it; an unread body can be sent again. */
const NO_BODY = { body: null, consumed: (): boolean => false } as const;

function guardBody(body: AsyncIterable<Uint8Array> | null): { body: AsyncIterable<Uint8Array> | null; consumed: () => boolean } {
  if (body === null) return NO_BODY;
  let started = false;
  return {
    body: { [Symbol.asyncIterator]: () => { started = true; return body[Symbol.asyncIterator](); } },
    consumed: () => started,
  };
}

function withFlag(res: ProxyResponse, flag: string): ProxyResponse {
  return { ...res, flags: [...(res.flags ?? []), flag] };
}

/**
 * Retries prefer another endpoint, then another zone: every failed endpoint is excluded, and a zone is excluded
 * once two attempts failed in it (the picker relaxes exclusions rather than fail when nothing else is left).
 * The budget counts, per destination service, requests in flight through this layer and retries in flight; a retry
 * counts from the moment it is decided (backoff included), so a burst of failures cannot all pass the check at once.
 */
export function retryLayer(deps: StackDeps): Layer {
  const activeRequests = new Map<string, number>();
  const activeRetries = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string, d: number): void => {
    const v = (m.get(k) ?? 0) + d;
    if (v > 0) m.set(k, v);
    else m.delete(k);
  };
  return (next) => async (req) => {
    const policy = req.route?.retry;
    if (!policy || policy.attempts <= 1) return next({ ...req, attempt: 1 });
    const service = req.service;
    const guard = guardBody(req.body);
    // What failed so far; made at the first retry (most requests never retry, and this runs on every one).
    let exclude: { endpoints: Set<string>; zones: Set<string> } | undefined;
    let zoneFailures: Map<string, number> | undefined;
    bump(activeRequests, service, 1);
    try {
      for (let attempt = 1; ; attempt++) {
        const retrying = attempt > 1;
        let res: ProxyResponse;
        try {
          res = await next(exclude ? { ...req, body: guard.body, attempt, exclude } : { ...req, body: guard.body, attempt });
        } finally {
          if (retrying) bump(activeRetries, service, -1);
        }
        const d = decideRetry({
          policy, method: req.method, attempt, response: res, bodyConsumed: guard.consumed(), cancelled: req.signal.aborted,
          budget: deps.config().services[service]?.policy.retryBudget ?? { percent: 20, minConcurrency: 3 },
          activeRequests: activeRequests.get(service) ?? 0, activeRetries: activeRetries.get(service) ?? 0, random: deps.random,
        });
        if (!d.retry) {
          if (d.reason !== 'success' && d.reason !== 'not-retryable') deps.onEvent?.({ kind: 'retry-denied', service, reason: d.reason });
          return retrying ? withFlag(res, 'retried') : res;
        }
        exclude ??= { endpoints: new Set(), zones: new Set() };
        zoneFailures ??= new Map();
        if (res.endpoint !== undefined) exclude.endpoints.add(res.endpoint);
        if (res.zone !== undefined) {
          const n = (zoneFailures.get(res.zone) ?? 0) + 1;
          zoneFailures.set(res.zone, n);
          if (n >= 2) exclude.zones.add(res.zone);
        }
        discard(res);
        bump(activeRetries, service, 1);
        deps.onEvent?.({ kind: 'retry', service, condition: d.condition, attempt: attempt + 1, backoffMs: d.backoffMs });
        if (d.backoffMs > 0) {
          try {
            await deps.sleep(d.backoffMs, req.signal);
          } catch (e) {
            bump(activeRetries, service, -1);
            throw e;
          }
        }
      }
    } finally {
      bump(activeRequests, service, -1);
    }
  };
}
