// The dashboard's side of the admin listener: the static page under /ui/, the /v1/events change stream, the share
// history, the service index with search and paging, the replica list and the chaos report list.
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { join, resolve } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Store } from '../store/store.ts';
import { KEYS } from '../store/store.ts';
import { electionPrefix } from '../store/election.ts';
import type { ServiceTable } from '../weights/index.ts';
import type { ReplicaView, ViewChange } from './view.ts';
import { ShareHistory } from './share-history.ts';
import { SseHub } from './sse.ts';

/** Where the page's files live in the repo. */
export const UI_DIR = resolve(import.meta.dirname, '..', 'ui');

/** The chaos report directory used when none is configured: where `meshfed chaos run` writes by default. */
export const DEFAULT_CHAOS_REPORTS_DIR = 'chaos-reports';

/** What the dashboard reads from the replica. */
export interface DashboardDeps {
  readonly store: Store;
  readonly view: ReplicaView;
  readonly replicaId: string;
  readonly leaderId: () => string | undefined;
  /** Where `meshfed chaos run` reports live (one sub-directory per run, each with report.html and journal.json). */
  readonly chaosReportsDir?: string;
  readonly now?: () => number;
  /** How long changes are gathered before one `change` event goes out (default 100 ms). */
  readonly coalesceMs?: number;
}

/** A routed answer: a JSON body with its status, or 'sent' when the handler wrote the response itself. */
export type DashboardAnswer = [number, unknown] | 'sent' | undefined;

/** An error the admin router turns into its JSON error body. */
export class DashboardError extends Error {
  readonly status: number;
  readonly code: 'MESHFED_E_ADMIN_NOT_FOUND' | 'MESHFED_E_ADMIN_BAD_REQUEST';
  constructor(status: 404 | 400, message: string) {
    super(message);
    this.status = status;
    this.code = status === 404 ? 'MESHFED_E_ADMIN_NOT_FOUND' : 'MESHFED_E_ADMIN_BAD_REQUEST';
  }
}

/** One entry of /v1/services. */
export interface ServiceSummary {
  readonly service: string;
  readonly version: string;
  readonly computedAt: number;
  readonly sources: number;
  readonly panic: boolean;
  /** Source rows no zone can serve. */
  readonly unavailable: number;
}

/** Filters (substring, case-insensitive) and pages the services; pure. */
export function pageServices(tables: Iterable<ServiceTable>, q: string, offset: number, limit: number): { total: number; services: ServiceSummary[] } {
  const needle = q.trim().toLowerCase();
  const all = [...tables].filter((t) => needle === '' || t.service.toLowerCase().includes(needle)).sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  return {
    total: all.length,
    services: all.slice(offset, offset + limit).map((t) => ({
      service: t.service, version: t.version, computedAt: t.computedAt, sources: t.rows.length,
      panic: t.rows.some((r) => r.panic), unavailable: t.rows.filter((r) => r.unavailableReason !== undefined).length,
    })),
  };
}

const STATIC_TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml' };

/**
 * Reads a page file. `name.js` with no such file but a `name.ts` beside it is that TypeScript with its types stripped:
 * the page's pure model is TypeScript (type-checked and unit-tested with the rest) and the browser gets plain JS.
 */
function staticFile(dir: string, name: string): { type: string; body: string } | undefined {
  const m = /^([a-z0-9-]+)\.(html|js|css|svg)$/.exec(name);
  if (!m) return undefined;
  const path = join(dir, name);
  if (existsSync(path)) return { type: STATIC_TYPES[m[2]!]!, body: readFileSync(path, 'utf8') };
  const ts = join(dir, `${m[1]}.ts`);
  if (m[2] !== 'js' || !existsSync(ts)) return undefined;
  // Node marks stripTypeScriptTypes experimental and warns once per process; the warning is noise in the replica's log.
  const emit = process.emitWarning;
  process.emitWarning = () => undefined;
  try {
    return { type: STATIC_TYPES['js']!, body: stripTypeScriptTypes(readFileSync(ts, 'utf8'), { mode: 'strip' }) };
  } finally {
    process.emitWarning = emit;
  }
}

