// Who may call an admin API (global-lb, zone agent, sidecar, gateway): bearer tokens in a read and a write role,
// JSON-only same-origin writes, and the few paths that stay open by choice. The decision is pure; servers apply it.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { loadAdminTokensFile } from '../api/admin-tokens.ts';
import type { CommonCode } from './errors.ts';

export type AdminRole = 'read' | 'write';

/** The callers an admin API knows, by the SHA-256 of their token. */
export interface AdminAuth {
  readonly callers: ReadonlyMap<string, { readonly name: string; readonly role: AdminRole }>;
}

/**
 * Open without a token, by a documented choice: liveness and readiness (supervisors and Kubernetes probes), Prometheus
 * scrapes, and the dashboard's static files (the page holds no data; its API calls carry the token).
 */
export function isOpenPath(path: string): boolean {
  return path === '/healthz' || path === '/readyz' || path === '/ready' || path === '/metrics' || path === '/ui' || path.startsWith('/ui/');
}

/** The outcome for one request. */
export type AdminVerdict =
  | { readonly ok: true; readonly caller: string | undefined }
  | { readonly ok: false; readonly status: 401 | 403 | 415; readonly code: AdminAuthCode; readonly message: string };

export type AdminAuthCode = Extract<CommonCode, `MESHFED_E_ADMIN_${string}`>;

/** The request as authorizeAdmin sees it. */
export interface AdminRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** `?access_token=` (RFC 6750 2.3), for EventSource, which cannot send headers; honoured for reads only. */
  readonly queryToken?: string | null;
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** SHA-256 hex of a token, as the tokens file stores it. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The caller a token belongs to; compared in constant time over the hashes. */
function callerOf(auth: AdminAuth, token: string): { name: string; role: AdminRole } | undefined {
  const h = Buffer.from(hashToken(token), 'hex');
  for (const [hash, caller] of auth.callers) if (timingSafeEqual(Buffer.from(hash, 'hex'), h)) return caller;
  return undefined;
}

/**
 * Decides a request. Every write (a method other than GET/HEAD/OPTIONS), with or without tokens configured, must
 * come from no page or the same origin, and carry JSON when it carries a body: an ordinary HTML form POST from any
 * web page is refused. With `auth`, every path but the open ones needs a known token, and writes the write role.
 */
export function authorizeAdmin(auth: AdminAuth | undefined, req: AdminRequest): AdminVerdict {
  const write = !READS.has(req.method.toUpperCase());
  if (write) {
    const origin = req.headers['origin'];
    const site = req.headers['sec-fetch-site'];
    const host = req.headers['host'];
    const crossOrigin = origin !== undefined && (origin === 'null' || host === undefined || (origin !== `http://${host}` && origin !== `https://${host}`));
    const crossSite = site !== undefined && site !== 'same-origin' && site !== 'none';
    if (crossOrigin || crossSite) {
      return { ok: false, status: 403, code: 'MESHFED_E_ADMIN_CROSS_ORIGIN', message: `${req.method} from another origin (${String(origin ?? site)}) is refused: admin writes come from the CLI or this server's own page` };
    }
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (hasBody && type !== 'application/json') {
      return { ok: false, status: 415, code: 'MESHFED_E_ADMIN_CONTENT_TYPE', message: `a write must send JSON (content-type: application/json), not "${type || 'none'}"` };
    }
  }
  if (auth === undefined || (!write && isOpenPath(req.path))) return { ok: true, caller: undefined };
  const header = req.headers['authorization'];
  const bearer = typeof header === 'string' && /^Bearer\s+/i.test(header) ? header.replace(/^Bearer\s+/i, '').trim() : undefined;
  const token = bearer ?? (write ? undefined : (req.queryToken ?? undefined));
  if (token === undefined || token === '') return { ok: false, status: 401, code: 'MESHFED_E_ADMIN_UNAUTHENTICATED', message: `${req.method} ${req.path} needs a token: Authorization: Bearer <token> (meshfed up writes them; see docs/security.md)` };
  const caller = callerOf(auth, token);
  if (caller === undefined) return { ok: false, status: 401, code: 'MESHFED_E_ADMIN_UNAUTHENTICATED', message: 'the token is not one this server knows' };
  if (write && caller.role !== 'write') return { ok: false, status: 403, code: 'MESHFED_E_ADMIN_FORBIDDEN', message: `${caller.name} has the read role; ${req.method} ${req.path} needs the write role` };
  return { ok: true, caller: caller.name };
}

/** Answers a refused request: the coded JSON error every admin API uses, and a Bearer challenge on 401. */
export function sendRefusal(res: ServerResponse, v: Extract<AdminVerdict, { ok: false }>): void {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (v.status === 401) headers['www-authenticate'] = 'Bearer realm="meshfed"';
  res.writeHead(v.status, headers);
  res.end(JSON.stringify({ error: { code: v.code, message: v.message } }));
}

/** Authorizes `req` and, when refused, answers it; true when the handler may go on. */
export function admitAdmin(auth: AdminAuth | undefined, req: { method?: string | undefined; url?: string | undefined; headers: IncomingHttpHeaders }, res: ServerResponse): boolean {
  let path = req.url ?? '/';
  let queryToken: string | null = null;
  try {
    const url = new URL(path, 'http://admin');
    path = url.pathname;
    queryToken = url.searchParams.get('access_token');
  } catch {
    // An unparseable target (e.g. an absolute form with port 99999) is no open path: it needs a token, and the
    // route answers it with its own 400.
  }
  const v = authorizeAdmin(auth, { method: req.method ?? 'GET', path, headers: req.headers, queryToken });
  if (v.ok) return true;
  sendRefusal(res, v);
  return false;
}

/** Loads --admin-tokens FILE into the callers map. */
export function loadAdminAuth(path: string): AdminAuth {
  const file = loadAdminTokensFile(path);
  return { callers: new Map(file.tokens.map((t) => [t.sha256, { name: t.name, role: t.role }])) };
}

/** A fresh random token (32 bytes, base64url). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}
