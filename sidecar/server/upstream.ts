// The innermost handlers: send an attempt to a mesh endpoint over mTLS (directly or via a gateway) or to the local app.
import { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { mtlsClientOptions, type TlsCredentialSource } from '../../trust/tls.ts';
import type { Handler, ProxyRequest, ProxyResponse, EndpointRef } from '../types.ts';
import { forwardableHeaders, serviceHost } from './headers.ts';
import { gatewaySni } from '../gateway/sni.ts';
import type { SidecarCode } from '../errors.ts';
import { localResponse } from '../layers/deps.ts';

export interface UpstreamStats {
  pools: number;
}

/** An upstream handler with its connection pools. */
export interface Upstream {
  readonly handler: Handler;
  stats(): UpstreamStats;
  close(): Promise<void>;
}

/** Options shared by both upstreams. */
interface PoolTuning {
  /** Connections per destination pool; the circuit breaker bounds requests above this. */
  readonly connections?: number;
  readonly connectTimeoutMs?: number;
}

/**
 * Sends each request to `req.target` over mTLS, verifying that the server presents `target.identity`
 * (a SPIFFE ID in its URI SAN) on a chain to our roots. Another network: connect to `target.viaGateway` with
 * its SNI, so the gateway can route without decrypting; TLS stays end to end with the destination sidecar.
 */
export function createMeshUpstream(opts: PoolTuning & { tls: TlsCredentialSource }): Upstream {
  const pools = new Map<string, Pool>();
  const sniOf = new WeakMap<Pool, string>();
  const poolFor = (req: ProxyRequest, t: EndpointRef): Pool => {
    const source = opts.tls;
    const h2 = req.protocol !== 'http1';
    const via = t.viaGateway;
    const host = via ? via.address : t.address;
    const port = via ? via.port : t.port;
    // Node refuses an IP address as SNI; a direct connection names the destination service instead.
    const servername = via ? via.sni : gatewaySni({ port: t.port, subset: '', host: serviceHost(req.route?.service ?? req.service) });
    const key = `${source.generation}|${h2 ? 2 : 1}|${host}:${port}|${servername}|${t.identity ?? ''}`;
    let pool = pools.get(key);
    if (!pool) {
      const expected = t.identity;
      pool = new Pool(`https://${host.includes(':') ? `[${host}]` : host}:${port}`, {
        connections: opts.connections ?? 128,
        allowH2: h2,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        // trust/ verifies the chain against the bundle (roots, aliases, revocations) and the expected SPIFFE ID.
        connect: {
          ...mtlsClientOptions(source, { servername, ...(expected !== undefined ? { spiffeId: expected } : {}) }),
          timeout: opts.connectTimeoutMs ?? 5_000,
        },
      });
      pools.set(key, pool);
      sniOf.set(pool, servername);
      dropStale(pools, source.generation);
    }
    return pool;
  };
  const handler: Handler = async (req) => {
    const t = req.target;
    if (!t) return failure(503, 'connect-failure', 'no endpoint chosen');
    const pool = poolFor(req, t);
    return send(pool, req, t.id, t.zone, sniOf.get(pool));
  };
  return { handler, stats: () => ({ pools: pools.size }), close: () => closeAll(pools) };
}

/**
 * Cleartext HTTP/2 with prior knowledge. undici 8's Pool does not pass `h2Options.useH2c` down to its clients,
 * while the older top-level flag works; it is missing from Pool's types, hence the spread.
 */
const H2C = { useH2c: true } as object;

/**
 * Forwards to the local application, keep-alive pooled: gRPC over cleartext HTTP/2 (it needs it), everything else
 * over HTTP/1.1, which every app speaks, whatever the caller used on the mesh leg.
 */
export function createAppUpstream(opts: PoolTuning & { host: string; port: number }): Upstream {
  const origin = `http://${opts.host}:${opts.port}`;
  const h1 = new Pool(origin, { connections: opts.connections ?? 128, pipelining: 1, keepAliveTimeout: 30_000, allowH2: false, connect: { timeout: opts.connectTimeoutMs ?? 5_000 } });
  let h2: Pool | undefined;
  const handler: Handler = async (req) => {
    const pool = req.protocol !== 'grpc' ? h1 : (h2 ??= new Pool(origin, { connections: 4, allowH2: true, connect: { timeout: opts.connectTimeoutMs ?? 5_000 }, ...H2C }));
    return send(pool, req, `app:${opts.port}`, undefined);
  };
  return {
    handler,
    stats: () => ({ pools: h2 ? 2 : 1 }),
    close: async () => { await Promise.all([h1.close(), h2?.close()]); },
  };
}

/**
 * Sends one attempt. `servername` pins the TLS SNI: undici otherwise derives it from the Host header per request
 * (which would name the app's host, not the gateway target) and reconnects whenever it changes.
 */
async function send(pool: Dispatcher, req: ProxyRequest, endpoint: string, zone: string | undefined, servername?: string): Promise<ProxyResponse> {
  const headers = forwardableHeaders(req.headers);
  headers['host'] = req.authority;
  let res: Dispatcher.ResponseData;
  try {
    res = await pool.request({
      method: req.method as Dispatcher.HttpMethod,
      path: req.path,
      headers,
      body: req.body === null ? null : Readable.from(req.body, { objectMode: false }),
      signal: req.signal,
      headersTimeout: 0,
      bodyTimeout: 0,
      // Accepted by undici's Request but missing from its types.
      ...(servername !== undefined ? ({ servername } as object) : {}),
    });
  } catch (e) {
    return classify(e, req.signal, endpoint, zone);
  }
  const body = res.body;
  const trailers = new Promise<Record<string, string>>((resolve) => {
    body.once('end', () => resolve(res.trailers ?? {}));
    body.once('error', () => resolve({}));
    body.once('close', () => resolve(res.trailers ?? {}));
  });
  const out: ProxyResponse = {
    status: res.statusCode,
    headers: forwardableHeaders(res.headers as Record<string, string | string[] | undefined>) as Record<string, string | string[]>,
    body,
    trailers,
    endpoint,
    ...(zone !== undefined ? { zone } : {}),
  };
  return out;
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EADDRNOTAVAIL', 'ERR_TLS_CERT_ALTNAME_INVALID', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'CERT_HAS_EXPIRED']);

/** Turns a transport error into a value the retry and outlier layers can reason about. */
function classify(e: unknown, signal: AbortSignal, endpoint: string, zone: string | undefined): ProxyResponse {
  const code = (e as { code?: string }).code ?? '';
  const causeCode = ((e as { cause?: { code?: string } }).cause?.code) ?? '';
  const z = zone !== undefined ? { zone } : {};
  if (signal.aborted) {
    const reason = signal.reason as { name?: string } | undefined;
    const timedOut = reason?.name === 'TimeoutError';
    return { ...failure(timedOut ? 504 : 499, timedOut ? 'timeout' : 'reset', timedOut ? 'upstream timeout' : 'client went away'), endpoint, ...z };
  }
  if (CONNECT_CODES.has(code) || CONNECT_CODES.has(causeCode) || code.startsWith('MESHFED_E_CERT') || /certificate|identity|self.signed|server refused/i.test(String((e as Error).message))) {
    return { ...failure(503, 'connect-failure', `connect to ${endpoint} failed: ${code || (e as Error).message}`), endpoint, ...z };
  }
  return { ...failure(502, 'reset', `${endpoint}: ${code || (e as Error).message}`), endpoint, ...z };
}

/** The flag each failure produced here carries, and the code it is answered with. */
const CODE_OF = {
  'connect-failure': 'MESHFED_E_SIDECAR_UPSTREAM_CONNECT',
  reset: 'MESHFED_E_SIDECAR_UPSTREAM_RESET',
  timeout: 'MESHFED_E_SIDECAR_UPSTREAM_TIMEOUT',
  'unknown-destination': 'MESHFED_E_SIDECAR_NO_ROUTE',
  internal: 'MESHFED_E_SIDECAR_INTERNAL',
} as const satisfies Record<string, SidecarCode>;

/** A failure flag the I/O side answers with; each maps to one sidecar code. */
export type FailureFlag = keyof typeof CODE_OF;

/** A locally produced error response in the layers' one shape (localResponse), with `flag` as its only flag. */
export function failure(status: number, flag: FailureFlag, reason: string): ProxyResponse {
  return localResponse(status, CODE_OF[flag], reason, [flag]);
}

function dropStale(pools: Map<string, Pool>, generation: number): void {
  for (const [k, p] of pools) {
    if (!k.startsWith(`${generation}|`)) {
      pools.delete(k);
      void p.close().catch(() => {});
    }
  }
}

async function closeAll(pools: Map<string, Pool>): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.destroy().catch(() => {})));
}
