// Public API of sidecar routing: request matching and route decisions.
export { decideRoute, findRoute, matchRequest, matchValue, matchPath, parseCookies, headerValue, toRetryPolicy, type RouteOutcome, type MirrorTarget } from './match.ts';
