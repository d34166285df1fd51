// The embedded in-memory Store: etcd's semantics (revisions, versions, leases with TTL, watch history) in one process.
import { err, ok } from '../../common/errors.ts';
import type { Result } from '../../common/errors.ts';
import type {
  Fence,
  FenceLost,
  Campaign,
  CasConflict,
  KeyValue,
  Lease,
  PutOptions,
  Store,
  StoreHealth,
  Watch,
  WatchEvent,
  WatchOptions,
} from './store.ts';
import { campaignOn, observeLeaderOn } from './election.ts';
import { storeError } from './errors.ts';

/** The time source of the memory store; tests inject a fake one to expire leases without waiting. */
export interface StoreClock {
  now(): number;
  /** Runs fn after ms; returns a function that cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
}

/** The wall clock; its timers do not keep the process alive. */
export const realClock: StoreClock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};

export interface MemoryStoreOptions {
  readonly clock?: StoreClock;
  /** How many past revisions of events are kept for watches that start in the past. Default 10000. */
  readonly historyRevisions?: number;
}

interface LeaseRecord {
  readonly id: string;
  readonly ttlSeconds: number;
  expiresAt: number;
  cancelTimer: () => void;
  readonly keys: Set<string>;
  readonly lostListeners: (() => void)[];
  lost: boolean;
}

interface Watcher {
  readonly prefix: string;
  readonly fromRevision: number;
  readonly onEvents: (events: readonly WatchEvent[]) => void;
  active: boolean;
}