/** One run in the chaos report directory. */
export interface ChaosRun {
  readonly name: string;
  readonly scenario: string;
  readonly startedAt: string;
  readonly result: string;
  readonly quick: boolean;
  readonly url: string;
}

/** Lists the runs under `dir` that have a report.html, newest first; reads only each run's journal.json head fields. */
export function listChaosRuns(dir: string): ChaosRun[] {
  if (!existsSync(dir)) return [];
  const runs: ChaosRun[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory() || !existsSync(join(dir, e.name, 'report.html'))) continue;
    let journal: { scenario?: { name?: string }; startedAt?: string; result?: string; quick?: boolean } = {};
    try {
      journal = JSON.parse(readFileSync(join(dir, e.name, 'journal.json'), 'utf8')) as typeof journal;
    } catch {
      // A run without a readable journal is still listed, by its report's time.
    }
    runs.push({
      name: e.name,
      scenario: journal.scenario?.name ?? e.name,
      startedAt: journal.startedAt ?? statSync(join(dir, e.name, 'report.html')).mtime.toISOString(),
      result: journal.result ?? 'unknown',
      quick: journal.quick ?? false,
      url: `/v1/chaos/reports/${encodeURIComponent(e.name)}/report.html`,
    });
  }
  return runs.sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1));
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new DashboardError(400, `${what}: "${text.slice(0, 80)}" is not valid percent-encoding`);
  }
}

function intParam(url: URL, name: string, dflt: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new DashboardError(400, `${name}: "${raw.slice(0, 20)}" is not a whole number between 0 and ${max}`);
  return n;
}

/** The dashboard of one replica: owns the history, the event hub and its view subscription. */
export class Dashboard {
  readonly history = new ShareHistory();
  readonly hub = new SseHub();
  private readonly deps: DashboardDeps;
  private readonly now: () => number;
  private readonly unsubscribe: () => void;
  private pending: { services: Set<string>; zones: boolean; reset: boolean } | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly leaderTimer: NodeJS.Timeout;
  private lastLeader: string | undefined;
  private seq = 0;

  constructor(deps: DashboardDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
    for (const t of deps.view.tables.values()) this.history.recordTable(t, this.now());
    this.history.recordDrains(deps.view.drains, this.now());
    this.unsubscribe = deps.view.subscribe((c) => this.onChange(c));
    // The leader loop has no listener; a change of leader is noticed here within half a second.
    this.lastLeader = deps.leaderId();
    this.leaderTimer = setInterval(() => {
      const id = this.deps.leaderId();
      if (id !== this.lastLeader) {
        this.lastLeader = id;
        this.hub.broadcast({ event: 'leader', data: { leaderId: id ?? null } });
      }
    }, 500);
    this.leaderTimer.unref();
  }

  /** Answers a dashboard route, or undefined when the path is not one. */
  async route(method: string, url: URL, parts: readonly string[], req: IncomingMessage, res: ServerResponse): Promise<DashboardAnswer> {
    if (parts[0] === 'ui') return this.serveUi(method, url, parts, res);
    if (parts[0] !== 'v1') return undefined;
    if (method !== 'GET') return undefined;
    const { view } = this.deps;
    switch (parts[1]) {
      case 'events':
        if (parts.length !== 2) return undefined;
        this.hub.open(res, { event: 'hello', retryMs: 1000, data: { replicaId: this.deps.replicaId, leaderId: this.deps.leaderId() ?? null, revision: view.revision } });
        req.socket.setTimeout(0);
        return 'sent';
      case 'services':
        if (parts.length !== 2) return undefined;
        return [200, pageServices(view.tables.values(), url.searchParams.get('q') ?? '', intParam(url, 'offset', 0, 1_000_000), intParam(url, 'limit', 50, 500))];
      case 'history': {
        if (parts.length !== 4) return undefined;
        const service = `${decode(parts[2]!, 'namespace')}/${decode(parts[3]!, 'service')}`;
        if (!view.tables.has(service)) throw new DashboardError(404, `no weight table for ${service}`);
        return [200, this.history.series(service, this.now())];
      }
      case 'replicas':
        if (parts.length !== 2) return undefined;
        return [200, await this.replicas()];
      case 'chaos':
        return this.chaos(parts, res);
      default:
        return undefined;
    }
  }

