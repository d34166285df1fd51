// The Federation gRPC service: one stream per zone agent. Stores each report under a lease tied to the
// stream, acks it, and pushes the agent its zone's weight rows, the Directory and the trust bundle (the Directory
// and weights only once the replica's view is synced, i.e. past the cold-start gate: see view.ts coldStartVerdict).
import type * as grpc from '@grpc/grpc-js';
import type { Store, Lease } from '../store/store.ts';
import { KEYS } from '../store/store.ts';
import type { Logger } from '../../common/logger.ts';
import { describeError } from '../../common/errors.ts';
import type { AgentMessage__Output } from '../../api/generated/meshfed/v1/AgentMessage.ts';
import type { BalancerMessage } from '../../api/generated/meshfed/v1/BalancerMessage.ts';
import type { WeightTable } from '../../api/generated/meshfed/v1/WeightTable.ts';
import type { ZoneReport__Output } from '../../api/generated/meshfed/v1/ZoneReport.ts';
import type { FederationHandlers } from '../../api/generated/meshfed/v1/Federation.ts';
import type { ServiceTable, SourceRow } from '../weights/index.ts';
import type { ReplicaView, ViewChange } from './view.ts';
import { buildDirectory, validateHello, validateReport, DEFAULT_REPORT_LIMITS, type Refusal, type ReportLimits, type StoredZoneReport, type ZoneIdentity } from './report.ts';
import type { ServerMetrics } from './metrics.ts';

type Call = grpc.ServerDuplexStream<AgentMessage__Output, BalancerMessage>;

/** What the transport knows about the peer: the zone in its certificate's SPIFFE ID, when mTLS is on. */
/** Checks the peer of a stream against its Hello (zone and cluster claimed); a refusal closes the stream. */
export type PeerCheck = (call: Call, hello: { readonly zone: string; readonly cluster: string }) => Refusal | undefined;

export interface FederationOptions {
  readonly store: Store;
  readonly view: ReplicaView;
  readonly replicaId: string;
  readonly leaseTtlSeconds: number;
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  readonly limits?: ReportLimits;
  /** Checks the peer's identity against the Hello's zone; omitted when running --insecure. */
  readonly checkPeer?: PeerCheck;
  readonly now?: () => number;
}

/** One connected agent, for /v1/status. */
export interface AgentStreamInfo {
  readonly zone: string;
  readonly agentId: string;
  readonly peer: string;
  readonly connectedAt: number;
  readonly reports: number;
  readonly lastReportAt: number | undefined;
}

/** Converts one source zone's row of a table into the wire form. */
export function tableForZone(table: ServiceTable, row: SourceRow): WeightTable {
  return {
    namespace: table.namespace,
    name: table.name,
    version: table.version,
    computed_at_unix_ms: table.computedAt,
    sources: [{
      source_zone: row.sourceZone,
      panic: row.panic,
      targets: row.targets.map((t) => ({ zone: t.zone, basis_points: t.basisPoints, tier: t.tier, reason: t.reason })),
      exclusive: row.exclusive === true,
      unavailable_reason: row.unavailableReason ?? '',
    }],
  };
}

/**
 * One agent stream. States: awaiting-hello -> open -> closed.
 * Invariants: no report is stored before a valid Hello; every stored report names the Hello's zone;
 * store writes of one stream happen in arrival order; when the stream closes its lease is revoked.
 */
class AgentStream {
  state: 'awaiting-hello' | 'open' | 'closed' = 'awaiting-hello';
  identity: ZoneIdentity | undefined;
  lease: Lease | undefined;
  lastReport: ZoneReport__Output | undefined;
  reports = 0;
  lastReportAt: number | undefined;
  readonly connectedAt: number;
  /** Per service: the JSON of the row last sent, so only changed rows go out. */
  readonly sentRows = new Map<string, string>();
  sentDirectory = '';
  sentTrust = '';
  private chain: Promise<void> = Promise.resolve();
  readonly call: Call;

  constructor(call: Call, now: number) {
    this.call = call;
    this.connectedAt = now;
  }

  /** Runs store operations one after another, in arrival order. */
  enqueue(task: () => Promise<void>): void {
    this.chain = this.chain.then(task, task);
  }

  send(message: BalancerMessage): void {
    if (this.state === 'closed') return;
    try {
      this.call.write(message);
    } catch {
      // The stream was cancelled under us; the close handler cleans up.
    }
  }
}

