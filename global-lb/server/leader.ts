// The leader loop: campaign in the store; while leading, recompute weights on every change (debounced and on a
// steady tick, so hold-downs and ramps progress) and write only the tables whose version changed; a new leader resumes
// the engine's memory from the published tables and the old leader's hysteresis record.
import type { Campaign, Fence, Store, Watch } from '../store/store.ts';
import { KEYS } from '../store/store.ts';
import type { Logger } from '../../common/logger.ts';
import { describeError } from '../../common/errors.ts';
import { computeWeights, type EngineState, type FederationSnapshot, type ServiceTable, type ZoneVerdict } from '../weights/index.ts';
import { decodeMemoryRecord, memoryRecord, resumeState, type EngineMemoryRecord } from '../weights/engine-memory.ts';
import type { ReplicaView } from './view.ts';
import { buildSnapshot } from './report.ts';
import { Debouncer } from './debounce.ts';
import type { ServerMetrics } from './metrics.ts';

export interface LeaderOptions {
  readonly store: Store;
  readonly view: ReplicaView;
  readonly replicaId: string;
  /** TTL of the campaign lease: a dead leader is replaced within about this long. */
  readonly leaseTtlSeconds: number;
  /** Recompute at least this often while leading, so time-based engine steps (hold-down, ramps) progress. */
  readonly tickMs: number;
  readonly debounceMinMs: number;
  readonly debounceMaxMs: number;
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  readonly now?: () => number;
}

/**
 * Builds the engine's snapshot from the view: live zones, plus departed zones as not alive with how long ago their
 * lease went (see buildSnapshot). `now` is the leader's clock.
 */
export function snapshotFromView(view: ReplicaView, now: number): FederationSnapshot {
  return buildSnapshot(view.reports, view.departed, (zone) => view.drains.has(zone), now);
}

/**
 * Reason-only rewrites (see LeaderLoop.reasonsStale) are spread so that together they stay under this many writes per
 * second: each table's reasons are at most max(1 s, tables / REASON_WRITES_PER_SECOND s) old. 3 tables: 1 s; 10k: 50 s.
 */
export const REASON_WRITES_PER_SECOND = 200;

/** How stale a table's reasons may get before a reason-only rewrite, with `tables` tables in the round. */
export function reasonRefreshMs(tables: number): number {
  return Math.max(1000, (tables / REASON_WRITES_PER_SECOND) * 1000);
}

/**
 * The largest engine record the leader stores (etcd refuses requests over 1.5 MiB by default). A bigger one is deleted
 * instead, so the next leader falls back to the tables' reasons rather than trusting an old record.
 */
export const MAX_RECORD_BYTES = 1024 * 1024;

/** A hash of a table's reasons (and unavailable reasons), for equality only. */
export function reasonsDigest(table: ServiceTable): number {
  let h = 0x811c9dc5;
  const add = (text: string) => {
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 0x1f, 0x01000193);
  };
  for (const row of table.rows) {
    add(row.unavailableReason ?? '');
    for (const t of row.targets) add(t.reason);
  }
  return h;
}

/**
 * Leadership and the compute loop.
 * States: candidate -> leader -> candidate (on lease loss or store trouble) -> ... ; stopped is final.
 * Invariants: only a leader computes or writes; a new leader's first round starts from resumeState(stored tables,
 * stored engine record) (see docs/global-lb.md); a table is written only when its version differs from the stored
 * one; the engine record is written at most once per round, after that round's tables, and only when it changed.
 */
export class LeaderLoop {
  private readonly o: LeaderOptions;
  private readonly now: () => number;
  private campaign: Campaign | undefined;
  private leading = false;
  private stopped = false;
  private leader: string | undefined;
  private observer: Watch | undefined;
  private state: EngineState | undefined;
  /** False from election until the engine's memory was resumed from the store (first round of a leadership). */
  private resumed = false;
  /** The engine record as last read or written (JSON), so an unchanged one is not written again. */
  private recordText: string | undefined;
  private written = new Map<string, string>();
  /** When each table was last written and a digest of its reasons then, for the reason refresh (see write). */
  private writtenAt = new Map<string, { readonly at: number; readonly reasons: number }>();
  private lastVerdicts: readonly ZoneVerdict[] = [];
  private computed = false;
  private computing = false;
  private again = false;
  private tick: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly debouncer: Debouncer;
  private loopDone: Promise<void> = Promise.resolve();
  private signalStop: () => void = () => undefined;
  /** Resolves once stop() is called; every wait in the loop races it. */
  private readonly stopping: Promise<string>;

