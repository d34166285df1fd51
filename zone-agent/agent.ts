// Composes one zone agent: discovery, the Federation reporter, fail-static state, the sidecar relay, CA and admin API.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { Locality } from '../api/locality.ts';
import { globalLbId } from '../api/identity.ts';
import { formatHostPort } from '../api/fields.ts';
import type { BalancerMessage__Output } from '../api/generated/meshfed/v1/BalancerMessage.ts';
import type { RelayState } from '../api/generated/meshfed/v1/RelayState.ts';
import { describeError } from '../common/errors.ts';
import { createLogger, type Logger } from '../common/logger.ts';
import { StaticFileDiscovery } from './discovery/static.ts';
import type { Discovery, LocalService } from './discovery/model.ts';
import { FederationReporter, federationCredentials } from './report/client.ts';
import { buildReport } from './report/build.ts';
import type { BackoffPolicy } from './report/backoff.ts';
import { RelayServer } from './relay/server.ts';
import { buildRelayState, EMPTY_BALANCER_STATE, expireHeld, mergeDirectory, mergeWeights, nextHeldExpiry, type BalancerState } from './relay/state.ts';
import { LastGoodWriter, loadLastGood } from './failstatic/store.ts';
import { csrSigner, issueZoneIdentity, loadClusterCa } from './ca/signer.ts';
import { DEFAULT_IDENTITY_TTL_MS, IdentityRotator, type ZoneIdentityCert } from './ca/identity.ts';
import { addStats, dropSidecar, EMPTY_WINDOW, evidence, resetWindow, sumWindows, type ClosedWindow, type WindowTotals } from './telemetry/merge.ts';
import { HealthChecker, type HealthCheckSettings, type HealthCheckSpec } from './telemetry/health-checker.ts';
import { RttProber } from './telemetry/rtt.ts';
import { createAgentMetrics, type AgentMetrics } from './metrics.ts';
import { BundleGate, type BundleGateStatus } from '../trust/bundle-signature.ts';
import { bundleFromProto } from '../trust/bundle.ts';
import { splitPem } from '../trust/pem.ts';
import { admitAdmin, type AdminAuth } from '../common/admin-auth.ts';
import type { Attestation } from './relay/attestation.ts';

/** The version the agent announces in its Hello. */
export const AGENT_VERSION = '0.1.0';

/** Where endpoints come from. */
export type DiscoverySpec =
  | { readonly kind: 'kubernetes'; readonly kubeconfig?: string; readonly inCluster?: boolean; readonly context?: string; readonly namespaces?: readonly string[] }
  | { readonly kind: 'static'; readonly file: string }
  | { readonly kind: 'custom'; readonly discovery: Discovery };

export interface ZoneAgentOptions {
  readonly locality: Locality;
  readonly cluster: string;
  readonly network: string;
  readonly trustDomain: string;
  /** host:port of every global-lb replica. */
  readonly globalLb: readonly string[];
  /** Plaintext to global-lb (local development only). */
  readonly insecure: boolean;
  readonly discovery: DiscoverySpec;
  /** The plug-in CA directory; needed for mTLS to global-lb and to sign sidecar certificates. */
  readonly caDir?: string;
  /**
   * Operator keys (PEM public keys or certificates) that may sign trust bundles besides the roots in force; a bundle
   * from global-lb takes effect only when one of them or a trusted root signed it (docs/trust.md, "Signed bundles").
   */
  readonly bundleSigners?: readonly string[];
  /** Who may call the admin port (--admin-tokens): GET /v1/status needs the read role; /healthz and /metrics stay open. */
  readonly adminAuth?: AdminAuth;
  /**
   * Attest workloads (--join-tokens): a subscription must carry a join token issued for its namespace and service
   * account, or it gets no state, no certificate, and its stats never count. Without it any local process may subscribe.
   */
  readonly attestation?: Attestation;
  readonly gatewayAddress?: string;
  /** Directory for the fail-static state. */
  readonly stateDir: string;
  readonly relayListen: { readonly host: string; readonly port: number };
  readonly adminListen: { readonly host: string; readonly port: number };
  readonly reportIntervalMs?: number;
  /** How far back a report's counters reach (default 5 s); see api/agent-config.ts evidenceWindow. */
  readonly evidenceWindowMs?: number;
  readonly heartbeatMs?: number;
  readonly workloadCertTtlMs?: number;
  /** Lifetime of the agent's own zone certificate (default 24h); it is renewed at half-life plus jitter. */
  readonly identityTtlMs?: number;
  readonly healthCheck?: HealthCheckSettings;
  /** Measure TLS handshake RTT to other zones' gateways this often; 0 disables. */
  readonly rttIntervalMs?: number;
  readonly backoff?: BackoffPolicy;
  readonly random?: () => number;
  readonly logger?: Logger;
  readonly processMetrics?: boolean;
  /** Encode each relay state once for all sidecars (default true); false exists as a benchmark baseline. */
  readonly relayEncodeOnce?: boolean;
}

