// The sidecar process: listeners, upstreams, admin port and config intake wired around the layer stacks.
import { randomBytes } from 'node:crypto';
import { getHeapStatistics } from 'node:v8';
import type http2 from 'node:http2';
import type { SidecarConfig } from '../../api/sidecar-config.ts';
import { createLogger, type Logger } from '../../common/logger.ts';
import { createRegistry, type Registry } from '../../common/metrics.ts';
import { MeshfedError, describeError } from '../../common/errors.ts';
import { createBalancer, hostIndex, resolveAuthority, type Balancer } from '../balancer/index.ts';
import { UPSTREAM_FAILURE_FLAGS, tryOutcome, type Handler, type ProxyRequest, type ProxyResponse, type Random, type UpstreamFailureFlag } from '../types.ts';
import { authorityOf, bodyOf, protocolOf, writeResponse, type ServerRequest, type ServerResponse } from './bridge.ts';
import { requestPeer, startInboundListener, startOutboundListener, type InboundListener, type Listener } from './listeners.ts';
import { createAppUpstream, createMeshUpstream, failure, type Upstream } from './upstream.ts';
import { TlsCredentialSource, watchCredentialFiles, type CredentialWatch } from '../../trust/tls.ts';
import { createSidecarMetrics, type SidecarMetrics } from './metrics.ts';
import { startAdmin, type AdminServer, type RuntimeFaults } from './admin.ts';
import { nextHop, TRACE_HEADERS, type TraceContext } from './trace.ts';
import { watchConfigFile, hash, type ConfigWatch } from './config-watch.ts';
import { NO_L4_FAULTS } from '../l4/l4-faults.ts';
import { createStacks, type StackEvent } from '../core.ts';
import type { AdminAuth } from '../../common/admin-auth.ts';

/**
 * The production stack: sidecar-core's layers, with their decisions counted as meshfed_* metrics and mirrors sent
 * fire-and-forget through the same balancer and upstream.
 */
export const defaultStack: StackFactory = (d) => {
  const onEvent = (e: StackEvent) => {
    if (e.kind === 'retry') d.metrics.retries.inc({ dest_service: e.service });
    else if (e.kind === 'retry-denied') d.metrics.retriesDenied.inc({ dest_service: e.service, reason: e.reason });
    else if (e.kind === 'overflow') d.metrics.overflows.inc({ dest_service: e.service });
    else if (e.kind === 'fault') d.metrics.faults.inc({ kind: `${e.direction}-${e.fault}` });
    else if (e.kind === 'try-start') d.metrics.record.tryStart(e.service, e.zone);
    else if (e.kind === 'try-end') d.metrics.record.tryEnd(e.service, e.zone, e.outcome, e.durationMs);
    else if (e.kind === 'local-failure') d.metrics.record.local(e.service, e.zone, e.class);
    d.onEvent?.(e);
  };
  const mirror = (req: ProxyRequest, target: { service: string; subset?: string }) => {
    const pick = d.balancer.picker(target.service)?.pick({ now: d.clock(), ...(target.subset !== undefined ? { subset: target.subset } : {}) });
    if (pick?.kind !== 'complete') return;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 10_000);
    void d.upstream({ ...req, target: pick.endpoint, signal: AbortSignal.any([req.signal, ac.signal]), headers: { ...req.headers, 'x-meshfed-mirror': '1' } })
      .then((r) => (r.body as { destroy?: () => void } | null)?.destroy?.())
      .catch(() => {})
      .finally(() => clearTimeout(timer));
  };
  return createStacks({
    config: d.config, balancer: d.balancer, upstream: d.upstream, app: d.app, faults: d.faults, random: d.random, clock: d.clock,
    metrics: d.metrics, logger: d.logger, onEvent, mirror,
  });
};

/** What the layer stacks are built from; sidecar/stack.ts turns these into the two handlers. */
export interface StackDeps {
  readonly zone: string;
  readonly service: string;
  readonly config: SidecarConfig;
  readonly balancer: Balancer;
  /** Innermost outbound handler: sends `req.target` over mTLS. */
  readonly upstream: Handler;
  /** Innermost inbound handler: the local app. */
  readonly app: Handler;
  /** Current runtime L7 fault rules (config file plus admin PUTs). */
  readonly faults: () => RuntimeFaults['rules'];
  readonly random: Random;
  readonly clock: () => number;
  readonly logger: Logger;
  readonly metrics: SidecarMetrics;
  /** Sees every decision the layers report (tests, debugging). */
  readonly onEvent?: (e: StackEvent) => void;
}

