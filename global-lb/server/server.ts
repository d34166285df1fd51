// Composes one global-lb replica: the store mirror, the leader loop, the Federation gRPC server and the admin API.
import * as grpc from '@grpc/grpc-js';
import type { AddressInfo } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import type { Store } from '../store/store.ts';
import { createLogger, type Logger } from '../../common/logger.ts';
import { federationProto } from '../../api/proto.ts';
import { formatHostPort } from '../../api/fields.ts';
import { parseSpiffeId, sanUris } from '../../api/identity.ts';
import { ReplicaView } from './view.ts';
import { LeaderLoop } from './leader.ts';
import { createFederationService, type FederationService, type PeerCheck } from './federation.ts';
import { createAdminServer } from './admin.ts';
import { createServerMetrics, type ServerMetrics } from './metrics.ts';
import type { ReportLimits } from './report.ts';
import type { AdminAuth } from '../../common/admin-auth.ts';

export { DEFAULT_COLD_START_GRACE_MS } from './view.ts';

/** Default largest agent message (a report with every endpoint of every service of a zone). */
export const DEFAULT_MAX_REPORT_BYTES = 8 * 1024 * 1024;

export interface GlobalLbTls {
  readonly certPem: string;
  readonly keyPem: string;
  /** Roots agents' certificates must chain to. */
  readonly bundlePem: string;
  /** When set, agents' SPIFFE IDs must be in this trust domain. */
  readonly trustDomain?: string;
}

export interface GlobalLbOptions {
  readonly store: Store;
  readonly replicaId: string;
  readonly grpcListen: { readonly host: string; readonly port: number };
  readonly adminListen: { readonly host: string; readonly port: number };
  /** Who may call the admin API (--admin-tokens); without it, reads are open and writes need only be same-origin JSON. */
  readonly adminAuth?: AdminAuth;
  /** The heartbeat agents are expected to keep; also the leader's steady recompute tick. */
  readonly heartbeatMs: number;
  /** TTL of zone report leases and of the leadership campaign. */
  readonly leaseTtlSeconds: number;
  readonly debounceMinMs?: number;
  readonly debounceMaxMs?: number;
  /**
   * After a cold start, how long at most to wait for the zones the store knew to report again before computing and
   * publishing anyway (default DEFAULT_COLD_START_GRACE_MS, 10 s; see view.ts coldStartVerdict).
   */
  readonly coldStartGraceMs?: number;
  /** mTLS; omit only together with insecure: true. */
  readonly tls?: GlobalLbTls;
  readonly insecure?: boolean;
  readonly maxReportBytes?: number;
  readonly limits?: ReportLimits;
  readonly logger?: Logger;
  /** Include process metrics (off in tests that run several replicas in one process). */
  readonly processMetrics?: boolean;
  /** Where the dashboard lists `meshfed chaos run` reports from (default ./chaos-reports). */
  readonly chaosReportsDir?: string;
}

/** A running replica. */
export interface GlobalLb {
  readonly replicaId: string;
  readonly grpcPort: number;
  readonly adminPort: number;
  readonly adminUrl: string;
  readonly grpcAddress: string;
  readonly view: ReplicaView;
  readonly leader: LeaderLoop;
  readonly federation: FederationService;
  readonly metrics: ServerMetrics;
  /** Stops serving, ends agent streams (revoking their leases) and resigns leadership. Does not close the store. */
  close(): Promise<void>;
}

/**
 * Checks that the peer certificate's SPIFFE ID is the agent identity of the Hello's zone, and that the zone stays
 * with its cluster: the certificate's issuing intermediate (a meshfed intermediate's CN names its cluster, and path
 * length 0 keeps it from minting another) must be the cluster the Hello claims, and a zone whose reports name a
 * cluster (`clusterOf`) is refused to an agent of any other. A stolen or misused intermediate of one cluster can mint
 * zone-agent certificates for any zone (X.509 URI name constraints bound hosts, not paths); this is what stops it.
 */
export function spiffePeerCheck(trustDomain: string | undefined, clusterOf: (zone: string) => string | undefined = () => undefined): PeerCheck {
  return (call, { zone: helloZone, cluster }) => {
    const cert = call.getAuthContext()?.sslPeerCertificate;
    const ids = sanUris(cert?.subjectaltname).map(parseSpiffeId).filter((id) => id !== undefined);
    const agent = ids.find((id) => id.kind === 'zone-agent');
    if (!agent || agent.kind !== 'zone-agent') {
      return { code: 'MESHFED_E_STREAM_BAD_HELLO', message: 'the client certificate carries no zone-agent SPIFFE ID (spiffe://<td>/meshfed/zone/<zone>)' };
    }
    if (trustDomain !== undefined && agent.trustDomain !== trustDomain) {
      return { code: 'MESHFED_E_STREAM_BAD_HELLO', message: `the client certificate is for trust domain "${agent.trustDomain}", expected "${trustDomain}"` };
    }
    if (agent.zone !== helloZone) {
      return { code: 'MESHFED_E_STREAM_BAD_HELLO', message: `Hello names zone "${helloZone}" but the client certificate is for zone "${agent.zone}"` };
    }
    const issuerCn = cert?.issuer?.CN;
    const issuerCluster = typeof issuerCn === 'string' ? /^meshfed intermediate (.+)$/.exec(issuerCn)?.[1] : undefined;
    if (issuerCluster !== undefined && issuerCluster !== cluster) {
      return { code: 'MESHFED_E_STREAM_ZONE_CLUSTER', message: `Hello claims cluster "${cluster}" but the certificate was issued by cluster ${issuerCluster}'s intermediate` };
    }
    const owner = clusterOf(helloZone);
    if (owner !== undefined && owner !== cluster) {
      return { code: 'MESHFED_E_STREAM_ZONE_CLUSTER', message: `zone ${helloZone} belongs to cluster ${owner} (its reports say so); an agent of cluster ${cluster} cannot report for it` };
    }
    return undefined;
  };
}

