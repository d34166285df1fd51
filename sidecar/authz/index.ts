// Public API of sidecar authz decisions.
export { authorize, matchesSpiffePattern, type AuthzDecision } from './authz.ts';