/** Builds the outbound and inbound handlers from the deps; called again on every config change. */
export type StackFactory = (deps: StackDeps) => { outbound: Handler; inbound: Handler };

export interface SidecarOptions {
  /** Own service, "namespace/name". */
  readonly service: string;
  readonly zone: string;
  readonly appPort: number;
  readonly appHost?: string;
  /** Interface to bind every listener on; loopback unless told otherwise. */
  readonly host?: string;
  readonly inboundPort?: number;
  readonly outboundPort?: number;
  readonly adminPort?: number;
  /** Who may call the admin port (--admin-tokens); without it, reads are open and writes need only be same-origin JSON. */
  readonly adminAuth?: AdminAuth;
  /** The initial config (already validated). */
  readonly config: SidecarConfig;
  /** Watched for changes when given. */
  readonly configFile?: string;
  /** Certificates; when absent they are read (and watched) from the files in config.certificates. */
  readonly tls?: TlsCredentialSource;
  /** The layer stacks; sidecar-core's createStacks unless a test swaps in its own. */
  readonly stack?: StackFactory;
  readonly logger?: Logger;
  readonly registry?: Registry;
  /** Share of requests written to the access log (errors and denials are always written). */
  readonly accessLogSample?: number;
  readonly random?: Random;
  /** Sees every decision the layers report (tests, debugging). */
  readonly onEvent?: (e: StackEvent) => void;
}

export interface Sidecar {
  readonly inboundPort: number;
  readonly outboundPort: number;
  readonly adminPort: number;
  readonly metrics: SidecarMetrics;
  readonly balancer: Balancer;
  /** The one config intake: the file watcher and the zone agent's stream both call it. Throws on a config it cannot use. */
  applyConfig(cfg: SidecarConfig): void;
  faults(): RuntimeFaults;
  setFaults(f: RuntimeFaults): void;
  close(): Promise<void>;
}

/**
 * Credentials from the files in config.certificates, hot-reloaded by trust/'s watcher. One source lives as long as
 * the sidecar; when a config names other files, their credentials are forwarded into it.
 */
function fileCredentials(cfg: SidecarConfig): { source: TlsCredentialSource; follow(cfg: SidecarConfig): void; close(): void } {
  const watchOf = (c: SidecarConfig): { watch: CredentialWatch; key: string } => {
    const files = c.certificates;
    if (!files) throw new MeshfedError('MESHFED_E_SIDECAR_NO_CERTIFICATES', 'the config has no certificates: { cert, key, ca } (mTLS needs them)');
    return { watch: watchCredentialFiles({ cert: files.cert, key: files.key, root: files.ca }), key: `${files.cert}|${files.key}|${files.ca}` };
  };
  let current = watchOf(cfg);
  const source = new TlsCredentialSource(current.watch.source.current);
  let unsubscribe = current.watch.source.onChange((c) => source.update(c));
  return {
    source,
    follow(next) {
      const files = next.certificates;
      if (!files || `${files.cert}|${files.key}|${files.ca}` === current.key) return;
      const w = watchOf(next);
      unsubscribe();
      current.watch.close();
      current = w;
      source.update(w.watch.source.current);
      unsubscribe = w.watch.source.onChange((c) => source.update(c));
    },
    close() {
      unsubscribe();
      current.watch.close();
    },
  };
}

/** Random ids come from a refilled pool: one getrandom call per 512 ids instead of three per request. */
let pool = randomBytes(0);
let poolAt = 0;
function hex(bytes: number): string {
  if (poolAt + bytes > pool.length) {
    pool = randomBytes(8192);
    poolAt = 0;
  }
  poolAt += bytes;
  return pool.toString('hex', poolAt - bytes, poolAt);
}

/** The verified SPIFFE ID of the TLS peer behind a request (HTTP/2 stream or HTTP/1.1 socket). */
function peerIdentityOf(req: ServerRequest): string | undefined {
  return requestPeer(req.httpVersionMajor === 2 ? (req as http2.Http2ServerRequest).stream.session?.socket : req.socket);
}

const DROPPED = new Set<string>([...TRACE_HEADERS, 'x-forwarded-client-cert']);

/** Copies request headers minus trace headers (replaced per hop) and spoofable identity headers. */
function baseHeaders(req: ServerRequest): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  const h = req.headers;
  for (const k in h) if (!DROPPED.has(k)) out[k] = h[k];
  return out;
}

