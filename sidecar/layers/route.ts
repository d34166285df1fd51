// Route layer: matches the request to a route of its destination, attaches the decision, and fires the mirror.
import { decideRoute } from '../routing/match.ts';
import type { Layer } from '../types.ts';
import { localResponse, type StackDeps } from './deps.ts';

/** Outbound only. A request to a service the config does not know is answered 404 (flag 'no-route'). */
export function routeLayer(deps: StackDeps): Layer {
  return (next) => async (req) => {
    const config = deps.config();
    const svc = config.services[req.service];
    if (!svc) {
      deps.onEvent?.({ kind: 'no-route', service: req.service });
      return localResponse(404, 'MESHFED_E_SIDECAR_NO_ROUTE', `meshfed: no service "${req.service}" for authority "${req.authority}"`, ['no-route']);
    }
    const { decision, mirror } = decideRoute(req.service, svc, req, deps.random, config.services);
    // A streamed body can be read once; mirroring it would mean buffering, so only bodyless requests are mirrored.
    if (mirror && deps.mirror && req.body === null) {
      deps.onEvent?.({ kind: 'mirror', service: req.service, target: mirror });
      deps.mirror({ ...req, service: mirror.service, route: { ...decision, service: mirror.service, ...(mirror.subset !== undefined ? { subset: mirror.subset } : {}) } }, mirror);
    }
    return next({ ...req, service: decision.service, route: decision });
  };
}
