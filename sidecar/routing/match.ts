// Pure route matching: headers, cookies, path and method, then subset choice (fixed or weighted canary) and mirroring.
import type { PathMatch, RequestMatch, RouteConfig, ServiceConfig, ValueMatch, PolicyConfig } from '../../api/sidecar-config.ts';
import type { ProxyRequest, Random, RetryPolicy, RouteDecision } from '../types.ts';
import { weightedChoice } from '../balancer/picker.ts';

const regexCache = new Map<string, RegExp>();

/** Regexes match the whole value (as Envoy's safe_regex does), compiled once. */
function fullRegex(source: string): RegExp {
  let re = regexCache.get(source);
  if (!re) {
    re = new RegExp(`^(?:${source})$`);
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(source, re);
  }
  return re;
}

/** Matches one value (a header or cookie, undefined when absent) against a condition. */
export function matchValue(m: ValueMatch, value: string | undefined): boolean {
  let hit: boolean;
  if (m.present !== undefined) hit = (value !== undefined) === m.present;
  else if (value === undefined) hit = false;
  else if (m.exact !== undefined) hit = value === m.exact;
  else if (m.prefix !== undefined) hit = value.startsWith(m.prefix);
  else if (m.regex !== undefined) hit = fullRegex(m.regex).test(value);
  else hit = false;
  return m.invert ? !hit : hit;
}

/** Matches the path (query string excluded). */
export function matchPath(m: PathMatch, path: string): boolean {
  const q = path.indexOf('?');
  const p = q >= 0 ? path.slice(0, q) : path;
  if (m.exact !== undefined) return p === m.exact;
  if (m.prefix !== undefined) return p.startsWith(m.prefix);
  if (m.regex !== undefined) return fullRegex(m.regex).test(p);
  return false;
}

/** A header's value; repeated headers are joined with ", " (cookies with "; "). */
export function headerValue(headers: ProxyRequest['headers'], name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(name.toLowerCase() === 'cookie' ? '; ' : ', ') : v;
}

/** Parses a Cookie header into name -> value (first occurrence wins, as browsers send the most specific first). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (name !== '' && !out.has(name)) out.set(name, value);
  }
  return out;
}

/** True when every condition of one match block holds. */
export function matchRequest(m: RequestMatch, req: Pick<ProxyRequest, 'method' | 'path' | 'headers'>): boolean {
  if (m.methods && m.methods.length > 0 && !m.methods.includes(req.method.toUpperCase())) return false;
  if (m.path && !matchPath(m.path, req.path)) return false;
  for (const h of m.headers) if (!matchValue(h, headerValue(req.headers, h.name))) return false;
  if (m.cookies.length > 0) {
    const cookies = parseCookies(headerValue(req.headers, 'cookie'));
    for (const c of m.cookies) if (!matchValue(c, cookies.get(c.name))) return false;
  }
  return true;
}

/** The first route whose match list has a matching block (an empty list matches everything), or undefined. */
export function findRoute(routes: readonly RouteConfig[], req: Pick<ProxyRequest, 'method' | 'path' | 'headers'>): RouteConfig | undefined {
  for (const r of routes) if (r.match.length === 0 || r.match.some((m) => matchRequest(m, req))) return r;
  return undefined;
}

/** A config retry block as the policy the layers use. */
export function toRetryPolicy(r: PolicyConfig['retry']): RetryPolicy {
  return {
    attempts: r.attempts,
    perTryTimeoutMs: r.perTryTimeout,
    retryOn: r.retryOn,
    backoffBaseMs: r.backoffBase,
    backoffMaxMs: r.backoffMax,
    retryNonIdempotent: r.retryNonIdempotent,
  };
}

/** Where to send a mirrored copy. */
export interface MirrorTarget {
  readonly service: string;
  readonly subset?: string;
}

/** The route outcome: the decision for the request and, when the dice say so, a mirror target. */
export interface RouteOutcome {
  readonly decision: RouteDecision;
  readonly mirror?: MirrorTarget;
}

/**
 * Decides the route of a request to `service`. `random` is drawn once for a weighted split and once for a mirror,
 * only when the route has them, so a fixed seed replays the same decisions.
 * `services` resolves a route that redirects to another service, for that service's policy.
 */
export function decideRoute(service: string, svc: ServiceConfig, req: Pick<ProxyRequest, 'method' | 'path' | 'headers'>, random: Random, services?: Readonly<Record<string, ServiceConfig>>): RouteOutcome {
  const route = findRoute(svc.routes, req);
  const target = route?.service ?? service;
  const policy = (route?.service !== undefined ? services?.[route.service]?.policy : undefined) ?? svc.policy;
  let subset: string | undefined = route?.subset;
  if (route?.split) subset = weightedChoice(route.split, (s) => s.weight, random)?.subset;
  const d: { -readonly [K in keyof RouteDecision]: RouteDecision[K] } = {
    name: route?.name ?? 'default',
    service: target,
    timeoutMs: route?.timeout ?? policy.timeout,
    retry: toRetryPolicy(route?.retry ?? policy.retry),
    circuitBreaker: policy.circuitBreaker,
  };
  if (subset !== undefined) d.subset = subset;
  const out: { decision: RouteDecision; mirror?: MirrorTarget } = { decision: d };
  if (route?.mirror && route.mirror.percent > 0 && random() * 100 < route.mirror.percent) {
    const m: { service: string; subset?: string } = { service: route.mirror.service ?? target };
    if (route.mirror.subset !== undefined) m.subset = route.mirror.subset;
    out.mirror = m;
  }
  return out;
}
