// Balance layer: asks the current picker for an endpoint (zone by weight, P2C inside), counts the attempt, feeds outlier detection.
import type { Layer, Outcome, ProxyResponse } from '../types.ts';
import { localResponse, type StackDeps } from './deps.ts';

/** How outlier detection sees an attempt's response. */
export function classifyOutcome(res: ProxyResponse): Outcome {
  const flags = res.flags ?? [];
  if (flags.includes('connect-failure')) return 'connect-failure';
  if (flags.includes('reset')) return 'reset';
  if (flags.includes('timeout')) return 'timeout';
  return res.status >= 500 ? '5xx' : 'success';
}

/** Sets req.target for the layer below (the upstream). Failures to pick are 503 with flag 'no-healthy-upstream'. */
export function balanceLayer(deps: StackDeps): Layer {
  return (next) => async (req) => {
    const picker = deps.pickers.picker(req.service);
    if (!picker) return localResponse(503, 'MESHFED_E_SIDECAR_NO_HEALTHY_UPSTREAM', `meshfed: no endpoints known for ${req.service}`, ['no-healthy-upstream']);
    const subset = req.route?.subset;
    const p = picker.pick(subset === undefined ? { now: deps.clock() } : { now: deps.clock(), subset }, req.exclude);
    if (p.kind === 'queue') return localResponse(503, 'MESHFED_E_SIDECAR_NO_HEALTHY_UPSTREAM', `meshfed: endpoints of ${req.service} not known yet`, ['no-healthy-upstream', 'not-ready']);
    if (p.kind === 'unavailable') return localResponse(503, 'MESHFED_E_SIDECAR_NO_HEALTHY_UPSTREAM', `meshfed: no healthy upstream for ${req.service}: ${p.reason}`, ['no-healthy-upstream']);
    if (p.kind === 'drop') return localResponse(503, 'MESHFED_E_SIDECAR_NO_HEALTHY_UPSTREAM', `meshfed: dropped: ${p.reason}`, ['dropped']);
    const ep = p.endpoint;
    deps.pickers.begin(ep);
    let res: ProxyResponse;
    try {
      res = await next({ ...req, target: ep });
    } catch (e) {
      // The upstream contract is "errors are values"; a throw is treated as a reset so the request still gets an answer.
      res = localResponse(502, 'MESHFED_E_SIDECAR_UPSTREAM_FAILED', `meshfed: upstream failed: ${e instanceof Error ? e.message : String(e)}`, ['reset']);
    }
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