  constructor(options: LeaderOptions) {
    this.o = options;
    this.now = options.now ?? Date.now;
    this.stopping = new Promise((resolve) => {
      this.signalStop = () => resolve('stopping');
    });
    this.debouncer = new Debouncer(options.debounceMinMs, options.debounceMaxMs, () => void this.compute(), this.now);
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The current leader's replica id, as observed in the store. */
  leaderId(): string | undefined {
    return this.leader;
  }

  /** True once this replica, while leading, has finished a compute round. */
  firstComputeDone(): boolean {
    return this.computed;
  }

  verdicts(): readonly ZoneVerdict[] {
    return this.lastVerdicts;
  }

  start(): void {
    this.loopDone = this.loop();
    void this.observe();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.signalStop();
    this.stepDown('stopping');
    const c = this.campaign;
    this.campaign = undefined;
    await c?.resign().catch(() => undefined);
    await this.observer?.cancel().catch(() => undefined);
    await this.loopDone.catch(() => undefined);
  }

  private async observe(): Promise<void> {
    let delay = 200;
    while (!this.stopped) {
      try {
        this.observer = await this.o.store.observeLeader(KEYS.election, (id) => {
          this.leader = id;
        });
        if (this.stopped) await this.observer.cancel();
        return;
      } catch (e) {
        this.o.logger.warn({ err: describeError(e) }, 'cannot observe the leader yet; retrying');
        await this.pause(delay);
        delay = Math.min(delay * 2, 2000);
      }
    }
  }

  private async pause(ms: number): Promise<void> {
    let t: NodeJS.Timeout | undefined;
    await Promise.race([new Promise((resolve) => { t = setTimeout(resolve, ms); }), this.stopping]);
    clearTimeout(t);
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let lostReason: string | undefined;
      let signalLost: (reason: string) => void = () => undefined;
      const lost = new Promise<string>((resolve) => {
        signalLost = resolve;
      });
      try {
        const c = this.o.store.campaign(KEYS.election, this.o.replicaId, this.o.leaseTtlSeconds);
        this.campaign = c;
        c.onLost((reason) => {
          lostReason = reason;
          signalLost(reason);
        });
        const first = await Promise.race([c.elected.then(() => 'elected'), lost, this.stopping]);
        if (first === 'elected' && !this.stopped && lostReason === undefined) {
          this.becomeLeader();
          const reason = await Promise.race([lost, this.stopping]);
          this.stepDown(reason);
        }
        if (this.stopped) return;
        await c.resign().catch(() => undefined);
      } catch (e) {
        this.o.logger.warn({ err: describeError(e) }, 'campaign failed; retrying');
      }
      if (!this.stopped) await this.pause(500);
    }
  }

  private becomeLeader(): void {
    this.leading = true;
    this.state = undefined;
    this.resumed = false;
    this.recordText = undefined;
    this.computed = false;
    this.written = new Map([...this.o.view.tables].map(([k, t]) => [k, t.version]));
    // The stored tables' reasons count as fresh: a new leader does not rewrite every table for its reasons at once.
    this.writtenAt = new Map([...this.o.view.tables].map(([k, t]) => [k, { at: this.now(), reasons: reasonsDigest(t) }]));
    this.o.metrics.isLeader.set(1);
    this.o.logger.info({ replicaId: this.o.replicaId }, 'elected leader; computing weights');
    this.unsubscribe = this.o.view.subscribe((change) => {
      if (change.reports || change.drains || change.policies || change.reset) this.debouncer.poke();
    });
    this.tick = setInterval(() => void this.compute(), this.o.tickMs);
    void this.compute();
  }