/** The Federation service plus the hooks the rest of the replica needs. */
export interface FederationService {
  readonly handlers: FederationHandlers;
  streams(): AgentStreamInfo[];
  /** Ends every stream (shutdown) and revokes their leases. */
  closeAll(): Promise<void>;
}

/** Builds the Connect handler over a store and the replica's view. */
export function createFederationService(options: FederationOptions): FederationService {
  const { store, view, replicaId, leaseTtlSeconds, logger, metrics } = options;
  const limits = options.limits ?? DEFAULT_REPORT_LIMITS;
  const now = options.now ?? Date.now;
  const streams = new Set<AgentStream>();
  let directoryCache: { json: string; message: BalancerMessage } | undefined;

  const directoryMessage = (): { json: string; message: BalancerMessage } => {
    directoryCache ??= (() => {
      const dir = buildDirectory(view.reports.values());
      return { json: dir.version ?? '', message: { directory: dir } };
    })();
    return directoryCache;
  };

  // Before the view is synced (mirror not listed yet, or the cold-start gate still closed) the reports on hand are a
  // partial set: the agent keeps its last good Directory and weights instead. The reset announced when the gate
  // opens pushes both to every open stream.
  const pushDirectory = (s: AgentStream) => {
    if (!view.synced) return;
    const d = directoryMessage();
    if (d.json !== s.sentDirectory) {
      s.sentDirectory = d.json;
      s.send(d.message);
    }
  };

  const pushTrust = (s: AgentStream) => {
    if (!view.trust) return;
    const json = JSON.stringify(view.trust);
    if (json !== s.sentTrust) {
      s.sentTrust = json;
      s.send({ trust_bundle: view.trust });
    }
  };

  /** Sends the rows of this stream's zone; `keys` undefined means a full resend. */
  const pushWeights = (s: AgentStream, keys: ReadonlySet<string> | undefined) => {
    if (!view.synced) return;
    const zone = s.identity!.locality.zone;
    const full = keys === undefined;
    const tables: WeightTable[] = [];
    const removed: string[] = [];
    const candidates = full ? new Set([...view.tables.keys(), ...s.sentRows.keys()]) : keys;
    for (const key of candidates) {
      const table = view.tables.get(key);
      const row = table?.rows.find((r) => r.sourceZone === zone);
      if (!table || !row) {
        // A table deleted from the store is announced as removed even if this stream never sent it: the agent may
        // hold it from an earlier stream or its fail-static file, and keeps tables a full message merely omits.
        if ((s.sentRows.delete(key) || !table) && !full) removed.push(key);
        continue;
      }
      const json = JSON.stringify(row);
      if (!full && s.sentRows.get(key) === json) continue;
      s.sentRows.set(key, json);
      tables.push(tableForZone(table, row));
    }
    if (full || tables.length > 0 || removed.length > 0) s.send({ weights: { tables, full, removed } });
  };

  view.subscribe((change: ViewChange) => {
    if (change.reports || change.reset) directoryCache = undefined;
    for (const s of streams) {
      if (s.state !== 'open') continue;
      if (change.reports || change.reset) pushDirectory(s);
      if (change.trust || change.reset) pushTrust(s);
      if (change.reset) pushWeights(s, undefined);
      else if (change.tables.size > 0) pushWeights(s, change.tables);
    }
  });

  const storeReport = async (s: AgentStream) => {
    const zone = s.identity!.locality.zone;
    const report = s.lastReport!;
    // A report doubles as a heartbeat: a put alone does not refresh an etcd lease's TTL.
    if (s.lease && !(await s.lease.keepAliveOnce())) s.lease = undefined;
    if (!s.lease) {
      const lease = await store.grantLease(leaseTtlSeconds);
      if (s.state === 'closed') {
        await lease.revoke().catch(() => undefined);
        return;
      }
      lease.onLost(() => {
        if (s.lease === lease) s.lease = undefined;
      });
      s.lease = lease;
    }
    const record: StoredZoneReport = { identity: s.identity!, report, receivedAt: now(), replicaId };
    await store.put(KEYS.zoneReport(zone), JSON.stringify(record), { lease: s.lease.id });
    if (s.state !== 'closed') s.send({ ack: { sequence: report.sequence, replica_id: replicaId } });
  };

  const refuse = (s: AgentStream, refusal: Refusal) => {
    metrics.streamRefusals.inc({ code: refusal.code });
    logger.warn({ zone: s.identity?.locality.zone, peer: s.call.getPeer(), code: refusal.code, reason: refusal.message }, 'refusing agent stream');
    s.send({ error: { code: refusal.code, message: refusal.message } });
    close(s);
  };

  const close = (s: AgentStream) => {
    if (s.state === 'closed') return;
    const wasOpen = s.state === 'open';
    s.state = 'closed';
    streams.delete(s);
    metrics.agentStreams.set(streams.size);
    try {
      s.call.end();
    } catch {
      // already gone
    }
    if (wasOpen) logger.info({ zone: s.identity?.locality.zone, agentId: s.identity?.agentId }, 'agent stream closed');
    s.enqueue(async () => {
      const lease = s.lease;
      s.lease = undefined;
      if (lease) await lease.revoke().catch((e: unknown) => logger.warn({ err: describeError(e) }, 'lease revoke failed; it will expire'));
    });
  };

  const onMessage = (s: AgentStream, m: AgentMessage__Output) => {
    if (s.state === 'closed') return;
    if (s.state === 'awaiting-hello') {
      if (m.msg !== 'hello') return refuse(s, { code: 'MESHFED_E_STREAM_NO_HELLO', message: `the first message must be a Hello, got ${m.msg ?? 'an empty message'}` });
      const hello = validateHello(m.hello);
      if (!hello.ok) return refuse(s, hello.error);
      const peerProblem = options.checkPeer?.(s.call, { zone: hello.value.locality.zone, cluster: hello.value.cluster });
      if (peerProblem) return refuse(s, peerProblem);
      s.identity = hello.value;
      s.state = 'open';
      logger.info({ zone: hello.value.locality.zone, agentId: hello.value.agentId, peer: s.call.getPeer() }, 'agent stream open');
      pushDirectory(s);
      pushTrust(s);
      pushWeights(s, undefined);
      return;
    }
    switch (m.msg) {
      case 'hello':
        return refuse(s, { code: 'MESHFED_E_STREAM_DUPLICATE_HELLO', message: 'a stream says Hello once' });
      case 'report': {
        const r = validateReport(m.report, s.identity!.locality.zone, limits);
        if (!r.ok) return refuse(s, r.error);
        s.lastReport = r.value;
        s.reports++;
        s.lastReportAt = now();
        metrics.reports.inc();
        s.enqueue(async () => {
          if (s.state === 'closed') return;
          try {
            await storeReport(s);
          } catch (e) {
            metrics.storeErrors.inc({ op: 'report' });
            logger.warn({ zone: s.identity!.locality.zone, err: describeError(e) }, 'could not store report; the next report or heartbeat retries');
            s.lease = undefined;
          }
        });
        return;
      }
      case 'heartbeat':
        s.enqueue(async () => {
          if (s.state === 'closed') return;
          try {
            const alive = s.lease ? await s.lease.keepAliveOnce() : false;
            if (!alive && s.lastReport) {
              s.lease = undefined;
              await storeReport(s);
            }
          } catch (e) {
            metrics.storeErrors.inc({ op: 'heartbeat' });
            logger.warn({ zone: s.identity!.locality.zone, err: describeError(e) }, 'heartbeat could not refresh the lease');
            s.lease = undefined;
          }
        });
        return;
      default:
        return refuse(s, { code: 'MESHFED_E_REPORT_INVALID', message: 'empty message' });
    }
  };

  const handlers: FederationHandlers = {
    Connect(call: Call) {
      const s = new AgentStream(call, now());
      streams.add(s);
      metrics.agentStreams.set(streams.size);
      call.on('data', (m: AgentMessage__Output) => {
        try {
          onMessage(s, m);
        } catch (e) {
          logger.error({ err: describeError(e) }, 'agent message handling failed');
          refuse(s, { code: 'MESHFED_E_REPORT_INVALID', message: 'the message could not be handled' });
        }
      });
      call.on('end', () => close(s));
      call.on('cancelled', () => close(s));
      call.on('error', () => close(s));
      call.on('close', () => close(s));
    },
  };

  return {
    handlers,
    streams: () => [...streams].filter((s) => s.state === 'open').map((s) => ({
      zone: s.identity!.locality.zone,
      agentId: s.identity!.agentId,
      peer: s.call.getPeer(),
      connectedAt: s.connectedAt,
      reports: s.reports,
      lastReportAt: s.lastReportAt,
    })),
    async closeAll() {
      const all = [...streams];
      for (const s of all) close(s);
      await Promise.all(all.map((s) => new Promise<void>((resolve) => s.enqueue(async () => resolve()))));
    },
  };
}