function listen(server: HttpServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Starts a replica. Resolves once both listeners are bound; the store sync and campaign continue in the background. */
export async function startGlobalLb(options: GlobalLbOptions): Promise<GlobalLb> {
  if (!options.tls && !options.insecure) throw new Error('startGlobalLb: give tls, or insecure: true');
  const logger = options.logger ?? createLogger({ component: 'global-lb' });
  const metrics = createServerMetrics({ processMetrics: options.processMetrics ?? true });
  const { store, replicaId } = options;
  const view = new ReplicaView(store, logger, Date.now, {
    ...(options.coldStartGraceMs !== undefined ? { coldStartGraceMs: options.coldStartGraceMs } : {}),
    onWatchLost: () => metrics.watchRelists.inc(),
  });
  const leader = new LeaderLoop({
    store, view, replicaId, logger, metrics,
    leaseTtlSeconds: options.leaseTtlSeconds,
    tickMs: options.heartbeatMs,
    debounceMinMs: options.debounceMinMs ?? 100,
    debounceMaxMs: options.debounceMaxMs ?? 1000,
  });
  const federation = createFederationService({
    store, view, replicaId, logger, metrics,
    leaseTtlSeconds: options.leaseTtlSeconds,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.tls ? { checkPeer: spiffePeerCheck(options.tls.trustDomain, (zone) => (view.reports.get(zone) ?? view.departed.get(zone)?.last)?.identity.cluster) } : {}),
  });

  const maxBytes = options.maxReportBytes ?? DEFAULT_MAX_REPORT_BYTES;
  const grpcServer = new grpc.Server({
    'grpc.max_receive_message_length': maxBytes,
    'grpc.keepalive_time_ms': Math.max(options.heartbeatMs * 5, 10_000),
    'grpc.keepalive_timeout_ms': 10_000,
  });
  grpcServer.addService(federationProto().meshfed.v1.Federation.service, federation.handlers);
  let credentials: grpc.ServerCredentials;
  if (options.tls) {
    credentials = grpc.ServerCredentials.createSsl(
      Buffer.from(options.tls.bundlePem),
      [{ cert_chain: Buffer.from(options.tls.certPem), private_key: Buffer.from(options.tls.keyPem) }],
      true,
    );
  } else {
    logger.warn('Federation gRPC is running WITHOUT TLS (--insecure): agents are not authenticated; use only for local development');
    credentials = grpc.ServerCredentials.createInsecure();
  }
  const grpcPort = await new Promise<number>((resolve, reject) => {
    grpcServer.bindAsync(formatHostPort(options.grpcListen), credentials, (e, port) => (e ? reject(e) : resolve(port)));
  });

  const admin = createAdminServer({
    store, view, replicaId, metrics, logger, auth: options.adminAuth,
    isLeader: () => leader.isLeader(),
    leaderId: () => leader.leaderId(),
    firstComputeDone: () => leader.firstComputeDone(),
    verdicts: () => leader.verdicts(),
    streams: () => federation.streams(),
    ...(options.chaosReportsDir !== undefined ? { chaosReportsDir: options.chaosReportsDir } : {}),
  });
  let adminPort: number;
  try {
    adminPort = await listen(admin, options.adminListen.host, options.adminListen.port);
  } catch (e) {
    grpcServer.forceShutdown();
    throw e;
  }

  void view.start();
  leader.start();
  logger.info({ replicaId, grpcPort, adminPort, store: store.kind }, 'global-lb replica started');

  let closing: Promise<void> | undefined;
  return {
    replicaId, grpcPort, adminPort, view, leader, federation, metrics,
    adminUrl: `http://${formatHostPort({ host: options.adminListen.host, port: adminPort })}`,
    grpcAddress: formatHostPort({ host: options.grpcListen.host, port: grpcPort }),
    close() {
      closing ??= (async () => {
        await federation.closeAll();
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            grpcServer.forceShutdown();
            resolve();
          }, 2000);
          grpcServer.tryShutdown(() => {
            clearTimeout(t);
            resolve();
          });
        });
        await leader.stop();
        await view.stop();
        admin.closeAllConnections();
        await new Promise<void>((resolve) => admin.close(() => resolve()));
      })();
      return closing;
    },
  };
}