  private stepDown(reason: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.tick) clearInterval(this.tick);
    this.tick = undefined;
    this.debouncer.cancel();
    this.computed = false;
    this.o.metrics.isLeader.set(0);
    this.o.logger.warn({ replicaId: this.o.replicaId, reason }, 'no longer leader');
  }

  /** One round: snapshot -> engine -> write changed tables. Rounds never overlap; a request during one reruns it. */
  private async compute(): Promise<void> {
    if (!this.leading) return;
    if (this.computing) {
      this.again = true;
      return;
    }
    this.computing = true;
    try {
      do {
        this.again = false;
        if (!this.o.view.synced) break;
        if (!this.resumed) await this.resume();
        if (!this.leading) break;
        const started = performance.now();
        const now = this.now();
        const result = computeWeights(snapshotFromView(this.o.view, now), this.o.view.policies, this.state, now);
        this.o.metrics.computeDuration.observe((performance.now() - started) / 1000);
        this.state = result.state;
        this.lastVerdicts = result.verdicts;
        const ok = await this.write(result.tables);
        if (ok && this.leading) this.computed = true;
        if (ok && this.leading) await this.writeRecord(memoryRecord(result.state, now));
      } while (this.again && this.leading);
    } catch (e) {
      this.o.logger.error({ err: describeError(e) }, 'weight compute failed');
    } finally {
      this.computing = false;
    }
  }

  /**
   * Rebuilds the engine's memory as the last leader left it: damping from the stored tables (the view's mirror), and
   * hold-downs and ramps from the stored engine record; without a readable record, from the tables' reasons.
   */
  private async resume(): Promise<void> {
    let record: EngineMemoryRecord | undefined;
    try {
      const kv = await this.o.store.get(KEYS.engineState);
      if (kv !== undefined) {
        record = decodeMemoryRecord(JSON.parse(kv.value) as unknown);
        if (record === undefined) this.o.logger.warn({ key: KEYS.engineState }, 'stored engine record is not readable; resuming from the tables alone');
        else this.recordText = kv.value;
      }
    } catch (e) {
      this.o.metrics.storeErrors.inc({ op: 'engine-state' });
      this.o.logger.warn({ err: describeError(e) }, 'could not read the engine record; resuming from the tables alone');
    }
    this.state = resumeState(this.o.view.tables.values(), record, this.now());
    this.resumed = true;
    this.o.logger.info({ tables: this.o.view.tables.size, recordedServices: record?.services.length ?? 0, recordedStates: record?.entries.length ?? 0 }, 'resumed engine memory from the store');
  }

  /** Writes the engine record when it changed since the last read or write, fenced like the tables. */
  private async writeRecord(record: EngineMemoryRecord): Promise<void> {
    const text = JSON.stringify(record);
    if (text === this.recordText) return;
    const fence = this.leading ? this.campaign?.fence() : undefined;
    if (!fence) return;
    try {
      const tooBig = Buffer.byteLength(text) > MAX_RECORD_BYTES;
      const r = tooBig ? await this.o.store.deleteFenced(fence, KEYS.engineState) : await this.o.store.putFenced(fence, KEYS.engineState, text);
      if (!r.ok) {
        this.fenceLost('engine record');
        return;
      }
      if (tooBig) this.o.logger.warn({ bytes: Buffer.byteLength(text), max: MAX_RECORD_BYTES }, 'engine record too big to store; deleted it, so a new leader resumes timers from the tables alone');
      this.recordText = text;
    } catch (e) {
      this.o.metrics.storeErrors.inc({ op: 'engine-state' });
      this.o.logger.warn({ err: describeError(e) }, 'could not write the engine record; retrying next round');
    }
  }

  /**
   * Writes the tables whose version changed and deletes vanished ones, each fenced by this replica's leadership: a
   * leader whose lease is gone (paused, partitioned, or slow to notice) cannot land a stale table.
   */
  private async write(tables: ReadonlyMap<string, ServiceTable>): Promise<boolean> {
    let allOk = true;
    const fenced = (): Fence | undefined => (this.leading ? this.campaign?.fence() : undefined);
    for (const [key, table] of tables) {
      const fence = fenced();
      if (!fence) return false;
      if (this.written.get(key) === table.version && !this.reasonsStale(key, table, tables.size)) continue;
      try {
        const r = await this.o.store.putFenced(fence, KEYS.weight(table.namespace, table.name), JSON.stringify(table));
        if (!r.ok) return this.fenceLost(key);
        this.written.set(key, table.version);
        this.writtenAt.set(key, { at: this.now(), reasons: reasonsDigest(table) });
        this.o.metrics.tablesWritten.inc();
      } catch (e) {
        allOk = false;
        this.o.metrics.storeErrors.inc({ op: 'weights' });
        this.o.logger.warn({ service: key, err: describeError(e) }, 'could not write weight table; retrying next round');
      }
    }
    for (const key of [...this.written.keys()]) {
      if (tables.has(key)) continue;
      const fence = fenced();
      if (!fence) return false;
      const [ns, name] = key.split('/') as [string, string];
      try {
        const r = await this.o.store.deleteFenced(fence, KEYS.weight(ns, name));
        if (!r.ok) return this.fenceLost(key);
        this.written.delete(key);
        this.writtenAt.delete(key);
      } catch (e) {
        allOk = false;
        this.o.metrics.storeErrors.inc({ op: 'weights' });
        this.o.logger.warn({ service: key, err: describeError(e) }, 'could not delete weight table');
      }
    }
    return allOk;
  }

  /**
   * A table's version covers what the data plane acts on (shares, tiers, panic), not its reasons, so a round that only
   * changes why (e.g. demand now measured, a zone now held down) writes nothing. Reasons are what `--explain` shows,
   * so a table whose reasons changed is written again once its last write is reasonRefreshMs old: explanations are
   * at most that stale, and reason-only writes stay under REASON_WRITES_PER_SECOND in total.
   */
  private reasonsStale(key: string, table: ServiceTable, tables: number): boolean {
    const last = this.writtenAt.get(key);
    if (last === undefined) return true;
    if (this.now() - last.at < reasonRefreshMs(tables)) return false;
    return reasonsDigest(table) !== last.reasons;
  }

  /** The store refused a fenced write: this replica no longer leads, whatever it has not noticed yet. */
  private fenceLost(service: string): false {
    this.o.metrics.fencedWrites.inc();
    this.o.logger.warn({ service, code: 'MESHFED_E_STORE_FENCED' }, 'a fenced write was refused: no longer leader; stepping down');
    this.stepDown('fenced write refused (MESHFED_E_STORE_FENCED)');
    return false;
  }
}
