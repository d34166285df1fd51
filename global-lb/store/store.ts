// The state-store contract shared by the etcd store and the embedded in-memory store.
import type { Result } from '../../common/errors.ts';

/** A stored key. Values are strings; callers encode JSON themselves. */
export interface KeyValue {
  readonly key: string;
  readonly value: string;
  /** How many times the key was written since it was created (etcd's per-key version). Starts at 1. */
  readonly version: number;
  /** The store revision of the key's last write. */
  readonly modRevision: number;
  /** The store revision of the key's creation. */
  readonly createRevision: number;
  /** The lease the key is attached to, if any. */
  readonly lease?: string;
}

/**
 * One change seen by a watcher. Revisions never decrease across events of one store; the events of one transaction
 * (e.g. the deletes of an expiring lease) share its revision and arrive in one batch.
 */
export type WatchEvent =
  | { readonly type: 'put'; readonly key: string; readonly value: string; readonly version: number; readonly modRevision: number }
  | { readonly type: 'delete'; readonly key: string; readonly modRevision: number };

/** Why a compare-and-swap did not apply. */
export interface CasConflict {
  readonly code: 'MESHFED_E_STORE_CONFLICT';
  /** The key as it is now; undefined when it does not exist. */
  readonly current: KeyValue | undefined;
}

/**
 * Proof of leadership for fenced writes: the leader's candidate key and the revision that created it. While that key
 * exists with that create revision, no other candidate can lead (a later candidate's key is always created later).
 */
export interface Fence {
  readonly key: string;
  readonly createRevision: number;
}

/** Why a fenced write did not apply: the fence's key is gone or was re-created, so this writer no longer leads. */
export interface FenceLost {
  readonly code: 'MESHFED_E_STORE_FENCED';
  readonly fence: Fence;
}

export interface PutOptions {
  /** Attaches the key to a lease: the key is deleted when the lease expires or is revoked. */
  readonly lease?: string;
}

/** A lease: keys attached to it live only while it is kept alive. */
export interface Lease {
  readonly id: string;
  readonly ttlSeconds: number;
  /** Refreshes the lease once. Resolves false when the lease no longer exists. */
  keepAliveOnce(): Promise<boolean>;
  /** Starts refreshing automatically (at a third of the TTL) until revoked or lost. */
  startKeepAlive(): void;
  /** Deletes the lease and every key attached to it. */
  revoke(): Promise<void>;
  /** Called once when the lease is found expired or revoked. */
  onLost(listener: () => void): void;
}

export interface WatchOptions {
  /** Delivers every event with modRevision >= fromRevision. Omit to start after the current revision. */
  readonly fromRevision?: number;
  /** Called when events cannot be resumed (e.g. the revision was compacted); the caller must relist. */
  readonly onError?: (error: Error) => void;
}

/** A running watch; cancel stops delivery. */
export interface Watch {
  cancel(): Promise<void>;
}

/** A candidate's campaign for leadership of one election. */
export interface Campaign {
  /** Resolves when this candidate becomes leader. */
  readonly elected: Promise<void>;
  isLeader(): boolean;
  /** The fence for writes while leading; undefined unless this candidate is (or, until it notices, was) leader. */
  fence(): Fence | undefined;
  /** Called once when leadership (or candidacy) ends: the lease was lost or resign was called. */
  onLost(listener: (reason: string) => void): void;
  /** Steps down (or withdraws) and revokes the campaign's lease. */
  resign(): Promise<void>;
}

/** Health of the connection to the store. */
export interface StoreHealth {
  readonly ok: boolean;
  readonly latencyMs?: number;
  readonly error?: string;
}

/**
 * The state store. Invariant: both implementations pass the same conformance suite
 * (global-lb/store/store.conformance.ts), so code above this interface cannot tell them apart.
 */
export interface Store {
  /** "etcd" or "memory". */
  readonly kind: string;
  get(key: string): Promise<KeyValue | undefined>;
  /** Writes a key; returns the store revision of the write. */
  put(key: string, value: string, options?: PutOptions): Promise<number>;
  /** Deletes a key; resolves true when it existed. */
  delete(key: string): Promise<boolean>;
  /** Every key under a prefix, sorted by key, with the revision the read was made at. */
  list(prefix: string): Promise<{ readonly items: readonly KeyValue[]; readonly revision: number }>;
  /**
   * Writes only when the key's version equals expectedVersion (0 = the key must not exist).
   * A conflict is a value, not an exception.
   */
  compareAndSwap(key: string, expectedVersion: number, value: string, options?: PutOptions): Promise<Result<number, CasConflict>>;
  /** Deletes only when the key's version equals expectedVersion. */
  compareAndDelete(key: string, expectedVersion: number): Promise<Result<number, CasConflict>>;
  /**
   * Writes a key only while `fence` holds (its key exists with its create revision), atomically with the check, so a
   * leader that has lost its lease cannot land a write. A lost fence is a value, not an exception.
   */
  putFenced(fence: Fence, key: string, value: string): Promise<Result<number, FenceLost>>;
  /** Deletes a key only while `fence` holds; resolves true when the key existed. */
  deleteFenced(fence: Fence, key: string): Promise<Result<boolean, FenceLost>>;
  grantLease(ttlSeconds: number): Promise<Lease>;
  /**
   * Watches every key under a prefix. Events arrive in revision order, each exactly once, across
   * reconnects of the underlying connection.
   */
  watchPrefix(prefix: string, onEvents: (events: readonly WatchEvent[]) => void, options?: WatchOptions): Promise<Watch>;
  /** Campaigns for leadership of an election under a lease of ttlSeconds; candidateId is published as the leader's value. */
  campaign(election: string, candidateId: string, ttlSeconds: number): Campaign;
  /** Reports the current leader's id (undefined when none) now and on every change. */
  observeLeader(election: string, onChange: (leaderId: string | undefined) => void): Promise<Watch>;
  health(): Promise<StoreHealth>;
  /** Closes the connection; leases held by this client are left to expire unless revoked first. */
  close(): Promise<void>;
}

/** The key layout in the store (DESIGN.md). */
export const KEYS = {
  root: '/meshfed/v1/',
  policies: '/meshfed/v1/policies/',
  policy: (ns: string, svc: string) => `/meshfed/v1/policies/${ns}/${svc}`,
  zones: '/meshfed/v1/zones/',
  zoneReport: (zone: string) => `/meshfed/v1/zones/${zone}/report`,
  zoneDrain: (zone: string) => `/meshfed/v1/zones/${zone}/drain`,
  weights: '/meshfed/v1/weights/',
  weight: (ns: string, svc: string) => `/meshfed/v1/weights/${ns}/${svc}`,
  trustBundle: '/meshfed/v1/trust/bundle',
  /** The leader's engine hysteresis record (global-lb/weights/engine-memory.ts), for the next leader. */
  engineState: '/meshfed/v1/engine/state',
  election: 'global-lb',
} as const;
