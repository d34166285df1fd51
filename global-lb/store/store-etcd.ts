// The Store on a real etcd cluster through the etcd3 client: timeouts on every call, exactly-once watch resumption.
import { Etcd3, EtcdLeaseInvalidError } from 'etcd3';
import type { IKeyValue, IOptions, IWatchResponse, Lease as EtcdLease, Watcher } from 'etcd3';
import { err, ok } from '../../common/errors.ts';
import type { Result } from '../../common/errors.ts';
import { MeshfedError, describeError } from '../../common/errors.ts';
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
import type { EtcdAuth } from './etcd-credentials.ts';

/** TLS material for an etcd that serves https (PEM). Without `ca`, the system roots verify the members. */
export interface EtcdTls {
  readonly ca?: string | Buffer;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
}

export interface EtcdStoreOptions {
  /** Client URLs of the cluster, e.g. ["http://127.0.0.1:2379"]. */
  readonly endpoints: readonly string[];
  readonly tls?: EtcdTls;
  /** An etcd user, for a cluster with auth enabled. */
  readonly auth?: EtcdAuth;
  /** Upper bound on each unary call (get, put, txn, lease grant/revoke/keep-alive, watch creation). Default 5000 ms. */
  readonly callTimeoutMs?: number;
  /**
   * How often gRPC pings an idle connection, so a frozen etcd breaks open watch streams instead of leaving them
   * silent forever. Default 10000 ms; etcd rejects pings more frequent than its --grpc-keepalive-min-time (5 s).
   */
  readonly keepaliveMs?: number;
}

/** How many times in a row a watch stream may end without delivering an event before the watch gives up. */
const STALLED_RESUMES = 5;

/**
 * The etcd-backed store.
 * Invariant: every unary call settles within callTimeoutMs, as a value or a MeshfedError with a store code.
 * Invariant: each watch delivers events with strictly increasing revisions, each exactly once, across reconnects:
 * it remembers the last delivered revision, resumes from the one after, and drops anything at or below it.
 */
export class EtcdStore implements Store {
  readonly kind = 'etcd';
  readonly endpoints: readonly string[];
  private readonly client: Etcd3;
  private readonly callTimeoutMs: number;
  private readonly leases = new Set<EtcdLeaseHandle>();
  private readonly watches = new Set<Watcher>();
  private closed = false;

