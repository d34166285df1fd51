// Authz layer (inbound): admits only callers whose verified SPIFFE ID is allowed for this service; others get 403 with the reason.
import { authorize } from '../authz/authz.ts';
import type { Layer } from '../types.ts';
import { localResponse, type StackDeps } from './deps.ts';

export function authzLayer(deps: StackDeps): Layer {
  return (next) => async (req) => {
    const d = authorize(deps.config().authz, req.service, req.peerIdentity);
    if (d.allow) return next(req);
    deps.onEvent?.({ kind: 'authz-denied', service: req.service, peer: req.peerIdentity, reason: d.reason });
    return localResponse(403, 'MESHFED_E_SIDECAR_AUTHZ_DENIED', `RBAC: access denied: ${d.reason}`, ['authz-denied']);
  };
}