/** What GET /v1/status returns. */
export interface AgentStatus {
  readonly zone: string;
  readonly cluster: string;
  readonly network: string;
  readonly agentId: string;
  readonly balancer: {
    readonly connected: boolean;
    readonly address: string | null;
    readonly lastRefusal: { code: string; message: string } | null;
    /** Times the Federation stream moved to a new connection to present a renewed identity. */
    readonly handovers: number;
  };
  readonly weights: { readonly tables: number; readonly receivedAtUnixMs: number; readonly ageSeconds: number | null; readonly stale: boolean };
  readonly relay: { readonly subscribers: number; readonly version: string };
  /** The trust bundle in force (signed) and the ones refused. */
  readonly trustBundle: BundleGateStatus;
  /** The agent's own zone certificate; null with --insecure. */
  readonly identity: {
    readonly spiffeId: string;
    readonly notBefore: string;
    readonly notAfter: string;
    readonly renewAt: string;
    readonly expiresInSeconds: number;
    readonly rotations: number;
  } | null;
  readonly services: number;
  readonly endpoints: number;
}

/** A running agent. */
export interface ZoneAgent {
  readonly relayPort: number;
  readonly adminPort: number;
  readonly metrics: AgentMetrics;
  status(): AgentStatus;
  /** The state sidecars are currently being served. */
  relayState(): RelayState;
  /** The last report built (for tests and status). */
  lastReport(): ReturnType<typeof buildReport> | undefined;
  stop(): Promise<void>;
}

/** The bundle in a proto message, or undefined when it does not parse as one. */
function bundleOrUndefined(proto: Parameters<typeof bundleFromProto>[0]): ReturnType<typeof bundleFromProto> | undefined {
  try {
    return bundleFromProto(proto);
  } catch {
    return undefined;
  }
}