  constructor(options: EtcdStoreOptions) {
    if (options.endpoints.length === 0) throw storeError('MESHFED_E_STORE_INVALID', 'EtcdStore needs at least one endpoint');
    this.endpoints = Object.freeze([...options.endpoints]);
    this.callTimeoutMs = options.callTimeoutMs ?? 5_000;
    const keepaliveMs = options.keepaliveMs ?? 10_000;
    const timeout = this.callTimeoutMs;
    const config: IOptions = {
      hosts: [...options.endpoints],
      dialTimeout: timeout,
      // Streams (watch, keep-alive) live long and must not carry a deadline; unary calls must.
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: new Date(Date.now() + timeout) }),
      grpcOptions: {
        // Reconnect quickly once etcd is back: the default backoff grows to two minutes.
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1_000,
        'grpc.keepalive_time_ms': keepaliveMs,
        'grpc.keepalive_timeout_ms': Math.max(1_000, Math.min(5_000, keepaliveMs)),
        'grpc.keepalive_permit_without_calls': 1,
        // A watch catching up replays history in responses far larger than grpc-js's default 4 MiB receive limit
        // (150 tables of 40 KB is 6 MB); past it the stream ends, etcd3 resumes at the same place, and it never
        // catches up. etcd bounds what it sends; the client must not refuse it.
        'grpc.max_receive_message_length': -1,
      },
      faultHandling: {
        // etcd3's default breaker refuses calls for 5 s after three failures, which delays recovery after a restart.
        host: () => passThrough,
        global: passThrough,
      },
    };
    if (options.auth !== undefined) config.auth = { username: options.auth.username, password: options.auth.password };
    if (options.tls !== undefined) {
      config.credentials = {
        // etcd3 hands this to grpc's createSsl, where no root certificate means the system roots.
        rootCertificate: (options.tls.ca === undefined ? undefined : Buffer.from(options.tls.ca)) as Buffer,
        ...(options.tls.key === undefined ? {} : { privateKey: Buffer.from(options.tls.key) }),
        ...(options.tls.cert === undefined ? {} : { certChain: Buffer.from(options.tls.cert) }),
      };
    }
    this.client = new Etcd3(config);
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const res = await this.call(`get ${key}`, () => this.client.get(key).exec());
    const kv = res.kvs[0];
    return kv === undefined ? undefined : toKeyValue(kv);
  }

  async put(key: string, value: string, options: PutOptions = {}): Promise<number> {
    const res = await this.call(`put ${key}`, () => {
      const b = this.client.put(key).value(value);
      if (options.lease !== undefined) b.lease(options.lease);
      return b.exec();
    });
    return Number(res.header.revision);
  }

  async delete(key: string): Promise<boolean> {
    const res = await this.call(`delete ${key}`, () => this.client.delete().key(key).exec());
    return Number(res.deleted) > 0;
  }

  async list(prefix: string): Promise<{ readonly items: readonly KeyValue[]; readonly revision: number }> {
    const res = await this.call(`list ${prefix}`, () => this.client.getAll().prefix(prefix).sort('Key', 'Ascend').exec());
    return { items: res.kvs.map(toKeyValue), revision: Number(res.header.revision) };
  }

  async compareAndSwap(
    key: string,
    expectedVersion: number,
    value: string,
    options: PutOptions = {},
  ): Promise<Result<number, CasConflict>> {
    const res = await this.call(`compare-and-swap ${key}`, () => {
      const put = this.client.put(key).value(value);
      if (options.lease !== undefined) put.lease(options.lease);
      return this.client.if(key, 'Version', '==', expectedVersion).then(put).else(this.client.get(key)).commit();
    });
    if (res.succeeded) return ok(Number(res.header.revision));
    const kv = res.responses[0]?.response_range?.kvs[0];
    return err({ code: 'MESHFED_E_STORE_CONFLICT', current: kv === undefined ? undefined : toKeyValue(kv) });
  }

  async compareAndDelete(key: string, expectedVersion: number): Promise<Result<number, CasConflict>> {
    // etcd compares an absent key as version 0; the contract deletes only existing keys.
    if (expectedVersion < 1) return err({ code: 'MESHFED_E_STORE_CONFLICT', current: await this.get(key) });
    const res = await this.call(`compare-and-delete ${key}`, () =>
      this.client
        .if(key, 'Version', '==', expectedVersion)
        .then(this.client.delete().key(key))
        .else(this.client.get(key))
        .commit(),
    );
    if (res.succeeded) return ok(Number(res.header.revision));
    const kv = res.responses[0]?.response_range?.kvs[0];
    return err({ code: 'MESHFED_E_STORE_CONFLICT', current: kv === undefined ? undefined : toKeyValue(kv) });
  }

  async putFenced(fence: Fence, key: string, value: string): Promise<Result<number, FenceLost>> {
    const res = await this.call(`fenced put ${key}`, () =>
      this.client.if(fence.key, 'Create', '==', fence.createRevision).then(this.client.put(key).value(value)).commit(),
    );
    return res.succeeded ? ok(Number(res.header.revision)) : err({ code: 'MESHFED_E_STORE_FENCED', fence });
  }

  async deleteFenced(fence: Fence, key: string): Promise<Result<boolean, FenceLost>> {
    const res = await this.call(`fenced delete ${key}`, () =>
      this.client.if(fence.key, 'Create', '==', fence.createRevision).then(this.client.delete().key(key)).commit(),
    );
    if (!res.succeeded) return err({ code: 'MESHFED_E_STORE_FENCED', fence });
    return ok(Number(res.responses[0]?.response_delete_range?.deleted ?? 0) > 0);
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
      throw storeError('MESHFED_E_STORE_INVALID', `lease TTL must be a whole number of seconds >= 1, got ${ttlSeconds}`);
    }
    this.checkOpen();
    const lease = this.client.lease(ttlSeconds, { autoKeepAlive: false });
    try {
      const id = await this.call(`grant lease (ttl ${ttlSeconds}s)`, () => lease.grant());
      const handle = new EtcdLeaseHandle(this, lease, id, ttlSeconds);
      this.leases.add(handle);
      return handle;
    } catch (e) {
      lease.release();
      throw e;
    }
  }

  async watchPrefix(
    prefix: string,
    onEvents: (events: readonly WatchEvent[]) => void,
    options: WatchOptions = {},
  ): Promise<Watch> {
    // Learn the current revision first, so "start after now" is a concrete revision we can resume from.
    let last = options.fromRevision !== undefined
      ? options.fromRevision - 1
      : Number((await this.call('read revision', () => this.client.get(prefix).exec())).header.revision);
    let cancelled = false;
    let connected = false;
    const builder = this.client.watch().prefix(prefix).startRevision(String(last + 1));
    const watcher = builder.watcher();
    this.watches.add(watcher);
    watcher.on('data', (res: IWatchResponse) => {
      if (cancelled) return;
      const events: WatchEvent[] = [];
      for (const ev of res.events) {
        const rev = Number(ev.kv.mod_revision);
        // A resumed stream may replay what we already delivered; the last delivered revision is the fence.
        if (rev <= last) continue;
        events.push(
          ev.type === 'Put'
            ? { type: 'put', key: ev.kv.key.toString(), value: ev.kv.value.toString(), version: Number(ev.kv.version), modRevision: rev }
            : { type: 'delete', key: ev.kv.key.toString(), modRevision: rev },
        );
      }
      if (events.length === 0) return;
      last = events[events.length - 1]!.modRevision;
      onEvents(events);
    });
    // etcd3 resumes from the last *header* revision it saw, which can skip events when the stream drops while a
    // watch from the past is still catching up. Resume from our own fence instead.
    // A stream that keeps ending without delivering anything is stuck (etcd3 would resume it forever): past
    // STALLED_RESUMES, the watch ends with onError, so its owner relists from a fresh revision.
    let resumesWithoutProgress = 0;
    let lastAtDisconnect = last;
    watcher.on('disconnected', () => {
      (watcher.request as { start_revision?: string | number }).start_revision = String(last + 1);
      resumesWithoutProgress = last === lastAtDisconnect ? resumesWithoutProgress + 1 : 1;
      lastAtDisconnect = last;
      if (resumesWithoutProgress < STALLED_RESUMES || cancelled || !connected) return;
      cancelled = true;
      this.watches.delete(watcher);
      void watcher.cancel().catch(() => undefined);
      options.onError?.(storeError('MESHFED_E_STORE_UNAVAILABLE', `watch of ${prefix} ended ${resumesWithoutProgress} times without delivering anything from revision ${last + 1}; relist and watch again`));
    });
    watcher.on('error', (e: Error) => {
      // Errors before the watch is created reject watchPrefix instead.
      if (cancelled || !connected) return;
      cancelled = true;
      this.watches.delete(watcher);
      // etcd3 drops the compact_revision of the cancel response, so ask etcd whether our resume point still exists.
      const from = last + 1;
      void this.call('probe compaction', () => this.client.get(prefix).revision(from).exec()).then(
        () => false,
        (probe: unknown) => /compact/i.test(describeError(probe)),
      ).then((compacted) => {
        options.onError?.(
          compacted
            ? storeError('MESHFED_E_STORE_COMPACTED', `watch of ${prefix} from revision ${from} was compacted; relist and watch again`, e)
            : storeError('MESHFED_E_STORE_UNAVAILABLE', `watch of ${prefix} was cancelled by etcd (${e.message}); relist and watch again`, e),
        );
      });
    });
    const cancel = async (): Promise<void> => {
      if (!this.watches.has(watcher)) return;
      cancelled = true;
      this.watches.delete(watcher);
      await withTimeout(watcher.cancel(), this.callTimeoutMs, 'cancel watch').catch(() => undefined);
    };
    try {
      await this.call(`watch ${prefix}`, () =>
        new Promise<void>((resolve, reject) => {
          watcher.once('connected', () => resolve());
          watcher.once('error', reject);
        }),
      );
    } catch (e) {
      await cancel();
      throw e;
    }
    connected = true;
    return { cancel };
  }

  campaign(election: string, candidateId: string, ttlSeconds: number): Campaign {
    return campaignOn(this, election, candidateId, ttlSeconds);
  }

  observeLeader(election: string, onChange: (leaderId: string | undefined) => void): Promise<Watch> {
    return observeLeaderOn(this, election, onChange);
  }

  async health(): Promise<StoreHealth> {
    const started = performance.now();
    try {
      await this.call('health read', () => this.client.get('/meshfed/v1/health').exec(), Math.min(this.callTimeoutMs, 2_000));
      return { ok: true, latencyMs: Math.round((performance.now() - started) * 100) / 100 };
    } catch (e) {
      return { ok: false, latencyMs: Math.round(performance.now() - started), error: describeError(e) };
    }
  }

  /** Compacts etcd's history up to revision (watches from older revisions then fail). Used by tests and operators. */
  async compact(revision: number): Promise<void> {
    await this.call(`compact ${revision}`, () => this.client.kv.compact({ revision: String(revision), physical: true }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const l of this.leases) l.stopKeepAlive();
    this.leases.clear();
    await Promise.all(
      [...this.watches].map((w) => withTimeout(w.cancel(), 1_000, 'cancel watch').catch(() => undefined)),
    );
    this.watches.clear();
    this.closed = true;
    this.client.close();
  }

  /** @internal Runs one unary call with the timeout, mapping failures to store codes. */
  async call<T>(what: string, op: () => Promise<T>, timeoutMs = this.callTimeoutMs): Promise<T> {
    this.checkOpen();
    try {
      return await withTimeout(op(), timeoutMs, what);
    } catch (e) {
      throw this.mapError(what, e);
    }
  }

  /** @internal */
  forget(lease: EtcdLeaseHandle): void {
    this.leases.delete(lease);
  }

  private checkOpen(): void {
    if (this.closed) throw storeError('MESHFED_E_STORE_CLOSED', 'the etcd store is closed');
  }

  private mapError(what: string, e: unknown): MeshfedError {
    if (e instanceof MeshfedError) return e;
    const message = describeError(e);
    if (e instanceof EtcdLeaseInvalidError || /lease not found/i.test(message)) {
      return storeError('MESHFED_E_STORE_LEASE_LOST', `${what}: the lease no longer exists (expired or revoked)`, e);
    }
    return storeError('MESHFED_E_STORE_UNAVAILABLE', `${what}: etcd at ${this.endpoints.join(',')} failed: ${message}`, e);
  }
}

