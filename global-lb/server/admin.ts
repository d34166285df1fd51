// The admin HTTP API (JSON): status, zones, weights, policies, drains, health, Prometheus metrics and the dashboard.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Store } from '../store/store.ts';
import { KEYS } from '../store/store.ts';
import type { Logger } from '../../common/logger.ts';
import { describeError, MeshfedError } from '../../common/errors.ts';
import { isLocalitySegment } from '../../api/locality.ts';
import { validatePolicy } from '../../api/policy.ts';
import type { ZoneVerdict } from '../weights/index.ts';
import type { ReplicaView } from './view.ts';
import type { AgentStreamInfo } from './federation.ts';
import type { ServerMetrics } from './metrics.ts';
import type { StoredZoneReport } from './report.ts';
import { Dashboard, DashboardError } from './dashboard.ts';
import { bundleFromValue, bundleToJson } from '../../trust/bundle.ts';
import { verifyBundle } from '../../trust/bundle-signature.ts';
import { admitAdmin, type AdminAuth } from '../../common/admin-auth.ts';

/** Largest request body the admin API reads; a policy is a few kB. */
export const MAX_ADMIN_BODY_BYTES = 256 * 1024;

/** What the admin API reads from the rest of the replica. */
export interface AdminDeps {
  /** Who may call (--admin-tokens); checked before any route. */
  readonly auth?: AdminAuth | undefined;
  readonly store: Store;
  readonly view: ReplicaView;
  readonly replicaId: string;
  readonly metrics: ServerMetrics;
  readonly logger: Logger;
  readonly isLeader: () => boolean;
  readonly leaderId: () => string | undefined;
  readonly firstComputeDone: () => boolean;
  readonly verdicts: () => readonly ZoneVerdict[];
  readonly streams: () => AgentStreamInfo[];
  readonly now?: () => number;
  /** Where the dashboard lists chaos reports from (default ./chaos-reports, see dashboard.ts). */
  readonly chaosReportsDir?: string;
}

/** One zone as /v1/zones shows it. */
export interface ZoneView {
  readonly zone: string;
  readonly cloud: string;
  readonly region: string;
  readonly network: string;
  readonly cluster: string;
  readonly gatewayAddress: string;
  readonly alive: boolean;
  readonly drained: boolean;
  /** Alive, not drained, and (when this replica leads) eligible for at least one service or reporting none. */
  readonly eligible: boolean;
  readonly reportAgeSeconds: number | undefined;
  readonly services: number;
  /** Per-service verdicts that say the zone is out; only the leader knows them. */
  readonly outFor: readonly { readonly service: string; readonly reason: string }[];
  /**
   * Requests the zone's own sidecars failed over its last report's window (injected faults, overflow, refusals, no
   * endpoint, local deadline), summed over services. They count against nobody's health, so they are shown here.
   */
  readonly localFailures: LocalFailureCounts;
  /** The window those counts cover, in seconds. */
  readonly windowSeconds: number;
  /** For a zone whose agent lease is gone: seconds since (it stays in, stale, for the engine's grace period). */
  readonly agentLostSeconds?: number;
}

/** Local (client-side) failures by class. */
export interface LocalFailureCounts {
  readonly fault_injected: number;
  readonly overflow: number;
  readonly denied: number;
  readonly no_endpoint: number;
  readonly timeout: number;
}

/** Sums a report's local failures over its services. */
export function localFailuresOf(report: StoredZoneReport | undefined): LocalFailureCounts {
  const sum = { fault_injected: 0, overflow: 0, denied: 0, no_endpoint: 0, timeout: 0 };
  for (const a of report?.report.asked ?? []) {
    for (const k of Object.keys(sum) as (keyof LocalFailureCounts)[]) sum[k] += Number(a.local?.[k] ?? 0);
  }
  return sum;
}