/** Starts an agent. Resolves once the relay and admin ports are bound; the balancer is reached in the background. */
export async function startZoneAgent(o: ZoneAgentOptions): Promise<ZoneAgent> {
  const zone = o.locality.zone;
  const logger = o.logger ?? createLogger({ component: 'zone-agent', zone });
  const agentId = `${zone}-${randomUUID().slice(0, 8)}`;
  let balancer: BalancerState = EMPTY_BALANCER_STATE;
  let connected = false;
  let window: WindowTotals = EMPTY_WINDOW;
  let windowStartMs = Date.now();
  // Closed report intervals still inside the evidence window, oldest first.
  let closed: ClosedWindow[] = [];
  let lastReport: ReturnType<typeof buildReport> | undefined;
  let current: RelayState | undefined;
  let rotator: IdentityRotator | undefined;
  const metrics = createAgentMetrics(() => balancer.weightsReceivedAtMs, {
    processMetrics: o.processMetrics ?? true,
    ...(o.insecure ? {} : { identityNotAfterMs: () => rotator?.current?.notAfterMs }),
  });

  const persisted = loadLastGood(o.stateDir, zone);
  if (!persisted.ok) logger.warn({ code: 'MESHFED_E_AGENT_FAILSTATIC_READ', err: persisted.error }, 'starting without the persisted state');
  else if (persisted.value) {
    balancer = persisted.value;
    logger.info({ tables: Object.keys(balancer.weights).length, receivedAt: new Date(balancer.weightsReceivedAtMs).toISOString() }, 'serving persisted last good weights until global-lb answers');
  }

  const ca = o.caDir !== undefined ? loadClusterCa(o.caDir) : undefined;
  // Before a signed bundle is in force, the roots of our own CA directory are the ones that may sign one.
  const bundles = new BundleGate({ configuredRoots: () => (ca ? splitPem(ca.rootPem) : []), signerKeys: o.bundleSigners ?? [] });
  if (balancer.bundle && !bundles.restore(bundleOrUndefined(balancer.bundle))) {
    logger.warn('dropping the persisted trust bundle: it is not signed (saved before bundles were signed)');
    balancer = { ...balancer, bundle: undefined };
  }
  let credentials: grpc.ChannelCredentials;
  let reporterBuilt = false;
  if (o.insecure) {
    logger.warn('Federation stream WITHOUT TLS (insecure): for local development only');
    credentials = grpc.credentials.createInsecure();
  } else {
    if (!ca) throw new Error('startZoneAgent: caDir is required unless insecure');
    const clusterCa = ca;
    const identityTtlMs = o.identityTtlMs ?? DEFAULT_IDENTITY_TTL_MS;
    rotator = new IdentityRotator({
      issue: () => issueZoneIdentity(clusterCa, o.trustDomain, zone, identityTtlMs),
      // The reporter moves its stream to the new certificate (make-before-break; see FederationReporter).
      onRotated: (id) => {
        metrics.identityRotations.inc();
        credentials = credentialsFor(id);
        // Before the reporter exists (start-up still awaiting discovery) it is simply built with these.
        if (reporterBuilt) reporter.setCredentials(credentials);
      },
      random: o.random ?? Math.random,
      logger,
    });
    credentials = credentialsFor(await rotator.start());
  }

  function credentialsFor(id: ZoneIdentityCert): grpc.ChannelCredentials {
    return federationCredentials({ rootsPem: id.rootsPem, certChainPem: id.certChainPem, keyPem: id.keyPem, balancerId: globalLbId(o.trustDomain) });
  }

  let staticDiscovery: StaticFileDiscovery | undefined;
  let discovery: Discovery;
  switch (o.discovery.kind) {
    case 'kubernetes': {
      // Loaded on demand: the Kubernetes client is large, and static-file agents never need it.
      const { KubernetesDiscovery } = await import('./discovery/kubernetes.ts');
      discovery = new KubernetesDiscovery({
        ...(o.discovery.kubeconfig !== undefined ? { kubeconfig: o.discovery.kubeconfig } : {}),
        ...(o.discovery.inCluster !== undefined ? { inCluster: o.discovery.inCluster } : {}),
        ...(o.discovery.context !== undefined ? { context: o.discovery.context } : {}),
        ...(o.discovery.namespaces !== undefined ? { namespaces: o.discovery.namespaces } : {}),
        // One agent per zone: in a multi-zone cluster each reports only its own zone's endpoints (docs/zone-agent.md).
        zone,
        logger,
        onMalformed: (kind) => metrics.malformedObjects.inc({ kind }),
        onWatchError: (resource) => metrics.watchErrors.inc({ resource }),
      });
      break;
    }
    case 'static':
      discovery = staticDiscovery = new StaticFileDiscovery({ file: o.discovery.file, logger, onInvalid: () => metrics.staticInvalid.inc() });
      break;
    case 'custom':
      discovery = o.discovery.discovery;
  }

  const health = o.healthCheck ? new HealthChecker(o.healthCheck, () => publish()) : undefined;
  const localServices = (): readonly LocalService[] => {
    const raw = discovery.current();
    return health ? health.overlay(raw, healthSpecs()) : raw;
  };

  const rtt = new RttProber();

  const relay = new RelayServer({
    zone,
    trustDomain: o.trustDomain,
    logger,
    ...(ca ? { signer: csrSigner(ca, o.workloadCertTtlMs ?? 24 * 3600_000) } : {}),
    ...(o.attestation ? { attestation: o.attestation } : {}),
    onStats: (sidecarId, stats) => {
      const r = addStats(window, sidecarId, stats);
      if (r.ok) window = r.value;
      return r;
    },
    onSidecarGone: (sidecarId) => {
      window = dropSidecar(window, sidecarId);
    },
    onProtocolError: () => metrics.relayProtocolErrors.inc(),
    onCertificateIssued: () => metrics.certificatesIssued.inc(),
    onSkipped: () => metrics.relaySkipped.inc(),
    onSubscribersChanged: (n) => metrics.relaySubscribers.set(n),
    ...(o.relayEncodeOnce !== undefined ? { encodeOnce: o.relayEncodeOnce } : {}),
  });

  function policies(): { policies: Record<string, string>; faultsJson: string } {
    const file = staticDiscovery?.currentFile();
    const out: Record<string, string> = {};
    for (const s of file?.services ?? []) if (s.policy) out[`${s.namespace}/${s.name}`] = JSON.stringify(s.policy);
    return { policies: out, faultsJson: file?.faults ? JSON.stringify(file.faults) : '' };
  }

  let publishQueued = false;
  let stopping = false;
  /**
   * Coalesces the publishes of one event-loop turn into one relay build: each balancer message, discovery change or
   * health flip asks for one, and a build copies, hashes and encodes every local endpoint (at 5,000 EndpointSlices a
   * burst of weight messages kept the agent busy rebuilding, bench/README.md "discovery").
   */
  function publish(): void {
    if (publishQueued) return;
    publishQueued = true;
    setImmediate(() => {
      publishQueued = false;
      if (!stopping) publishNow();
    });
  }

  function publishNow(): void {
    const p = policies();
    const next = buildRelayState({
      self: { locality: o.locality, cluster: o.cluster, network: o.network, gatewayAddress: o.gatewayAddress ?? '' },
      local: localServices(),
      balancer,
      policies: p.policies,
      faultsJson: p.faultsJson,
      stale: !connected,
    });
    if (current?.version === next.version) return;
    current = next;
    metrics.relayPushes.inc();
    relay.publish(next);
  }

  const writer = new LastGoodWriter(o.stateDir, zone, (error) => {
    metrics.failstaticWriteErrors.inc();
    logger.error({ code: 'MESHFED_E_AGENT_FAILSTATIC_WRITE', err: error }, 'could not persist the last good state');
  });
  function persist(): void {
    writer.save(balancer);
  }

  // A Directory or full WeightTables is merged, never swapped in: a zone or table it lacks is held over with its last
  // content for HOLD_MISSING_MS (relay/state.ts mergeDirectory/mergeWeights), so a balancer that knows only part of
  // the federation (e.g. just after a restart) cannot take a service's endpoints away from the sidecars.
  let heldExpiry: NodeJS.Timeout | undefined;
  function onBalancerMessage(m: BalancerMessage__Output): void {
    switch (m.msg) {
      case 'weights':
        if (!m.weights) return;
        balancer = mergeWeights(balancer, m.weights, Date.now());
        break;
      case 'directory':
        if (!m.directory) return;
        balancer = mergeDirectory(balancer, m.directory, Date.now());
        rtt.setTargets(gatewayTargets());
        break;
      case 'trust_bundle': {
        if (!m.trust_bundle) return;
        const accepted = offerBundle(m.trust_bundle);
        if (accepted === undefined) return;
        balancer = { ...balancer, bundle: accepted };
        break;
      }
      default:
        return;
    }
    publish();
    persist();
    scheduleHeldExpiry();
  }

  /** Passes a bundle from global-lb through the gate: the message to relay, or undefined when refused or unchanged. */
  function offerBundle(proto: NonNullable<BalancerMessage__Output['trust_bundle']>): typeof proto | undefined {
    const now = new Date();
    const b = bundleOrUndefined(proto);
    if (b === undefined) {
      bundles.refuse('MESHFED_E_TRUST_BUNDLE_INVALID', 'the bundle from global-lb does not parse', now);
      metrics.bundlesRefused.inc({ code: 'MESHFED_E_TRUST_BUNDLE_INVALID' });
      logger.error({ code: 'MESHFED_E_TRUST_BUNDLE_INVALID', version: proto.version }, 'trust bundle refused: it does not parse; keeping the one in force');
      return undefined;
    }
    const verdict = bundles.offer(b, now);
    if (!verdict.ok) {
      metrics.bundlesRefused.inc({ code: verdict.code });
      logger.error({ code: verdict.code, version: b.version }, `trust bundle refused: ${verdict.message}; keeping the one in force`);
      return undefined;
    }
    if (verdict.unchanged) return undefined;
    metrics.bundlesAccepted.inc();
    logger.info({ version: b.version, signer: verdict.signer, issuedAt: b.issuedAt }, 'trust bundle in force');
    return proto;
  }

  /** Drops held-over zones and tables when their hold runs out, whether or not the balancer says anything more. */
  function scheduleHeldExpiry(): void {
    if (heldExpiry) clearTimeout(heldExpiry);
    heldExpiry = undefined;
    const at = nextHeldExpiry(balancer);
    if (at === undefined) return;
    heldExpiry = setTimeout(() => {
      heldExpiry = undefined;
      const next = expireHeld(balancer, Date.now());
      if (next !== balancer) {
        balancer = next;
        rtt.setTargets(gatewayTargets());
        publish();
        persist();
      }
      scheduleHeldExpiry();
    }, Math.max(0, at - Date.now()) + 1);
    heldExpiry.unref();
  }

  function gatewayTargets(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const z of balancer.directory?.zones ?? []) {
      const name = z.locality?.zone;
      if (name && name !== zone && z.gateway_address) out[name] = z.gateway_address;
    }
    return out;
  }

  const reporter = new FederationReporter({
    addresses: o.globalLb,
    credentials,
    hello: {
      locality: { ...o.locality }, cluster: o.cluster, network: o.network,
      gateway_address: o.gatewayAddress ?? '', agent_id: agentId, agent_version: AGENT_VERSION,
    },
    reportIntervalMs: o.reportIntervalMs ?? 1000,
    heartbeatMs: o.heartbeatMs ?? 1000,
    buildReport: (sequence, nowMs) => {
      closed = evidence([...closed, { startMs: windowStartMs, endMs: nowMs, totals: window }], nowMs, o.evidenceWindowMs ?? 5000);
      const spanMs = nowMs - closed[0]!.startMs;
      const report = buildReport({ zone, sequence, nowMs, windowMs: spanMs, services: localServices(), window: sumWindows(closed.map((c) => c.totals)), rttsMs: rtt.current() });
      window = resetWindow(window);
      windowStartMs = nowMs;
      lastReport = report;
      return report;
    },
    onMessage: onBalancerMessage,
    onConnected: (up, address) => {
      connected = up;
      metrics.balancerConnected.set(up ? 1 : 0);
      logger.info({ address, connected: up }, up ? 'Federation stream open' : 'Federation stream lost; serving last good state');
      publish();
    },
    onReportSent: () => metrics.reportsSent.inc(),
    logger,
    ...(o.backoff ? { backoff: o.backoff } : {}),
    ...(o.random ? { random: o.random } : {}),
  });

  reporterBuilt = true;

  discovery.onChange(() => {
    health?.setTargets(discovery.current(), healthSpecs());
    publish();
  });
  function healthSpecs(): Record<string, HealthCheckSpec> {
    const specs: Record<string, HealthCheckSpec> = {};
    for (const s of staticDiscovery?.currentFile()?.services ?? []) {
      if (!s.healthCheckPath) continue;
      const ports: Record<string, number> = {};
      for (const e of s.endpoints) if ('healthCheckPort' in e && e.healthCheckPort !== undefined) ports[formatHostPort(e.address)] = e.healthCheckPort;
      specs[`${s.namespace}/${s.name}`] = { path: s.healthCheckPath, ...(s.healthCheck ? { settings: s.healthCheck } : {}), ports };
    }
    return specs;
  }

  const admin = createServer((req, res) => {
    if (!admitAdmin(o.adminAuth, req, res)) return;
    const url = new URL(req.url ?? '/', 'http://agent');
    if (req.method === 'GET' && url.pathname === '/v1/status') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(status()));
    } else if (req.method === 'GET' && url.pathname === '/metrics') {
      metrics.registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(text);
      }, (e: unknown) => {
        res.writeHead(500);
        res.end(describeError(e));
      });
    } else if (req.method === 'GET' && url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 'MESHFED_E_AGENT_NOT_FOUND', message: `no route ${req.method} ${url.pathname} (try GET /v1/status, /metrics, /healthz)` }));
    }
  });

  function identityStatus(): AgentStatus['identity'] {
    const id = rotator?.current;
    if (!rotator || !id) return null;
    return {
      spiffeId: id.spiffeId,
      notBefore: new Date(id.notBeforeMs).toISOString(),
      notAfter: new Date(id.notAfterMs).toISOString(),
      renewAt: new Date(rotator.renewAtMs).toISOString(),
      expiresInSeconds: (id.notAfterMs - Date.now()) / 1000,
      rotations: rotator.rotations,
    };
  }

  function status(): AgentStatus {
    const at = balancer.weightsReceivedAtMs;
    const services = discovery.current();
    return {
      zone, cluster: o.cluster, network: o.network, agentId,
      balancer: { connected, address: reporter.connectedTo ?? null, lastRefusal: reporter.lastRefusal ?? null, handovers: reporter.handovers },
      weights: { tables: Object.keys(balancer.weights).length, receivedAtUnixMs: at, ageSeconds: at > 0 ? (Date.now() - at) / 1000 : null, stale: !connected },
      relay: { subscribers: relay.subscriberCount, version: current?.version ?? '' },
      trustBundle: bundles.status(),
      identity: identityStatus(),
      services: services.length,
      endpoints: services.reduce((n, s) => n + s.endpoints.length, 0),
    };
  }

  await discovery.start();
  health?.setTargets(discovery.current(), healthSpecs());
  health?.start();
  const relayPort = await relay.listen(o.relayListen.host, o.relayListen.port);
  const adminPort = await new Promise<number>((resolve, reject) => {
    admin.once('error', reject);
    admin.listen(o.adminListen.port, o.adminListen.host, () => resolve((admin.address() as AddressInfo).port));
  });
  publishNow();
  // Hold clocks loaded from the fail-static file keep running even if the balancer never answers.
  scheduleHeldExpiry();
  reporter.start();
  if ((o.rttIntervalMs ?? 10_000) > 0) rtt.start(o.rttIntervalMs ?? 10_000);
  rtt.setTargets(gatewayTargets());

  return {
    relayPort,
    adminPort,
    metrics,
    status,
    relayState: () => current as RelayState,
    lastReport: () => lastReport,
    async stop() {
      stopping = true;
      if (heldExpiry) clearTimeout(heldExpiry);
      rotator?.stop();
      reporter.stop();
      await writer.flush();
      rtt.stop();
      health?.stop();
      await discovery.stop();
      await relay.close();
      await new Promise<void>((resolve) => {
        admin.close(() => resolve());
        admin.closeAllConnections();
      });
    },
  };
}