/**
 * A lease with our own keep-alive loop (etcd3's auto keep-alive gives up silently and has no call timeout).
 * Invariant: `lost` becomes true once and then never changes; listeners fire once at that moment.
 * Invariant: while keeping alive, a lease not refreshed for a full TTL is presumed expired and reported lost,
 * because etcd may have deleted its keys already and the holder must stop acting on them.
 */
class EtcdLeaseHandle implements Lease {
  readonly id: string;
  readonly ttlSeconds: number;
  private readonly store: EtcdStore;
  private readonly lease: EtcdLease;
  private lost = false;
  private lastRefresh = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private keeping = false;
  private readonly listeners: (() => void)[] = [];

  constructor(store: EtcdStore, lease: EtcdLease, id: string, ttlSeconds: number) {
    this.store = store;
    this.lease = lease;
    this.id = id;
    this.ttlSeconds = ttlSeconds;
  }

  async keepAliveOnce(): Promise<boolean> {
    if (this.lost) return false;
    const sentAt = Date.now();
    try {
      const ms = Math.min(5_000, this.ttlSeconds * 1_000);
      // The deadline ends the one-shot keep-alive stream too, so a frozen etcd does not accumulate open streams.
      await this.store.call(`keep lease ${this.id} alive`, () => this.lease.keepaliveOnce({ deadline: Date.now() + ms }), ms);
      this.lastRefresh = sentAt;
      return true;
    } catch (e) {
      if (e instanceof MeshfedError && e.code === 'MESHFED_E_STORE_LEASE_LOST') {
        this.markLost();
        return false;
      }
      throw e;
    }
  }