class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: readonly string[];
  constructor(status: number, code: string, message: string, details: readonly string[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

const SEGMENT = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/;

/**
 * Decodes one path segment. Every route decodes through here, because decodeURIComponent throws on a malformed
 * escape (`%E0%A4%A`) and a thrown URIError would otherwise surface as a 500 instead of the client's mistake.
 */
function decodeSegment(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new HttpError(400, 'MESHFED_E_ADMIN_BAD_REQUEST', `${what}: "${text.slice(0, 80)}" is not valid percent-encoding (escape bytes as %XX of UTF-8)`);
  }
}

function segment(text: string, what: string): string {
  const decoded = decodeSegment(text, what);
  if (!SEGMENT.test(decoded)) throw new HttpError(400, 'MESHFED_E_ADMIN_BAD_REQUEST', `${what}: "${decoded.slice(0, 80)}" is not a valid name`);
  return decoded;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ADMIN_BODY_BYTES) throw new HttpError(413, 'MESHFED_E_ADMIN_BODY_TOO_LARGE', `request body exceeds ${MAX_ADMIN_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new HttpError(400, 'MESHFED_E_ADMIN_BAD_REQUEST', `body is not valid JSON: ${(e as Error).message}`);
  }
}

/** Zones as the replica sees them, merging live reports, departed zones and drains. */
export function zoneViews(view: ReplicaView, verdicts: readonly ZoneVerdict[], leader: boolean, now: number): ZoneView[] {
  const names = new Set([...view.reports.keys(), ...view.departed.keys(), ...view.drains]);
  const byZone = new Map<string, ZoneVerdict[]>();
  for (const v of verdicts) {
    const list = byZone.get(v.zone) ?? [];
    list.push(v);
    byZone.set(v.zone, list);
  }
  return [...names].sort().map((zone) => {
    const live = view.reports.get(zone);
    const report = live ?? view.departed.get(zone)?.last;
    const alive = live !== undefined;
    const drained = view.drains.has(zone);
    const vs = byZone.get(zone) ?? [];
    const outFor = vs.filter((v) => !v.eligible).map((v) => ({ service: v.service, reason: v.reason }));
    const eligibleSomewhere = vs.length === 0 || vs.some((v) => v.eligible);
    return {
      zone,
      cloud: report?.identity.locality.cloud ?? '',
      region: report?.identity.locality.region ?? '',
      network: report?.identity.network ?? '',
      cluster: report?.identity.cluster ?? '',
      gatewayAddress: report?.identity.gatewayAddress ?? '',
      alive,
      drained,
      eligible: alive && !drained && (!leader || eligibleSomewhere),
      reportAgeSeconds: report ? Math.max(0, (now - report.receivedAt) / 1000) : undefined,
      services: report?.report.services.length ?? 0,
      outFor,
      localFailures: localFailuresOf(live),
      windowSeconds: live ? live.report.window_ms / 1000 : 0,
      ...(!alive && view.departed.has(zone) ? { agentLostSeconds: Math.max(0, (now - view.departed.get(zone)!.departedAt) / 1000) } : {}),
    };
  });
}

/** Refreshes the scrape-time gauges (weights, eligibility, report ages) from the view. */
export function refreshGauges(deps: AdminDeps): void {
  const { metrics, view } = deps;
  const now = (deps.now ?? Date.now)();
  metrics.weightBasisPoints.reset();
  for (const table of view.tables.values()) {
    for (const row of table.rows) {
      for (const t of row.targets) metrics.weightBasisPoints.set({ service: table.service, source_zone: row.sourceZone, target_zone: t.zone }, t.basisPoints);
    }
  }
  metrics.zoneEligible.reset();
  metrics.reportAge.reset();
  for (const z of zoneViews(view, deps.verdicts(), deps.isLeader(), now)) {
    metrics.zoneEligible.set({ zone: z.zone }, z.eligible ? 1 : 0);
    if (z.alive && z.reportAgeSeconds !== undefined) metrics.reportAge.set({ zone: z.zone }, z.reportAgeSeconds);
  }
  metrics.isLeader.set(deps.isLeader() ? 1 : 0);
  metrics.agentStreams.set(deps.streams().length);
}

/** Routes one request; createAdminServer wraps it with error handling. */
async function route(deps: AdminDeps, dashboard: Dashboard, req: IncomingMessage, res: ServerResponse): Promise<[number, unknown] | undefined> {
  const target = req.url ?? '/';
  let url: URL;
  try {
    // An origin-form target is appended to the base so a leading "//" stays a path rather than becoming a host.
    url = target.startsWith('/') ? new URL(`http://admin${target}`) : new URL(target, 'http://admin');
  } catch {
    throw new HttpError(400, 'MESHFED_E_ADMIN_BAD_REQUEST', `"${target.slice(0, 80)}" is not a valid request path`);
  }
  const parts = url.pathname.split('/').filter((p) => p !== '');
  const method = req.method ?? 'GET';
  const { store, view } = deps;
  const now = (deps.now ?? Date.now)();
  const methodNotAllowed = (allowed: string) => {
    res.setHeader('allow', allowed);
    return new HttpError(405, 'MESHFED_E_ADMIN_BAD_REQUEST', `${method} is not allowed here (allowed: ${allowed})`);
  };

  if (url.pathname === '/healthz') return [200, { ok: true }];
  if (url.pathname === '/readyz') {
    const health = await store.health();
    const leaderReady = !deps.isLeader() || deps.firstComputeDone();
    const ready = health.ok && view.synced && leaderReady;
    return [ready ? 200 : 503, { ready, store: health, synced: view.synced, leader: deps.isLeader(), firstComputeDone: deps.firstComputeDone() }];
  }
  if (url.pathname === '/metrics') {
    refreshGauges(deps);
    res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
    res.end(await deps.metrics.registry.metrics());
    return undefined;
  }
  const page = await dashboard.route(method, url, parts, req, res);
  if (page === 'sent') return undefined;
  if (page) return page;
  if (parts[0] !== 'v1') throw new HttpError(404, 'MESHFED_E_ADMIN_NOT_FOUND', `no route ${url.pathname}`);

  if (parts[1] === 'status' && parts.length === 2) {
    if (method !== 'GET') throw methodNotAllowed('GET');
    const health = await store.health();
    return [200, {
      replicaId: deps.replicaId,
      leader: deps.isLeader(),
      leaderId: deps.leaderId() ?? null,
      store: { kind: store.kind, ...health },
      synced: view.synced,
      revision: view.revision,
      agents: deps.streams(),
      zones: view.reports.size,
      tables: view.tables.size,
      policies: view.policies.size,
      invalidPolicies: Object.fromEntries(view.invalidPolicies),
    }];
  }
  if (parts[1] === 'zones') {
    if (parts.length === 2) {
      if (method !== 'GET') throw methodNotAllowed('GET');
      const zones = zoneViews(view, deps.verdicts(), deps.isLeader(), now);
      // ?outForLimit=N keeps the answer small where zones are out for hundreds of services (the dashboard polls it).
      const limitText = url.searchParams.get('outForLimit');
      if (limitText === null) return [200, { zones }];
      const limit = Number(limitText);
      if (!Number.isInteger(limit) || limit < 0) throw new HttpError(400, 'MESHFED_E_ADMIN_BAD_REQUEST', `outForLimit: "${limitText.slice(0, 20)}" is not a whole number`);
      return [200, { zones: zones.map((z) => ({ ...z, outFor: z.outFor.slice(0, limit), outForTotal: z.outFor.length })) }];
    }
    if (parts.length === 4 && (parts[3] === 'drain' || parts[3] === 'undrain')) {
      if (method !== 'POST') throw methodNotAllowed('POST');
      const zone = decodeSegment(parts[2]!, 'zone');
      if (!isLocalitySegment(zone)) throw new HttpError(400, 'MESHFED_E_ADMIN_BAD_REQUEST', `zone: "${zone.slice(0, 80)}" is not a zone name (lowercase letters, digits, dashes)`);
      const known = view.reports.has(zone) || view.departed.has(zone);
      if (parts[3] === 'drain') await store.put(KEYS.zoneDrain(zone), JSON.stringify({ drainedAt: now, by: deps.replicaId }));
      else await store.delete(KEYS.zoneDrain(zone));
      return [200, { zone, drained: parts[3] === 'drain', known }];
    }
  }
  if (parts[1] === 'weights') {
    if (method !== 'GET') throw methodNotAllowed('GET');
    if (parts.length === 2) {
      const tables = [...view.tables.values()].sort((a, b) => (a.service < b.service ? -1 : 1));
      return [200, { tables }];
    }
    if (parts.length === 4) {
      const key = `${segment(parts[2]!, 'namespace')}/${segment(parts[3]!, 'service')}`;
      const table = view.tables.get(key);
      if (!table) throw new HttpError(404, 'MESHFED_E_ADMIN_NOT_FOUND', `no weight table for ${key} (no zone reports the service yet, or no leader has computed)`);
      return [200, table];
    }
  }
  if (parts[1] === 'policies') {
    if (parts.length === 2) {
      if (method !== 'GET') throw methodNotAllowed('GET');
      return [200, { policies: [...view.policies.values()] }];
    }
    if (parts.length === 4) {
      const ns = segment(parts[2]!, 'namespace');
      const name = segment(parts[3]!, 'service');
      const key = KEYS.policy(ns, name);
      if (method === 'GET') {
        const kv = await store.get(key);
        if (!kv) throw new HttpError(404, 'MESHFED_E_ADMIN_NOT_FOUND', `no policy for ${ns}/${name} (the default policy applies)`);
        return [200, { policy: JSON.parse(kv.value) as unknown, version: kv.version }];
      }
      if (method === 'PUT') {
        const body = await readJson(req);
        if (body === undefined) throw new HttpError(400, 'MESHFED_E_POLICY_INVALID', 'body is empty; send the policy as JSON');
        const withNames = body !== null && typeof body === 'object' && !Array.isArray(body)
          ? { namespace: ns, name, ...(body as Record<string, unknown>) }
          : body;
        let policy;
        try {
          policy = validatePolicy(withNames, `policy ${ns}/${name}`);
        } catch (e) {
          if (e instanceof MeshfedError) throw new HttpError(400, 'MESHFED_E_POLICY_INVALID', e.message, e.details);
          throw e;
        }
        if (policy.namespace !== ns || policy.name !== name) {
          throw new HttpError(400, 'MESHFED_E_POLICY_INVALID', `policy ${ns}/${name}: namespace/name in the body (${policy.namespace}/${policy.name}) must match the URL`);
        }
        // The input is stored, not the defaulted output: keeping what the operator wrote lets defaults improve later.
        const revision = await store.put(key, JSON.stringify(withNames));
        return [200, { policy: withNames, revision }];
      }
      if (method === 'DELETE') {
        const existed = await store.delete(key);
        if (!existed) throw new HttpError(404, 'MESHFED_E_ADMIN_NOT_FOUND', `no policy for ${ns}/${name}`);
        return [200, { deleted: `${ns}/${name}` }];
      }
      throw methodNotAllowed('GET, PUT, DELETE');
    }
  }
  if (parts[1] === 'trust' && parts[2] === 'bundle' && parts.length === 3) {
    if (method === 'GET') {
      const kv = await store.get(KEYS.trustBundle);
      if (!kv) throw new HttpError(404, 'MESHFED_E_ADMIN_NOT_FOUND', 'no trust bundle is stored (agents and sidecars trust the roots of their CA directories)');
      return [200, { bundle: JSON.parse(kv.value) as unknown, revision: kv.version }];
    }
    if (method === 'PUT') return [200, await putBundle(store, await readJson(req), now)];
    throw methodNotAllowed('GET, PUT');
  }
  throw new HttpError(404, 'MESHFED_E_ADMIN_NOT_FOUND', `no route ${method} ${url.pathname}`);
}