  /** Stops listening to the view and ends every stream. */
  close(): void {
    this.unsubscribe();
    clearInterval(this.leaderTimer);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.hub.close();
  }

  /** Every replica campaigning for leadership (each one does, leader or not), oldest campaign (the leader) first. */
  private async replicas(): Promise<{ replicas: { id: string; leader: boolean; self: boolean }[] }> {
    const { items } = await this.deps.store.list(electionPrefix(KEYS.election));
    const sorted = [...items].sort((a, b) => a.createRevision - b.createRevision);
    return { replicas: sorted.map((kv, i) => ({ id: kv.value, leader: i === 0, self: kv.value === this.deps.replicaId })) };
  }

  private serveUi(method: string, url: URL, parts: readonly string[], res: ServerResponse): DashboardAnswer {
    if (method !== 'GET' && method !== 'HEAD') return undefined;
    if (parts.length === 1 && !url.pathname.endsWith('/')) {
      res.writeHead(302, { location: '/ui/' });
      res.end();
      return 'sent';
    }
    const name = parts.length === 1 ? 'index.html' : parts.length === 2 ? parts[1]! : '';
    const file = staticFile(UI_DIR, name);
    if (!file) throw new DashboardError(404, `no page file ${url.pathname}`);
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
    res.end(method === 'HEAD' ? undefined : file.body);
    return 'sent';
  }

  private chaos(parts: readonly string[], res: ServerResponse): DashboardAnswer {
    const dir = resolve(this.deps.chaosReportsDir ?? DEFAULT_CHAOS_REPORTS_DIR);
    if (parts[2] !== 'reports') return undefined;
    if (parts.length === 3) return [200, { dir, configured: this.deps.chaosReportsDir !== undefined, runs: listChaosRuns(dir) }];
    if (parts.length !== 5 || parts[4] !== 'report.html') return undefined;
    const run = decode(parts[3]!, 'run');
    // Only a name listed by listChaosRuns is served, so no path can leave the directory.
    if (!listChaosRuns(dir).some((r) => r.name === run)) throw new DashboardError(404, `no chaos run "${run.slice(0, 80)}" in ${dir}`);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' });
    createReadStream(join(dir, run, 'report.html')).pipe(res);
    return 'sent';
  }

  private onChange(c: ViewChange): void {
    const now = this.now();
    for (const s of c.tables) {
      const t = this.deps.view.tables.get(s);
      if (t) this.history.recordTable(t, now);
      else this.history.forget(s);
    }
    if (c.drains) this.history.recordDrains(this.deps.view.drains, now);
    const p = (this.pending ??= { services: new Set(), zones: false, reset: false });
    for (const s of c.tables) p.services.add(s);
    p.zones ||= c.reports || c.drains;
    p.reset ||= c.reset;
    this.flushTimer ??= setTimeout(() => this.flush(), this.deps.coalesceMs ?? 100);
  }

  /** Sends the gathered changes as one event; a long list of services is sent as "all" (the page refetches what it shows). */
  private flush(): void {
    this.flushTimer = undefined;
    const p = this.pending;
    this.pending = undefined;
    if (!p) return;
    const all = p.reset || p.services.size > 200;
    this.hub.broadcast({
      event: 'change',
      id: String(++this.seq),
      data: { revision: this.deps.view.revision, services: all ? [] : [...p.services].sort(), all, zones: p.zones, at: this.now() },
    });
  }
}