/**
 * The embedded store.
 * Invariant: `revision` is the revision of the last write; every write transaction increments it by one, and all
 * events of one transaction (e.g. the deletes of an expiring lease) carry that revision.
 * Invariant: `history` holds the events of revisions (compactedRevision, revision], in order.
 * Invariant: a key with a lease is in that lease's `keys`, and the lease exists.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  private readonly clock: StoreClock;
  private readonly historyRevisions: number;
  private revision = 1;
  private compactedRevision = 1;
  private readonly data = new Map<string, KeyValue>();
  private readonly leases = new Map<string, LeaseRecord>();
  private readonly history: { readonly revision: number; readonly events: readonly WatchEvent[] }[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly keepAliveTimers = new Set<() => void>();
  private nextLeaseId = 0x7e11_0000;
  private closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.clock = options.clock ?? realClock;
    this.historyRevisions = options.historyRevisions ?? 10_000;
  }

  /** The revision of the last write. */
  currentRevision(): number {
    return this.revision;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.checkOpen();
    return this.data.get(key);
  }

  async put(key: string, value: string, options: PutOptions = {}): Promise<number> {
    this.checkOpen();
    this.checkLease(options.lease);
    return this.write(key, value, options.lease);
  }

  async delete(key: string): Promise<boolean> {
    this.checkOpen();
    if (!this.data.has(key)) return false;
    this.commit(this.removeKeys([key]));
    return true;
  }

  async list(prefix: string): Promise<{ readonly items: readonly KeyValue[]; readonly revision: number }> {
    this.checkOpen();
    const items = [...this.data.values()].filter((kv) => kv.key.startsWith(prefix)).sort(byKey);
    return { items, revision: this.revision };
  }

  async compareAndSwap(
    key: string,
    expectedVersion: number,
    value: string,
    options: PutOptions = {},
  ): Promise<Result<number, CasConflict>> {
    this.checkOpen();
    const current = this.data.get(key);
    if ((current?.version ?? 0) !== expectedVersion) return err({ code: 'MESHFED_E_STORE_CONFLICT', current });
    this.checkLease(options.lease);
    return ok(this.write(key, value, options.lease));
  }

  async compareAndDelete(key: string, expectedVersion: number): Promise<Result<number, CasConflict>> {
    this.checkOpen();
    const current = this.data.get(key);
    if (current === undefined || current.version !== expectedVersion) {
      return err({ code: 'MESHFED_E_STORE_CONFLICT', current });
    }
    this.commit(this.removeKeys([key]));
    return ok(this.revision);
  }

  async putFenced(fence: Fence, key: string, value: string): Promise<Result<number, FenceLost>> {
    this.checkOpen();
    if (this.data.get(fence.key)?.createRevision !== fence.createRevision) return err({ code: 'MESHFED_E_STORE_FENCED', fence });
    return ok(this.write(key, value, undefined));
  }

  async deleteFenced(fence: Fence, key: string): Promise<Result<boolean, FenceLost>> {
    this.checkOpen();
    if (this.data.get(fence.key)?.createRevision !== fence.createRevision) return err({ code: 'MESHFED_E_STORE_FENCED', fence });
    if (!this.data.has(key)) return ok(false);
    this.commit(this.removeKeys([key]));
    return ok(true);
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    this.checkOpen();
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
      throw storeError('MESHFED_E_STORE_INVALID', `lease TTL must be a whole number of seconds >= 1, got ${ttlSeconds}`);
    }
    const id = (this.nextLeaseId++).toString();
    const record: LeaseRecord = {
      id,
      ttlSeconds,
      expiresAt: this.clock.now() + ttlSeconds * 1000,
      cancelTimer: () => undefined,
      keys: new Set(),
      lostListeners: [],
      lost: false,
    };
    this.leases.set(id, record);
    this.armExpiry(record);
    return this.leaseHandle(record);
  }

  async watchPrefix(
    prefix: string,
    onEvents: (events: readonly WatchEvent[]) => void,
    options: WatchOptions = {},
  ): Promise<Watch> {
    this.checkOpen();
    const from = options.fromRevision;
    const watcher: Watcher = { prefix, fromRevision: from ?? this.revision + 1, onEvents, active: true };
    if (from !== undefined && from <= this.compactedRevision) {
      const e = storeError(
        'MESHFED_E_STORE_COMPACTED',
        `revision ${from} was compacted (oldest kept is ${this.compactedRevision + 1}); relist and watch again`,
      );
      queueMicrotask(() => options.onError?.(e));
      return { cancel: async () => undefined };
    }
    if (from !== undefined && from <= this.revision) {
      // Replay in a microtask queued before any later write's delivery, so history and live events stay in order.
      const past = this.history.filter((h) => h.revision >= from);
      queueMicrotask(() => {
        for (const h of past) this.deliver(watcher, h.events);
      });
    }
    this.watchers.add(watcher);
    return {
      cancel: async () => {
        watcher.active = false;
        this.watchers.delete(watcher);
      },
    };
  }

  campaign(election: string, candidateId: string, ttlSeconds: number): Campaign {
    return campaignOn(this, election, candidateId, ttlSeconds);
  }

  observeLeader(election: string, onChange: (leaderId: string | undefined) => void): Promise<Watch> {
    return observeLeaderOn(this, election, onChange);
  }

  async health(): Promise<StoreHealth> {
    return this.closed ? { ok: false, error: 'store closed' } : { ok: true, latencyMs: 0 };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.watchers) w.active = false;
    this.watchers.clear();
    for (const stop of this.keepAliveTimers) stop();
    this.keepAliveTimers.clear();
    for (const l of this.leases.values()) l.cancelTimer();
  }

  /** Drops history up to and including revision, as etcd's compaction does; later watches from it fail. */
  compact(revision: number): void {
    this.compactedRevision = Math.max(this.compactedRevision, Math.min(revision, this.revision));
    while (this.history.length > 0 && this.history[0]!.revision <= this.compactedRevision) this.history.shift();
  }

  private checkOpen(): void {
    if (this.closed) throw storeError('MESHFED_E_STORE_CLOSED', 'the memory store is closed');
  }

  private checkLease(lease: string | undefined): void {
    if (lease !== undefined && !this.leases.has(lease)) {
      throw storeError('MESHFED_E_STORE_LEASE_LOST', `lease ${lease} does not exist (expired or revoked)`);
    }
  }

  private write(key: string, value: string, lease: string | undefined): number {
    const rev = this.revision + 1;
    const prev = this.data.get(key);
    if (prev?.lease !== undefined && prev.lease !== lease) this.leases.get(prev.lease)?.keys.delete(key);
    if (lease !== undefined) this.leases.get(lease)!.keys.add(key);
    const kv: KeyValue = Object.freeze({
      key,
      value,
      version: (prev?.version ?? 0) + 1,
      modRevision: rev,
      createRevision: prev?.createRevision ?? rev,
      ...(lease === undefined ? {} : { lease }),
    });
    this.data.set(key, kv);
    this.commit([{ type: 'put', key, value, version: kv.version, modRevision: rev }]);
    return rev;
  }

  /** Removes keys in one transaction; returns their delete events at the next revision. */
  private removeKeys(keys: readonly string[]): WatchEvent[] {
    const rev = this.revision + 1;
    const events: WatchEvent[] = [];
    for (const key of keys) {
      const prev = this.data.get(key);
      if (prev === undefined) continue;
      if (prev.lease !== undefined) this.leases.get(prev.lease)?.keys.delete(key);
      this.data.delete(key);
      events.push({ type: 'delete', key, modRevision: rev });
    }
    return events;
  }

  private commit(events: readonly WatchEvent[]): void {
    if (events.length === 0) return;
    this.revision = events[0]!.modRevision;
    const frozen = Object.freeze(events.map((e) => Object.freeze(e)));
    this.history.push({ revision: this.revision, events: frozen });
    if (this.history.length > this.historyRevisions) this.compact(this.history[0]!.revision);
    for (const w of this.watchers) queueMicrotask(() => this.deliver(w, frozen));
  }

  private deliver(watcher: Watcher, events: readonly WatchEvent[]): void {
    if (!watcher.active) return;
    const mine = events.filter((e) => e.modRevision >= watcher.fromRevision && e.key.startsWith(watcher.prefix));
    if (mine.length > 0) watcher.onEvents(mine);
  }

  private armExpiry(record: LeaseRecord): void {
    record.cancelTimer();
    const ms = Math.max(0, record.expiresAt - this.clock.now());
    record.cancelTimer = this.clock.setTimer(ms, () => {
      if (this.clock.now() >= record.expiresAt) this.endLease(record);
      else this.armExpiry(record);
    });
  }

  private endLease(record: LeaseRecord): void {
    if (!this.leases.has(record.id)) return;
    record.cancelTimer();
    this.leases.delete(record.id);
    this.commit(this.removeKeys([...record.keys].sort()));
    this.markLost(record);
  }

  private markLost(record: LeaseRecord): void {
    if (record.lost) return;
    record.lost = true;
    for (const l of record.lostListeners.splice(0)) queueMicrotask(l);
  }

  private leaseHandle(record: LeaseRecord): Lease {
    let stopKeepAlive: (() => void) | undefined;
    const keepAliveOnce = async (): Promise<boolean> => {
      if (this.closed || !this.leases.has(record.id)) {
        this.markLost(record);
        return false;
      }
      record.expiresAt = this.clock.now() + record.ttlSeconds * 1000;
      this.armExpiry(record);
      return true;
    };
    const stop = (): void => {
      if (stopKeepAlive === undefined) return;
      stopKeepAlive();
      this.keepAliveTimers.delete(stopKeepAlive);
      stopKeepAlive = undefined;
    };
    return {
      id: record.id,
      ttlSeconds: record.ttlSeconds,
      keepAliveOnce,
      startKeepAlive: () => {
        if (stopKeepAlive !== undefined || record.lost) return;
        const tick = (): void => {
          cancel = this.clock.setTimer((record.ttlSeconds * 1000) / 3, () => {
            void keepAliveOnce().then((alive) => (alive ? tick() : stop()));
          });
        };
        let cancel = (): void => undefined;
        stopKeepAlive = () => cancel();
        this.keepAliveTimers.add(stopKeepAlive);
        tick();
      },
      revoke: async () => {
        stop();
        if (this.closed) return;
        this.endLease(record);
        this.markLost(record);
      },
      onLost: (listener) => {
        if (record.lost) queueMicrotask(listener);
        else record.lostListeners.push(listener);
      },
    };
  }
}

function byKey(a: KeyValue, b: KeyValue): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}