/** The process's memory in bytes, as Node splits it: RSS, V8 heap (total and used), external and array buffers. */
function memoryBytes(): Record<string, number> {
  const m = process.memoryUsage();
  return { rss: m.rss, heap_total: m.heapTotal, heap_used: m.heapUsed, external: m.external, array_buffers: m.arrayBuffers };
}

/** Share of V8's heap limit that may be in use after a config is applied before the sidecar warns. */
const HEAP_WARN_SHARE = 0.7;

/**
 * Warns when the heap is close to its limit (e.g. a --max-old-space-size sized for a smaller config, docs/sidecar.md):
 * past the limit V8 ends the process, so the operator should hear about it while there is still room.
 */
function warnIfHeapTight(logger: Logger): void {
  const h = getHeapStatistics();
  if (h.used_heap_size <= HEAP_WARN_SHARE * h.heap_size_limit) return;
  const mb = (n: number) => Math.round(n / 1048576);
  logger.warn({ heap_used_mb: mb(h.used_heap_size), heap_limit_mb: mb(h.heap_size_limit) },
    'heap is near its limit: raise --max-old-space-size (docs/sidecar.md, "Recommended Node settings")');
}

/** Starts a sidecar. Listeners are up and the config applied when the promise resolves. */
export async function startSidecar(opts: SidecarOptions): Promise<Sidecar> {
  const host = opts.host ?? '127.0.0.1';
  const logger = opts.logger ?? createLogger({ component: 'sidecar', zone: opts.zone });
  const registry = opts.registry ?? createRegistry();
  const metrics = createSidecarMetrics(registry, opts.service);
  const random = opts.random ?? Math.random;
  const sample = opts.accessLogSample ?? 0.01;
  let config = opts.config;
  let index = hostIndex(config);
  const files = opts.tls ? undefined : fileCredentials(config);
  const tls = opts.tls ?? files!.source;
  let faultState: RuntimeFaults = { rules: config.faults.rules, l4: NO_L4_FAULTS };
  let faultsHash = hash(JSON.stringify(config.faults));
  const balancer = createBalancer({ zone: opts.zone, random, config });
  metrics.setZoneEndpointSource(() => balancer.zoneEndpoints(Date.now()));
  const mesh: Upstream = createMeshUpstream({ tls });
  const app: Upstream = createAppUpstream({ host: opts.appHost ?? '127.0.0.1', port: opts.appPort });
  let handlers = build();
  let configVersion = hash(JSON.stringify(config));
  let appliedAt = new Date().toISOString();

  function build() {
    return (opts.stack ?? defaultStack)({
      zone: opts.zone, service: opts.service, config, balancer, upstream: mesh.handler, app: app.handler,
      faults: () => faultState.rules, random, clock: Date.now, logger, metrics, ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
    });
  }

  // prom-client hashes the label object on every inc/observe; the handful of series per sidecar are cached instead.
  const seriesCache = new Map<string, { count: { inc(): void }; duration: { observe(v: number): void } }>();
  const outboundSeries = (destZone: string, service: string, status: number) => {
    const key = `${destZone}|${service}|${status}`;
    let s = seriesCache.get(key);
    if (!s) {
      const labels = { source_zone: opts.zone, dest_zone: destZone, dest_service: service };
      s = { count: metrics.requests.labels({ ...labels, code: String(status) }), duration: metrics.duration.labels(labels) };
      if (seriesCache.size < 10_000) seriesCache.set(key, s);
    }
    return s;
  };

  // Per destination service: in-flight gauge and failure-class counters, cached like the series above.
  const serviceSeriesCache = new Map<string, { inFlight: { inc(): void; dec(): void }; failure: Map<string, { inc(): void }> }>();
  const serviceSeries = (service: string) => {
    let s = serviceSeriesCache.get(service);
    if (!s) {
      s = { inFlight: metrics.inFlight.labels({ dest_service: service }), failure: new Map() };
      if (serviceSeriesCache.size < 10_000) serviceSeriesCache.set(service, s);
    }
    return s;
  };
  const countFailureClass = (service: string, flags: readonly string[] | undefined) => {
    const flag = flags?.find((f): f is UpstreamFailureFlag => (UPSTREAM_FAILURE_FLAGS as readonly string[]).includes(f));
    if (flag === undefined) return;
    const cls = flag.replace('-', '_');
    const series = serviceSeries(service);
    let c = series.failure.get(cls);
    if (!c) {
      c = metrics.upstreamFailures.labels({ dest_service: service, class: cls });
      series.failure.set(cls, c);
    }
    c.inc();
  };

  const inboundCache = new Map<number, { inc(): void }>();
  const inboundSeries = (status: number) => {
    let s = inboundCache.get(status);
    if (!s) {
      s = metrics.inbound.labels({ service: opts.service, code: String(status) });
      inboundCache.set(status, s);
    }
    return s;
  };

  const accessLog = (dir: 'outbound' | 'inbound', req: ProxyRequest, res: ProxyResponse, ms: number, trace: TraceContext) => {
    const always = res.status >= 500 || res.status === 403 || res.status === 429;
    if (!always && random() >= sample) return;
    logger.info({
      access: dir, method: req.method, authority: req.authority, path: req.path, protocol: req.protocol, status: res.status,
      duration_ms: Math.round(ms * 1000) / 1000, service: req.service, dest_zone: res.zone, endpoint: res.endpoint, flags: res.flags,
      peer: req.peerIdentity, trace_id: trace.traceId, span_id: trace.spanId, request_id: trace.requestId,
    }, 'access');
  };

  // One async function per request rather than a promise chain: fewer closures and promises per request.
  const handle = async (dir: 'outbound' | 'inbound', req: ServerRequest, res: ServerResponse): Promise<void> => {
    const t0 = performance.now();
    const ac = new AbortController();
    res.once('close', () => { if (!res.writableFinished) ac.abort(new Error('client went away')); });
    const authority = authorityOf(req);
    const service = dir === 'outbound' ? resolveAuthority(index, authority) : opts.service;
    const hop = nextHop(req.headers, hex);
    const trace = hop.ctx;
    const headers = baseHeaders(req);
    for (const k in hop.headers) headers[k] = hop.headers[k];
    const peer = dir === 'inbound' ? peerIdentityOf(req) : undefined;
    if (peer !== undefined) headers['x-forwarded-client-cert'] = `URI=${peer}`;
    const pr: ProxyRequest = {
      method: req.method ?? 'GET', path: req.url ?? '/', authority, headers, body: bodyOf(req), protocol: protocolOf(req),
      service: service ?? '', startedAt: Date.now(), attempt: 1, signal: ac.signal, ...(peer !== undefined ? { peerIdentity: peer } : {}),
    };
    const flight = dir === 'outbound' && service !== undefined ? serviceSeries(service).inFlight : undefined;
    flight?.inc();
    if (dir === 'inbound') metrics.record.servedStart();
    let resp: ProxyResponse;
    try {
      resp = service === undefined
        ? failure(404, 'unknown-destination', `no service is named by "${authority}" (known: NAME.NS, NAME.NS.svc.meshfed, configured hosts)`)
        : await (dir === 'outbound' ? handlers.outbound : handlers.inbound)(pr);
    } catch (e) {
      logger.error({ err: e }, `${dir} stack threw (a bug in a layer)`);
      resp = failure(500, 'internal', `internal error: ${describeError(e)}`);
    }
    try {
      await writeResponse(res, resp, { 'x-request-id': trace.requestId });
    } finally {
      flight?.dec();
      // SERVED: the app's answer or an inbound fault's, for the fronted service; a caller that left says nothing of it.
      if (dir === 'inbound') metrics.record.servedEnd(ac.signal.aborted ? undefined : tryOutcome(resp), performance.now() - t0);
    }
    const ms = performance.now() - t0;
    if (dir === 'outbound') {
      const series = outboundSeries(resp.zone ?? '', pr.service || 'unknown', resp.status);
      series.count.inc();
      series.duration.observe(ms / 1000);
      if (service !== undefined) countFailureClass(service, resp.flags);
    } else {
      inboundSeries(resp.status).inc();
      if (resp.status === 403) metrics.authzDenied.inc({ service: opts.service });
    }
    accessLog(dir, pr, resp, ms, trace);
  };
  const serve = (dir: 'outbound' | 'inbound') => (req: ServerRequest, res: ServerResponse) => {
    handle(dir, req, res).catch((e: unknown) => {
      logger.warn({ err: e }, 'serving a request failed');
      if (!res.writableFinished) res.destroy();
    });
  };

  const outbound: Listener = await startOutboundListener({
    host, port: opts.outboundPort ?? 0, onRequest: serve('outbound'),
    onRefused: (reason) => metrics.refused.inc({ listener: 'outbound', reason }),
  });
  let inbound: InboundListener;
  try {
    inbound = await startInboundListener({
      host, port: opts.inboundPort ?? 0, onRequest: serve('inbound'),
      onRefused: (reason) => metrics.refused.inc({ listener: 'inbound', reason }),
      l4: () => faultState.l4,
      onL4: (outcome) => metrics.faults.inc({ kind: `l4-${outcome}` }),
      tls, registry,
      onReject: (r) => logger.warn({ code: r.code, reason: r.reason }, 'inbound mTLS peer refused'),
    });
  } catch (e) {
    // A sidecar that cannot start leaves nothing behind: an embedder's process must not keep half of one open.
    files?.close();
    await Promise.all([outbound.close(), mesh.close(), app.close()]);
    throw e;
  }
  let admin: AdminServer | undefined;
  let watcher: ConfigWatch | undefined;

  let closing: Promise<void> | undefined;
  const sidecar: Sidecar = {
    inboundPort: inbound.port,
    outboundPort: outbound.port,
    adminPort: 0,
    metrics,
    balancer,
    applyConfig(cfg) {
      const prev = config;
      config = cfg;
      try {
        files?.follow(cfg);
        const next = build();
        balancer.update(cfg);
        index = hostIndex(cfg);
        handlers = next;
      } catch (e) {
        config = prev;
        metrics.configReloads.inc({ result: 'refused' });
        throw e;
      }
      const fh = hash(JSON.stringify(cfg.faults));
      // Runtime PUTs survive reloads that leave the file's faults alone.
      if (fh !== faultsHash) faultState = { ...faultState, rules: cfg.faults.rules };
      faultsHash = fh;
      configVersion = hash(JSON.stringify(cfg));
      appliedAt = new Date().toISOString();
      metrics.configReloads.inc({ result: 'applied' });
      logger.info({ version: configVersion.slice(0, 12) }, 'config applied');
      warnIfHeapTight(logger);
    },
    faults: () => faultState,
    setFaults(f) {
      const l4Changed = JSON.stringify(f.l4) !== JSON.stringify(faultState.l4);
      faultState = f;
      // L4 faults are applied when a connection is accepted; dropping pooled connections makes them bite at once.
      if (l4Changed) inbound.dropConnections();
      logger.info({ faults: f }, 'fault settings changed');
    },
    close: () => (closing ??= (async () => {
      watcher?.close();
      files?.close();
      await Promise.all([outbound.close(), inbound.close(), admin?.close()]);
      await Promise.all([mesh.close(), app.close()]);
    })()),
  };

  try {
    admin = await startAdmin({
      host, port: opts.adminPort ?? 0, auth: opts.adminAuth,
      hooks: {
        registry,
        ready: () => ({ ready: true }),
        stats: () => ({
          zone: opts.zone, service: opts.service, config_version: configVersion, config_applied_at: appliedAt,
          upstream_pools: mesh.stats().pools,
          memory_bytes: memoryBytes(),
          services: Object.fromEntries(Object.keys(config.services).map((s) => {
            const o = balancer.outlier(s);
            return [s, { ejected: o ? [...o.entries.entries()].filter(([, e]) => e.ejectedUntil !== undefined && e.ejectedUntil > Date.now()).map(([id]) => id) : [] }];
          })),
        }),
        configDump: () => ({ version: configVersion, applied_at: appliedAt, zone: opts.zone, service: opts.service, config, faults: faultState }),
        faults: () => faultState,
        setFaults: (f) => sidecar.setFaults(f),
      },
    });
  } catch (e) {
    await sidecar.close();
    throw e;
  }
  (sidecar as { adminPort: number }).adminPort = admin.port;

  if (opts.configFile !== undefined) {
    watcher = watchConfigFile(opts.configFile, (cfg) => {
      try {
        sidecar.applyConfig(cfg);
      } catch (e) {
        logger.error({ err: describeError(e) }, 'config refused; keeping the previous one');
      }
    }, (e) => {
      metrics.configReloads.inc({ result: 'refused' });
      logger.error({ code: e.code, problems: e.details.length > 0 ? e.details : [e.message] }, 'config refused; keeping the previous one');
    });
  }
  logger.info({ service: opts.service, inbound: inbound.port, outbound: outbound.port, admin: admin.port }, 'sidecar listening');
  warnIfHeapTight(logger);
  return sidecar;
}