/**
 * Stores a signed bundle (`meshfed trust publish`). Agents and sidecars verify it against what they trust; the
 * store is no authority (whoever writes etcd could have written what is there), so this refuses only what no
 * receiver could take: a bundle that does not parse, carries no signature or no root, or whose signature, when it
 * names one of the bundle's own roots, does not verify.
 */
async function putBundle(store: Store, body: unknown, now: number): Promise<{ version: string; issuedAt: string; signer: string; revision: number }> {
  let bundle;
  try {
    bundle = bundleFromValue(body, 'bundle');
  } catch (e) {
    if (e instanceof MeshfedError) throw new HttpError(400, 'MESHFED_E_TRUST_BUNDLE_INVALID', e.message, e.details);
    throw e;
  }
  const verdict = verifyBundle(bundle, { roots: bundle.roots }, new Date(now));
  const selfSigned = bundle.signature?.signer.startsWith('root:') ?? false;
  if (!verdict.ok && (selfSigned || verdict.code !== 'MESHFED_E_TRUST_BUNDLE_SIGNER_UNKNOWN')) throw new HttpError(400, verdict.code, verdict.message);
  const revision = await store.put(KEYS.trustBundle, bundleToJson(bundle));
  return { version: bundle.version, issuedAt: bundle.issuedAt!, signer: bundle.signature!.signer, revision };
}