  startKeepAlive(): void {
    if (this.keeping || this.lost) return;
    this.keeping = true;
    const period = (this.ttlSeconds * 1_000) / 3;
    const tick = (): void => {
      if (!this.keeping) return;
      this.keepAliveOnce().then(
        (alive) => {
          if (alive) this.schedule(tick, period);
        },
        () => {
          if (Date.now() - this.lastRefresh >= this.ttlSeconds * 1_000) this.markLost();
          else this.schedule(tick, Math.min(250, period));
        },
      );
    };
    this.schedule(tick, period);
  }

  async revoke(): Promise<void> {
    this.stopKeepAlive();
    if (this.lost) return;
    await this.store.call(`revoke lease ${this.id}`, () => this.lease.revoke());
    this.markLost();
  }

  onLost(listener: () => void): void {
    if (this.lost) queueMicrotask(listener);
    else this.listeners.push(listener);
  }

  stopKeepAlive(): void {
    this.keeping = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(fn: () => void, ms: number): void {
    this.timer = setTimeout(fn, ms);
    this.timer.unref();
  }

  private markLost(): void {
    if (this.lost) return;
    this.lost = true;
    this.stopKeepAlive();
    this.lease.release();
    this.store.forget(this);
    for (const l of this.listeners.splice(0)) queueMicrotask(l);
  }
}

/** A fault-handling policy that runs the call once: our callers own retries. */
const passThrough = {
  execute<T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T): Promise<T> {
    return Promise.resolve().then(() => fn({ signal: new AbortController().signal }));
  },
} as unknown as NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

function toKeyValue(kv: IKeyValue): KeyValue {
  const lease = kv.lease === undefined || kv.lease === '0' ? undefined : String(kv.lease);
  return {
    key: kv.key.toString(),
    value: kv.value.toString(),
    version: Number(kv.version),
    modRevision: Number(kv.mod_revision),
    createRevision: Number(kv.create_revision),
    ...(lease === undefined ? {} : { lease }),
  };
}

/** Rejects with MESHFED_E_STORE_UNAVAILABLE when p has not settled within ms. */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(storeError('MESHFED_E_STORE_UNAVAILABLE', `${what}: etcd did not answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
