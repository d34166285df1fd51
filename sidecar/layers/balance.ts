// Balance layer: asks the current picker for an endpoint (zone by weight, P2C inside), counts the attempt, feeds outlier detection.
import { tryOutcome, type Layer, type Outcome, type Pick, type ProxyRequest, type ProxyResponse } from '../types.ts';
import { isDeadline } from './timeout.ts';
import { localResponse, type StackDeps } from './deps.ts';

/** How outlier detection sees an attempt's response. */
export function classifyOutcome(res: ProxyResponse): Outcome {
  const flags = res.flags ?? [];
  if (flags.includes('connect-failure')) return 'connect-failure';
  if (flags.includes('reset')) return 'reset';
  if (flags.includes('timeout')) return 'timeout';
  return res.status >= 500 ? '5xx' : 'success';
}

/** How often a queued pick is tried again while the endpoint set has not arrived. */
export const QUEUE_POLL_MS = 20;

/** The longest a queued pick waits when the route sets no timeout (the default route timeout). */
export const QUEUE_WAIT_DEFAULT_MS = 15_000;

/** How long a request whose pick says `queue` may wait: its route's timeout, or QUEUE_WAIT_DEFAULT_MS without one. */
export function queueWaitCapMs(req: ProxyRequest): number {
  const t = req.route?.timeoutMs ?? 0;
  return t > 0 ? t : QUEUE_WAIT_DEFAULT_MS;
}

/** One synchronous pick with the current picker; undefined when the service has no picker. */
function pickNow(deps: StackDeps, req: ProxyRequest): Pick | undefined {
  const subset = req.route?.subset;
  return deps.pickers.picker(req.service)?.pick(subset === undefined ? { now: deps.clock() } : { now: deps.clock(), subset }, req.exclude);
}

/**
 * Called after a `queue` pick (the endpoint set has not arrived yet, e.g. just after start-up): tries again every
 * QUEUE_POLL_MS with the current picker (a new state publishes a new one) until the pick is no longer `queue`,
 * the request's signal aborts (client gone, route deadline), or queueWaitCapMs has passed. Returns the last pick.
 * Kept apart from the first pick so the common path costs no extra promise.
 */
async function waitWhileQueued(deps: StackDeps, req: ProxyRequest): Promise<Pick | undefined> {
  const cap = queueWaitCapMs(req);
  const deadline = deps.clock() + cap;
  let p: Pick | undefined = { kind: 'queue' };
  // The poll count bounds the loop too, so an injected clock that does not move cannot make it spin forever.
  for (let polls = Math.ceil(cap / QUEUE_POLL_MS); polls > 0; polls--) {
    const left = deadline - deps.clock();
    if (left <= 0 || req.signal.aborted) return p;
    await deps.sleep(Math.min(QUEUE_POLL_MS, left), req.signal);
    if (req.signal.aborted) return p;
    p = pickNow(deps, req);
    if (p?.kind !== 'queue') return p;
  }
  return p;
}

/**
 * Sets req.target for the layer below (the upstream). A `queue` pick waits (see waitWhileQueued); failures to pick,
 * including a wait that ran out, are 503 with flag 'no-healthy-upstream' ('not-ready' for the wait); the layer
 * above (local-failure.ts) reports them once per request. Each try sent is reported to the zone
 * it went to (try-start / try-end, with its TryOutcome and time to response headers); a try cut by the route
 * deadline is a timeout of that zone, one the client abandoned is charged to nobody.
 */
export function balanceLayer(deps: StackDeps): Layer {
  return (next) => async (req) => {
    // The route deadline fired during a retry's backoff (or the client left): nothing is sent.
    if (req.signal.aborted) {
      return localResponse(504, 'MESHFED_E_SIDECAR_UPSTREAM_TIMEOUT', `the deadline passed before a try to ${req.service} was sent`, ['timeout', 'route-timeout', 'not-sent']);
    }
    let p = pickNow(deps, req);
    if (p?.kind === 'queue') p = await waitWhileQueued(deps, req);
    if (!p) return localResponse(503, 'MESHFED_E_SIDECAR_NO_HEALTHY_UPSTREAM', `no endpoints known for ${req.service}`, ['no-healthy-upstream']);
    if (p.kind === 'queue') return localResponse(503, 'MESHFED_E_SIDECAR_NO_HEALTHY_UPSTREAM', `endpoints of ${req.service} not known yet (waited up to ${queueWaitCapMs(req)} ms)`, ['no-healthy-upstream', 'not-ready']);
    if (p.kind === 'unavailable') {
      return p.code === 'MESHFED_E_NO_ALLOWED_ZONE'
        ? localResponse(503, p.code, p.reason.startsWith('no allowed zone can serve') ? `${req.service}: ${p.reason}` : `no allowed zone can serve ${req.service}: ${p.reason}`, ['no-healthy-upstream', 'no-allowed-zone'])
        : localResponse(503, p.code ?? 'MESHFED_E_SIDECAR_NO_HEALTHY_UPSTREAM', `no healthy upstream for ${req.service}: ${p.reason}`, ['no-healthy-upstream']);
    }
    if (p.kind === 'drop') return localResponse(503, 'MESHFED_E_SIDECAR_NO_HEALTHY_UPSTREAM', `dropped: ${p.reason}`, ['dropped']);
    const ep = p.endpoint;
    deps.pickers.begin(ep);
    const t0 = deps.clock();
    deps.onEvent?.({ kind: 'try-start', service: req.service, zone: ep.zone });
    let res: ProxyResponse;
    try {
      res = await next({ ...req, target: ep });
    } catch (e) {
      // The upstream contract is "errors are values"; a throw is treated as a reset so the request still gets an answer.
      res = localResponse(502, 'MESHFED_E_SIDECAR_UPSTREAM_FAILED', `upstream failed: ${e instanceof Error ? e.message : String(e)}`, ['reset']);
    }
    const outcome = !req.signal.aborted ? tryOutcome(res) : isDeadline(req.signal) ? 'timeout' : undefined;
    deps.onEvent?.({ kind: 'try-end', service: req.service, zone: ep.zone, outcome, durationMs: Math.max(0, deps.clock() - t0) });
    const event = deps.pickers.end(req.service, ep, classifyOutcome(res), deps.clock());
    if (event) deps.onEvent?.({ kind: 'outlier', service: req.service, event });
    const extra = p.flags?.includes('failover') ? ['ejected-failover', ...p.flags] : (p.flags ?? []);
    return {
      ...res,
      endpoint: res.endpoint ?? ep.id,
      zone: res.zone ?? ep.zone,
      ...(extra.length > 0 ? { flags: [...(res.flags ?? []), ...extra] } : {}),
    };
  };
}
