// Every replica's in-memory mirror of the store (reports, drains, policies, weight tables, trust bundle),
// kept current by one prefix watch, relisted when the watch cannot resume, and gated after a cold start.
import type { Store, Watch, WatchEvent } from '../store/store.ts';
import { KEYS } from '../store/store.ts';
import type { Logger } from '../../common/logger.ts';
import { describeError } from '../../common/errors.ts';
import { validatePolicy, type Policy } from '../../api/policy.ts';
import type { ServiceTable } from '../weights/index.ts';
import type { TrustBundle } from '../../api/generated/meshfed/v1/TrustBundle.ts';
import { bundleFromValue, bundleToProto } from '../../trust/bundle.ts';
import { parseStoredReport, type StoredZoneReport } from './report.ts';

/** What changed in one batch of store events. */
export interface ViewChange {
  readonly reports: boolean;
  readonly drains: boolean;
  readonly policies: boolean;
  /** Service keys ("ns/name") whose table was written or deleted. */
  readonly tables: ReadonlySet<string>;
  readonly trust: boolean;
  /** True after a relist: every consumer should treat everything as changed. */
  readonly reset: boolean;
}

/** A zone whose report key was deleted (lease revoked or expired); remembered so it can be shown as dead. */
export interface DepartedZone {
  readonly last: StoredZoneReport;
  readonly departedAt: number;
}

type Route =
  | { kind: 'report'; zone: string }
  | { kind: 'drain'; zone: string }
  | { kind: 'policy'; service: string }
  | { kind: 'table'; service: string }
  | { kind: 'trust' }
  | { kind: 'other' };

/** Maps a store key onto what it holds (KEYS layout). */
export function routeKey(key: string): Route {
  if (key === KEYS.trustBundle) return { kind: 'trust' };
  if (key.startsWith(KEYS.zones)) {
    const m = /^([^/]+)\/(report|drain)$/.exec(key.slice(KEYS.zones.length));
    if (m) return m[2] === 'report' ? { kind: 'report', zone: m[1]! } : { kind: 'drain', zone: m[1]! };
  }
  for (const [prefix, kind] of [[KEYS.policies, 'policy'], [KEYS.weights, 'table']] as const) {
    if (key.startsWith(prefix)) {
      const m = /^([^/]+)\/([^/]+)$/.exec(key.slice(prefix.length));
      if (m) return { kind, service: `${m[1]}/${m[2]}` };
    }
  }
  return { kind: 'other' };
}

/**
 * Parses a stored trust bundle: the bundle file format of trust/bundle.ts (validated there), or else the proto's
 * snake_case JSON. Undefined when it holds no roots.
 */
export function parseTrustBundle(text: string): TrustBundle | undefined {
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    if ('roots' in v && 'trustDomain' in v) {
      try {
        const b = bundleToProto(bundleFromValue(v, KEYS.trustBundle));
        return (b.root_pems ?? []).length > 0 ? b : undefined;
      } catch {
        return undefined;
      }
    }
    const strings = (a: unknown): string[] => (Array.isArray(a) ? a.filter((x): x is string => typeof x === 'string') : []);
    const roots = strings(v['root_pems'] ?? v['rootPems'] ?? v['roots']);
    if (roots.length === 0) return undefined;
    return {
      trust_domain: String(v['trust_domain'] ?? v['trustDomain'] ?? ''),
      root_pems: roots,
      aliases: strings(v['aliases']),
      revoked_serials: strings(v['revoked_serials'] ?? v['revokedSerials']),
      version: String(v['version'] ?? ''),
    };
  } catch {
    return undefined;
  }
}

/** How long a replica waits, after its first read of the store, for the zones it knew to report again (default). */
export const DEFAULT_COLD_START_GRACE_MS = 10_000;

/** What the cold-start gate decides from: the zones to wait for, which of them reported again, and the clock. */
export interface ColdStartInput {
  /** The zones the store knew at this replica's first read: stored tables' source zones and stored reports' zones. */
  readonly known: ReadonlySet<string>;
  /** Zones whose report was written after that read (by any replica). */
  readonly reported: ReadonlySet<string>;
  /** When the first read of the store succeeded (unix ms). */
  readonly syncedAt: number;
  readonly graceMs: number;
}

