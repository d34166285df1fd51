// Pure header plumbing for the proxy: hop-by-hop filtering and mesh host names to "namespace/name" services.

/** Connection-scoped headers (RFC 9110 §7.6.1) that a proxy must not forward, plus HTTP/2 pseudo-headers. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'host', 'http2-settings']);

/** The suffix of fully-qualified mesh names, e.g. `catalog.shop.svc.meshfed`. */
export const MESH_DOMAIN = 'svc.meshfed';

/** Copies headers a proxy may forward. `te: trailers` survives because gRPC over HTTP/2 requires it. */
export function forwardableHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Record<string, string | string[]> {
  // Runs twice per proxied request (request and response headers): for-in instead of Object.entries, and no Set
  // for the usual `connection: keep-alive`, which names only what is dropped anyway.
  const out: Record<string, string | string[]> = {};
  const connectionTokens = connectionListed(headers['connection']);
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined || k.startsWith(':')) continue;
    const key = k.toLowerCase();
    if (key === 'te') {
      if (String(v).toLowerCase().includes('trailers')) out['te'] = 'trailers';
      continue;
    }
    if (HOP_BY_HOP.has(key) || (connectionTokens !== NONE && connectionTokens.has(key))) continue;
    out[key] = v;
  }
  return out;
}

const NONE: ReadonlySet<string> = new Set();

/** Header names the Connection header lists beyond the hop-by-hop ones (NONE when there are no others). */
function connectionListed(value: string | string[] | undefined): ReadonlySet<string> {
  if (value === undefined) return NONE;
  const text = Array.isArray(value) ? value.join(',') : value;
  if (!text.includes(',')) {
    const token = text.trim().toLowerCase();
    return token === '' || HOP_BY_HOP.has(token) ? NONE : new Set([token]);
  }
  return new Set(text.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== ''));
}

/**
 * Maps an authority (`catalog.shop`, `catalog.shop:8080`, `catalog.shop.svc.meshfed`) to "shop/catalog".
 * Undefined when it is not a mesh name.
 */
export function serviceFromAuthority(authority: string): string | undefined {
  let host = authority.toLowerCase();
  const colon = host.lastIndexOf(':');
  if (colon > 0 && /^\d+$/.test(host.slice(colon + 1))) host = host.slice(0, colon);
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host.endsWith(`.${MESH_DOMAIN}`)) host = host.slice(0, -MESH_DOMAIN.length - 1);
  const parts = host.split('.');
  if (parts.length !== 2) return undefined;
  const [name, ns] = parts as [string, string];
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name) || !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(ns)) return undefined;
  return `${ns}/${name}`;
}

/** The fully-qualified mesh host of a "namespace/name" service, e.g. `catalog.shop.svc.meshfed`. */
export function serviceHost(service: string): string {
  const [ns, name] = service.split('/');
  return `${name}.${ns}.${MESH_DOMAIN}`;
}

/** True for a gRPC request (content-type application/grpc, with or without +proto etc.). */
export function isGrpc(headers: Readonly<Record<string, string | string[] | undefined>>): boolean {
  const ct = headers['content-type'];
  return typeof ct === 'string' && ct.startsWith('application/grpc');
}
