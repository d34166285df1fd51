// Route layer: matches the request to a route of its destination, attaches the decision, and fires the mirror.
import { decideRoute } from '../routing/match.ts';
import type { Layer } from '../types.ts';
import { localResponse, type StackDeps } from './deps.ts';
import { MIRROR_BACKLOG_BYTES, teeBody } from './tee.ts';

/**
 * Outbound only. A request to a service the config does not know is answered 404 (flag 'no-route').
 * A mirrored request with a body gets a tee of it: the primary reads at its own pace and the mirror's copy may lag
 * by at most MIRROR_BACKLOG_BYTES before it is abandoned (its body errors and its signal aborts), so a mirror can
 * neither slow nor fail the primary. When the primary's answer comes back without its body ever being read (a
 * local answer: no endpoint, circuit open, fault abort), nothing will feed the mirror, so it is abandoned then.
 */
export function routeLayer(deps: StackDeps): Layer {
  return (next) => async (req) => {
    const config = deps.config();
    const svc = config.services[req.service];
    if (!svc) {
      deps.onEvent?.({ kind: 'no-route', service: req.service });
      return localResponse(404, 'MESHFED_E_SIDECAR_NO_ROUTE', `no service "${req.service}" for authority "${req.authority}"`, ['no-route']);
    }
    const { decision, mirror } = decideRoute(req.service, svc, req, deps.random, config.services);
    const routed = { ...req, service: decision.service, route: decision };
    if (!mirror || !deps.mirror) return next(routed);
    deps.onEvent?.({ kind: 'mirror', service: req.service, target: mirror });
    const mirrorRoute = { ...decision, service: mirror.service, ...(mirror.subset !== undefined ? { subset: mirror.subset } : {}) };
    if (req.body === null) {
      // The copy gets its own signal, as below: the primary's client going away does not cancel a sent copy.
      deps.mirror({ ...req, signal: new AbortController().signal, service: mirror.service, route: mirrorRoute }, mirror);
      return next(routed);
    }
    const cancel = new AbortController();
    const tee = teeBody(req.body, {
      maxBacklogBytes: MIRROR_BACKLOG_BYTES,
      onAbandon: (reason) => {
        cancel.abort(new Error(`mirror abandoned: ${reason}`));
        deps.onEvent?.({ kind: 'mirror-abandoned', service: req.service, target: mirror, reason });
      },
    });
    deps.mirror({ ...req, body: tee.mirror, signal: cancel.signal, service: mirror.service, route: mirrorRoute }, mirror);
    try {
      return await next({ ...routed, body: tee.primary });
    } finally {
      if (!tee.primaryStarted()) tee.abandon('the primary was answered without reading its body');
    }
  };
}