/** Whether a replica may compute and publish from its mirror yet. */
export type ColdStartVerdict =
  | { readonly open: true; readonly reason: 'nothing-known' | 'all-reported' | 'grace-elapsed'; readonly missing: readonly string[] }
  | { readonly open: false; readonly waitingFor: readonly string[]; readonly deadline: number };

/**
 * The cold-start publish gate. A replica's mirror right after it starts holds only the zones that already reported to
 * a live replica; after a full control-plane outage that is a partial set, and a Directory or weight tables built
 * from it would replace the agents' complete last good state. So nothing is published until every zone the store
 * knew has reported again, or `graceMs` passed since the first read (a zone that never returns is gone).
 * With nothing known (a fresh federation) the gate is open at once; with live replicas around every zone re-reports
 * within one report interval, so a warm restart waits about that long.
 */
export function coldStartVerdict(input: ColdStartInput, now: number): ColdStartVerdict {
  const missing = [...input.known].filter((z) => !input.reported.has(z)).sort();
  if (input.known.size === 0) return { open: true, reason: 'nothing-known', missing };
  if (missing.length === 0) return { open: true, reason: 'all-reported', missing };
  const deadline = input.syncedAt + input.graceMs;
  if (now >= deadline) return { open: true, reason: 'grace-elapsed', missing };
  return { open: false, waitingFor: missing, deadline };
}

/** The zones a store listing knows of: every stored table's source zones and every stored report's zone. */
export function knownZones(tables: Iterable<Pick<ServiceTable, 'rows'>>, reportZones: Iterable<string>): Set<string> {
  const out = new Set<string>(reportZones);
  for (const t of tables) for (const row of t.rows) out.add(row.sourceZone);
  return out;
}

/** The gate's state, as /v1/status-style diagnostics can show it. */
export interface ColdStartStatus {
  readonly open: boolean;
  readonly reason: string;
  readonly waitingFor: readonly string[];
  readonly known: readonly string[];
}

function parseTable(text: string): ServiceTable | undefined {
  try {
    const v = JSON.parse(text) as ServiceTable;
    if (!v || typeof v.version !== 'string' || !Array.isArray(v.rows) || typeof v.namespace !== 'string' || typeof v.name !== 'string') return undefined;
    return v;
  } catch {
    return undefined;
  }
}

/**
 * The replica's mirror of the store. Invariant: after start() resolves, the maps reflect every event up to
 * the last delivered revision; a watch error triggers a full relist, announced as a `reset` change.
 */
export class ReplicaView {
  readonly reports = new Map<string, StoredZoneReport>();
  readonly departed = new Map<string, DepartedZone>();
  readonly drains = new Set<string>();
  readonly policies = new Map<string, Policy>();
  /** Policies whose stored value no longer validates (e.g. after a schema change), by service, with why. */
  readonly invalidPolicies = new Map<string, string>();
  readonly tables = new Map<string, ServiceTable>();
  trust: TrustBundle | undefined;
  /** The revision the mirror is current to. */
  revision = 0;

  private readonly store: Store;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly graceMs: number;
  /** The mirror reflects a full listing (the old meaning of `synced`). */
  private mirrored = false;
  /** Set at the first successful listing; the gate latches open and never closes again. */
  private gate: { known: Set<string>; reported: Set<string>; syncedAt: number; revision: number; open: boolean; reason: string } | undefined;
  private gateTimer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(change: ViewChange) => void>();
  private watch: Watch | undefined;
  private stopped = false;
  private resyncing = false;

  private readonly onWatchLost: () => void;

  constructor(store: Store, logger: Logger, now: () => number = Date.now, options: { readonly coldStartGraceMs?: number; readonly onWatchLost?: () => void } = {}) {
    this.store = store;
    this.logger = logger;
    this.now = now;
    this.graceMs = options.coldStartGraceMs ?? DEFAULT_COLD_START_GRACE_MS;
    this.onWatchLost = options.onWatchLost ?? (() => undefined);
  }