/** Creates (does not listen) the admin server. Every error is a JSON body with a code. */
export function createAdminServer(deps: AdminDeps): Server {
  const dashboard = new Dashboard({
    store: deps.store, view: deps.view, replicaId: deps.replicaId, leaderId: deps.leaderId,
    ...(deps.chaosReportsDir !== undefined ? { chaosReportsDir: deps.chaosReportsDir } : {}),
    ...(deps.now ? { now: deps.now } : {}),
  });
  const server = createServer((req, res) => {
    if (!admitAdmin(deps.auth, req, res)) return;
    route(deps, dashboard, req, res).then(
      (out) => {
        if (!out) return;
        const [status, body] = out;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body) + '\n');
      },
      (e: unknown) => {
        let status = 500, code = 'MESHFED_E_INTERNAL', message = describeError(e), details: readonly string[] = [];
        if (e instanceof HttpError) ({ status, code, message, details } = e);
        else if (e instanceof DashboardError) ({ status, code, message } = e);
        else if (e instanceof MeshfedError && e.code.startsWith('MESHFED_E_STORE')) ({ status, code, message } = { status: 503, code: e.code, message: e.message });
        else deps.logger.error({ err: describeError(e), url: req.url }, 'admin request failed');
        if (res.headersSent) return res.destroy();
        res.writeHead(status, { 'content-type': 'application/json', ...(status === 413 ? { connection: 'close' } : {}) });
        res.end(JSON.stringify({ error: { code, message, details } }) + '\n');
      },
    );
  });
  server.on('close', () => dashboard.close());
  return server;
}