  /**
   * True once the mirror is current AND the cold-start gate is open (see coldStartVerdict). Nothing is computed from
   * the mirror (leader) or published from it (Directory, weight tables) before; /readyz says not ready meanwhile.
   */
  get synced(): boolean {
    return this.mirrored && this.gate?.open === true;
  }

  /** The cold-start gate, for diagnostics; undefined before the first listing. */
  coldStart(): ColdStartStatus | undefined {
    const g = this.gate;
    if (!g) return undefined;
    const v = coldStartVerdict({ known: g.known, reported: g.reported, syncedAt: g.syncedAt, graceMs: this.graceMs }, this.now());
    return { open: g.open, reason: g.reason, waitingFor: v.open ? [] : v.waitingFor, known: [...g.known].sort() };
  }

  /** Registers a listener for every batch of changes; returns an unsubscribe function. */
  subscribe(listener: (change: ViewChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Lists the store, then watches from the next revision. Retries until the store answers or stop() is called. */
  async start(): Promise<void> {
    await this.resync();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.gateTimer) clearTimeout(this.gateTimer);
    await this.watch?.cancel().catch(() => undefined);
  }

  private async resync(): Promise<void> {
    if (this.resyncing || this.stopped) return;
    this.resyncing = true;
    try {
      let delay = 200;
      for (;;) {
        if (this.stopped) return;
        try {
          await this.watch?.cancel().catch(() => undefined);
          this.watch = undefined;
          const { items, revision } = await this.store.list(KEYS.root);
          const before = new Map(this.reports);
          this.reports.clear();
          this.drains.clear();
          this.policies.clear();
          this.invalidPolicies.clear();
          this.tables.clear();
          this.trust = undefined;
          for (const kv of items) this.apply({ type: 'put', key: kv.key, value: kv.value, version: kv.version, modRevision: kv.modRevision });
          const at = this.now();
          for (const [zone, last] of before) {
            if (!this.reports.has(zone)) this.departed.set(zone, { last, departedAt: at });
          }
          this.revision = revision;
          this.armGate(items, revision);
          this.watch = await this.store.watchPrefix(KEYS.root, (events) => this.onEvents(events), {
            fromRevision: revision + 1,
            onError: (e) => {
              this.onWatchLost();
              this.logger.warn({ err: describeError(e) }, 'store watch cannot resume; relisting');
              void this.resync();
            },
          });
          this.mirrored = true;
          this.checkGate();
          this.emitReset();
          return;
        } catch (e) {
          this.logger.warn({ err: describeError(e), retryInMs: delay }, 'store list/watch failed; retrying');
          await new Promise((r) => setTimeout(r, delay));
          delay = Math.min(delay * 2, 2000);
        }
      }
    } finally {
      this.resyncing = false;
    }
  }

  private onEvents(events: readonly WatchEvent[]): void {
    let reports = false, drains = false, policies = false, trust = false;
    const tables = new Set<string>();
    for (const e of events) {
      if (e.modRevision <= this.revision && this.mirrored) continue;
      const route = this.apply(e);
      this.revision = Math.max(this.revision, e.modRevision);
      if (route.kind === 'report') {
        reports = true;
        if (e.type === 'put' && this.gate && e.modRevision > this.gate.revision) this.gate.reported.add(route.zone);
      }
      else if (route.kind === 'drain') drains = true;
      else if (route.kind === 'policy') policies = true;
      else if (route.kind === 'table') tables.add(route.service);
      else if (route.kind === 'trust') trust = true;
    }
    if (reports || drains || policies || trust || tables.size > 0) this.emit({ reports, drains, policies, tables, trust, reset: false });
    if (reports && this.checkGate()) this.emitReset();
  }

  private emitReset(): void {
    this.emit({ reports: true, drains: true, policies: true, tables: new Set(this.tables.keys()), trust: true, reset: true });
  }

  /**
   * At the first listing: records the zones to wait for. At a later relist while still waiting: counts the reports
   * written since the first listing (their events may have been lost with the watch).
   */
  private armGate(items: readonly { readonly key: string; readonly modRevision: number }[], revision: number): void {
    const reportsIn = items.map((kv) => ({ route: routeKey(kv.key), modRevision: kv.modRevision }));
    if (!this.gate) {
      const zones = reportsIn.flatMap((r) => (r.route.kind === 'report' ? [r.route.zone] : []));
      this.gate = { known: knownZones(this.tables.values(), zones), reported: new Set(), syncedAt: this.now(), revision, open: false, reason: '' };
      return;
    }
    const g = this.gate;
    for (const r of reportsIn) if (r.route.kind === 'report' && r.modRevision > g.revision) g.reported.add(r.route.zone);
  }

  /**
   * Opens the gate when the verdict says so and returns true (the caller then announces a reset, so every consumer
   * computes and publishes); else arms a timer for the grace deadline and returns false.
   */
  private checkGate(): boolean {
    const g = this.gate;
    if (!g || g.open || this.stopped) return false;
    const v = coldStartVerdict({ known: g.known, reported: g.reported, syncedAt: g.syncedAt, graceMs: this.graceMs }, this.now());
    if (!v.open) {
      if (!this.gateTimer) {
        this.logger.info({ waitingFor: v.waitingFor, graceMs: this.graceMs }, 'cold start: waiting for known zones to report before computing or publishing');
        this.gateTimer = setTimeout(() => {
          this.gateTimer = undefined;
          if (this.checkGate() && this.mirrored) this.emitReset();
        }, Math.max(0, v.deadline - this.now()) + 1);
        this.gateTimer.unref();
      }
      return false;
    }
    g.open = true;
    g.reason = v.reason;
    if (this.gateTimer) clearTimeout(this.gateTimer);
    this.gateTimer = undefined;
    const log = v.reason === 'grace-elapsed' ? this.logger.warn.bind(this.logger) : this.logger.info.bind(this.logger);
    if (v.reason !== 'nothing-known') log({ reason: v.reason, missing: v.missing, afterMs: this.now() - g.syncedAt }, 'cold start over: computing and publishing');
    return true;
  }

  private apply(e: WatchEvent): Route {
    const route = routeKey(e.key);
    const value = e.type === 'put' ? e.value : undefined;
    switch (route.kind) {
      case 'report': {
        const parsed = value === undefined ? undefined : parseStoredReport(value);
        if (parsed) {
          this.reports.set(route.zone, parsed);
          this.departed.delete(route.zone);
        } else {
          const last = this.reports.get(route.zone);
          this.reports.delete(route.zone);
          if (last) this.departed.set(route.zone, { last, departedAt: this.now() });
        }
        break;
      }
      case 'drain':
        if (value === undefined) this.drains.delete(route.zone);
        else this.drains.add(route.zone);
        break;
      case 'policy': {
        this.policies.delete(route.service);
        this.invalidPolicies.delete(route.service);
        if (value !== undefined) {
          try {
            this.policies.set(route.service, validatePolicy(JSON.parse(value), `policy ${route.service}`));
          } catch (err) {
            this.invalidPolicies.set(route.service, describeError(err));
            this.logger.error({ service: route.service, err: describeError(err) }, 'stored policy is invalid; using the default policy');
          }
        }
        break;
      }
      case 'table': {
        const parsed = value === undefined ? undefined : parseTable(value);
        if (parsed) this.tables.set(route.service, parsed);
        else this.tables.delete(route.service);
        break;
      }
      case 'trust':
        this.trust = value === undefined ? undefined : parseTrustBundle(value);
        break;
      case 'other':
        break;
    }
    return route;
  }

  private emit(change: ViewChange): void {
    for (const l of this.listeners) {
      try {
        l(change);
      } catch (e) {
        this.logger.error({ err: describeError(e) }, 'view listener failed');
      }
    }
  }
}
