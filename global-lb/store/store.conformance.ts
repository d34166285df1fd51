// The one conformance suite every Store implementation must pass (run by store-memory.test.ts and store-etcd.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeshfedError } from '../../common/errors.ts';
import type { KeyValue, Lease, Store, WatchEvent } from './store.ts';
import { campaignOn, electionPrefix } from './election.ts';

/** What a run of the suite needs from an implementation. */
export interface StoreUnderTest {
  /** The store the tests drive. */
  readonly store: Store;
  /** A second client of the same data (another replica); the harness closes it in close(). */
  openPeer(): Promise<Store>;
  /** Compacts history up to and including revision. */
  compact(revision: number): Promise<void>;
  /** Breaks the connection under `store` and restores it (etcd: restarts the server); absent for in-process stores. */
  readonly dropConnection?: () => Promise<void>;
  /** Closes every client opened for this test. */
  close(): Promise<void>;
}

/** Makes a fresh store under test for one test. */
export type StoreFactory = () => Promise<StoreUnderTest>;

/** Polls cond until it holds or the deadline passes (generous: the machine is loaded). */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Retries op until it succeeds (used across a store restart); rethrows the last error at the deadline. */
async function eventually<T>(op: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await op();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Records every event a watch delivers, batch by batch. */
function recorder(): { events: WatchEvent[]; onEvents: (batch: readonly WatchEvent[]) => void } {
  const events: WatchEvent[] = [];
  return { events, onEvents: (batch) => events.push(...batch) };
}

const summary = (events: readonly WatchEvent[]): string[] =>
  events.map((e) => (e.type === 'put' ? `put ${e.key}=${e.value}` : `delete ${e.key}`));

/** A Store that delegates to another and remembers the leases it grants (to revoke a campaign's lease directly). */
function leaseSpy(inner: Store): { store: Store; leases: Lease[] } {
  const leases: Lease[] = [];
  const store: Store = {
    kind: inner.kind,
    get: (k) => inner.get(k),
    put: (k, v, o) => inner.put(k, v, o),
    delete: (k) => inner.delete(k),
    list: (p) => inner.list(p),
    compareAndSwap: (k, n, v, o) => inner.compareAndSwap(k, n, v, o),
    compareAndDelete: (k, n) => inner.compareAndDelete(k, n),
    putFenced: (f, k, v) => inner.putFenced(f, k, v),
    deleteFenced: (f, k) => inner.deleteFenced(f, k),
    grantLease: async (ttl) => {
      const lease = await inner.grantLease(ttl);
      leases.push(lease);
      return lease;
    },
    watchPrefix: (p, on, o) => inner.watchPrefix(p, on, o),
    campaign: (e, id, ttl) => campaignOn(store, e, id, ttl),
    observeLeader: (e, on) => inner.observeLeader(e, on),
    health: () => inner.health(),
    close: () => inner.close(),
  };
  return { store, leases };
}

let unique = 0;

/**
 * Registers the conformance tests with node:test. Each test gets its own key prefix and election name, so one
 * etcd server can serve the whole run.
 */
export function runStoreConformance(name: string, factory: StoreFactory, options: { readonly skip?: string | false } = {}): void {
  const it = (title: string, body: (s: StoreUnderTest, p: string) => Promise<void>): void => {
    test(`${name}: ${title}`, { skip: options.skip ?? false }, async (t) => {
      const s = await factory();
      t.after(() => s.close());
      unique += 1;
      await body(s, `/conformance/${process.pid}-${Date.now()}-${unique}/`);
    });
  };

  it('get of an absent key resolves undefined', async ({ store }, p) => {
    assert.equal(await store.get(`${p}missing`), undefined);
  });

  it('put creates a key at version 1 whose create and mod revisions are the write revision', async ({ store }, p) => {
    const rev = await store.put(`${p}a`, 'one');
    const kv = await store.get(`${p}a`);
    assert.deepEqual(
      { key: kv?.key, value: kv?.value, version: kv?.version, mod: kv?.modRevision, create: kv?.createRevision },
      { key: `${p}a`, value: 'one', version: 1, mod: rev, create: rev },
    );
    assert.equal(kv?.lease, undefined);
  });

  it('overwriting bumps the version and mod revision and keeps the create revision', async ({ store }, p) => {
    const r1 = await store.put(`${p}a`, 'one');
    const r2 = await store.put(`${p}a`, 'two');
    const r3 = await store.put(`${p}a`, 'three');
    assert.ok(r1 < r2 && r2 < r3, `revisions must increase: ${r1} ${r2} ${r3}`);
    const kv = await store.get(`${p}a`);
    assert.equal(kv?.value, 'three');
    assert.equal(kv?.version, 3);
    assert.equal(kv?.modRevision, r3);
    assert.equal(kv?.createRevision, r1);
  });

  it('delete resolves true for a present key and false for an absent one', async ({ store }, p) => {
    await store.put(`${p}a`, 'x');
    assert.equal(await store.delete(`${p}a`), true);
    assert.equal(await store.get(`${p}a`), undefined);
    assert.equal(await store.delete(`${p}a`), false);
    assert.equal(await store.delete(`${p}never`), false);
  });

  it('a key re-created after delete starts again at version 1 with a new create revision', async ({ store }, p) => {
    const r1 = await store.put(`${p}a`, 'x');
    await store.put(`${p}a`, 'y');
    await store.delete(`${p}a`);
    const r4 = await store.put(`${p}a`, 'z');
    const kv = await store.get(`${p}a`);
    assert.equal(kv?.version, 1);
    assert.equal(kv?.createRevision, r4);
    assert.ok(r4 > r1);
  });

  it('list returns exactly the keys under the prefix, sorted by key, with the read revision', async ({ store }, p) => {
    await store.put(`${p}dir/b`, '2');
    await store.put(`${p}dir/a`, '1');
    await store.put(`${p}dir/c/deep`, '3');
    await store.put(`${p}dirx`, 'not under dir/');
    const last = await store.put(`${p}other/a`, 'no');
    const listed = await store.list(`${p}dir/`);
    assert.deepEqual(
      listed.items.map((kv) => [kv.key, kv.value]),
      [
        [`${p}dir/a`, '1'],
        [`${p}dir/b`, '2'],
        [`${p}dir/c/deep`, '3'],
      ],
    );
    assert.ok(listed.revision >= last, `list revision ${listed.revision} must be at least the last write ${last}`);
  });

  it('list of an empty prefix returns no items and the current revision', async ({ store }, p) => {
    const rev = await store.put(`${p}elsewhere`, 'x');
    const listed = await store.list(`${p}empty/`);
    assert.deepEqual(listed.items, []);
    assert.ok(listed.revision >= rev);
  });

  it('compare-and-swap with expected version 0 creates only when the key is absent', async ({ store }, p) => {
    const created = await store.compareAndSwap(`${p}lock`, 0, 'first');
    assert.ok(created.ok);
    const kv = await store.get(`${p}lock`);
    assert.equal(kv?.modRevision, created.value);
    const again = await store.compareAndSwap(`${p}lock`, 0, 'second');
    assert.equal(again.ok, false);
    if (!again.ok) {
      assert.equal(again.error.code, 'MESHFED_E_STORE_CONFLICT');
      assert.equal(again.error.current?.value, 'first');
      assert.equal(again.error.current?.version, 1);
    }
    assert.equal((await store.get(`${p}lock`))?.value, 'first');
  });

  it('a compare-and-swap conflict is reported with the current value and leaves the key alone', async ({ store }, p) => {
    await store.put(`${p}cfg`, 'v1');
    const swapped = await store.compareAndSwap(`${p}cfg`, 1, 'v2');
    assert.ok(swapped.ok);
    const stale = await store.compareAndSwap(`${p}cfg`, 1, 'lost-update');
    assert.equal(stale.ok, false);
    if (!stale.ok) {
      assert.equal(stale.error.code, 'MESHFED_E_STORE_CONFLICT');
      assert.equal(stale.error.current?.value, 'v2');
      assert.equal(stale.error.current?.version, 2);
    }
    const absent = await store.compareAndSwap(`${p}nothing`, 3, 'x');
    assert.equal(absent.ok, false);
    if (!absent.ok) assert.equal(absent.error.current, undefined);
    assert.equal((await store.get(`${p}cfg`))?.value, 'v2');
  });

  it('compare-and-delete deletes only at the expected version', async ({ store }, p) => {
    await store.put(`${p}k`, 'a');
    await store.put(`${p}k`, 'b');
    const wrong = await store.compareAndDelete(`${p}k`, 1);
    assert.equal(wrong.ok, false);
    if (!wrong.ok) assert.equal(wrong.error.current?.version, 2);
    assert.equal((await store.get(`${p}k`))?.value, 'b');
    const right = await store.compareAndDelete(`${p}k`, 2);
    assert.ok(right.ok);
    assert.equal(await store.get(`${p}k`), undefined);
    const gone = await store.compareAndDelete(`${p}k`, 2);
    assert.equal(gone.ok, false);
    if (!gone.ok) assert.equal(gone.error.current, undefined);
  });

  it('a key put with a lease reports the lease, and compare-and-swap can attach one too', async ({ store }, p) => {
    const lease = await store.grantLease(30);
    await store.put(`${p}a`, 'x', { lease: lease.id });
    assert.equal((await store.get(`${p}a`))?.lease, lease.id);
    const cas = await store.compareAndSwap(`${p}b`, 0, 'y', { lease: lease.id });
    assert.ok(cas.ok);
    assert.equal((await store.get(`${p}b`))?.lease, lease.id);
    await lease.revoke();
  });

  it('revoking a lease deletes its keys, fires delete events and reports the lease lost', async ({ store }, p) => {
    const lease = await store.grantLease(30);
    let lost = 0;
    lease.onLost(() => (lost += 1));
    await store.put(`${p}a`, '1', { lease: lease.id });
    await store.put(`${p}b`, '2', { lease: lease.id });
    await store.put(`${p}keep`, '3');
    const rec = recorder();
    const w = await store.watchPrefix(p, rec.onEvents);
    await lease.revoke();
    await waitFor('two delete events', () => rec.events.length >= 2);
    assert.deepEqual(summary(rec.events).sort(), [`delete ${p}a`, `delete ${p}b`]);
    assert.deepEqual((await store.list(p)).items.map((kv) => kv.key), [`${p}keep`]);
    await waitFor('onLost', () => lost === 1);
    assert.equal(await lease.keepAliveOnce(), false);
    await w.cancel();
  });

  it('a lease that is not kept alive expires: its keys go and watchers see the deletes', async ({ store }, p) => {
    const rec = recorder();
    const w = await store.watchPrefix(p, rec.onEvents);
    const lease = await store.grantLease(1);
    let lost = false;
    lease.onLost(() => (lost = true));
    await store.put(`${p}report`, 'zone-a', { lease: lease.id });
    await waitFor('the leased key to expire', async () => (await store.get(`${p}report`)) === undefined);
    await waitFor('the delete event', () => rec.events.some((e) => e.type === 'delete'));
    assert.deepEqual(summary(rec.events), [`put ${p}report=zone-a`, `delete ${p}report`]);
    assert.equal(await lease.keepAliveOnce(), false);
    await waitFor('onLost after expiry was found', () => lost);
    await w.cancel();
  });

  it('a lease kept alive outlives its TTL while an idle one expires', async ({ store }, p) => {
    const kept = await store.grantLease(1);
    const idle = await store.grantLease(1);
    const started = Date.now();
    kept.startKeepAlive();
    await store.put(`${p}kept`, 'x', { lease: kept.id });
    await store.put(`${p}idle`, 'y', { lease: idle.id });
    await waitFor('the idle lease to expire', async () => (await store.get(`${p}idle`)) === undefined);
    // The kept lease must survive well past its own TTL: wait until two TTLs have passed since it was granted.
    const remaining = 2_500 - (Date.now() - started);
    if (remaining > 0) await new Promise((r) => setTimeout(r, remaining));
    assert.equal((await store.get(`${p}kept`))?.value, 'x');
    assert.equal(await kept.keepAliveOnce(), true);
    await kept.revoke();
    assert.equal(await store.get(`${p}kept`), undefined);
  });

  it('writing with a revoked lease fails with MESHFED_E_STORE_LEASE_LOST', async ({ store }, p) => {
    const lease = await store.grantLease(30);
    await lease.revoke();
    await assert.rejects(
      store.put(`${p}a`, 'x', { lease: lease.id }),
      (e: unknown) => e instanceof MeshfedError && e.code === 'MESHFED_E_STORE_LEASE_LOST',
    );
    assert.equal(await store.get(`${p}a`), undefined);
  });

  it('a watch without a start revision sees later puts and deletes in order, with versions', async ({ store }, p) => {
    await store.put(`${p}before`, 'old');
    const rec = recorder();
    const w = await store.watchPrefix(p, rec.onEvents);
    const r1 = await store.put(`${p}a`, '1');
    const r2 = await store.put(`${p}a`, '2');
    const r3 = await store.delete(`${p}before`);
    assert.equal(r3, true);
    await waitFor('three events', () => rec.events.length >= 3);
    assert.deepEqual(summary(rec.events), [`put ${p}a=1`, `put ${p}a=2`, `delete ${p}before`]);
    const [e1, e2, e3] = rec.events;
    assert.equal(e1?.modRevision, r1);
    assert.equal(e2?.modRevision, r2);
    assert.ok(e3 !== undefined && e3.modRevision > r2);
    assert.equal(e1?.type === 'put' ? e1.version : -1, 1);
    assert.equal(e2?.type === 'put' ? e2.version : -1, 2);
    await w.cancel();
  });

  it('a watch only sees keys under its prefix', async ({ store }, p) => {
    const rec = recorder();
    const w = await store.watchPrefix(`${p}in/`, rec.onEvents);
    await store.put(`${p}out/a`, 'no');
    await store.put(`${p}inx`, 'no');
    await store.put(`${p}in/a`, 'yes');
    await waitFor('one event', () => rec.events.length >= 1);
    await store.put(`${p}in/b`, 'yes');
    await waitFor('two events', () => rec.events.length >= 2);
    assert.deepEqual(summary(rec.events), [`put ${p}in/a=yes`, `put ${p}in/b=yes`]);
    await w.cancel();
  });

  it('a watch from an old revision replays history, then continues live', async ({ store }, p) => {
    const r1 = await store.put(`${p}a`, '1');
    await store.put(`${p}b`, '2');
    await store.delete(`${p}a`);
    const rec = recorder();
    const w = await store.watchPrefix(p, rec.onEvents, { fromRevision: r1 });
    await waitFor('history', () => rec.events.length >= 3);
    await store.put(`${p}c`, '3');
    await waitFor('live event', () => rec.events.length >= 4);
    assert.deepEqual(summary(rec.events), [`put ${p}a=1`, `put ${p}b=2`, `delete ${p}a`, `put ${p}c=3`]);
    await w.cancel();
  });

  it('a cancelled watch delivers nothing more', async ({ store }, p) => {
    const rec = recorder();
    const w = await store.watchPrefix(p, rec.onEvents);
    await store.put(`${p}a`, '1');
    await waitFor('first event', () => rec.events.length === 1);
    await w.cancel();
    await store.put(`${p}a`, '2');
    // A marker watch proves the second write was dispatched before we look.
    const marker = recorder();
    const m = await store.watchPrefix(p, marker.onEvents);
    await store.put(`${p}z`, 'marker');
    await waitFor('marker', () => marker.events.length === 1);
    assert.deepEqual(summary(rec.events), [`put ${p}a=1`]);
    await m.cancel();
  });

  it('a watch resumed from the revision after the last delivered event sees every event exactly once', async ({ store }, p) => {
    const rec = recorder();
    const first = await store.watchPrefix(p, rec.onEvents);
    for (let i = 0; i < 5; i++) await store.put(`${p}k${i}`, `v${i}`);
    await waitFor('five events', () => rec.events.length >= 5);
    await first.cancel();
    const last = rec.events.at(-1)!.modRevision;
    for (let i = 5; i < 10; i++) await store.put(`${p}k${i}`, `v${i}`);
    const second = await store.watchPrefix(p, rec.onEvents, { fromRevision: last + 1 });
    await waitFor('ten events', () => rec.events.length >= 10);
    await store.put(`${p}end`, 'x');
    await waitFor('the end marker', () => rec.events.length >= 11);
    assert.deepEqual(
      summary(rec.events),
      [...Array.from({ length: 10 }, (_, i) => `put ${p}k${i}=v${i}`), `put ${p}end=x`],
    );
    await second.cancel();
  });

  it('a live watch survives a dropped connection and delivers every event exactly once, in order', async (s, p) => {
    const { store } = s;
    const writer = await s.openPeer();
    const rec = recorder();
    const w = await store.watchPrefix(p, rec.onEvents);
    for (let i = 0; i < 5; i++) await writer.put(`${p}k${i}`, `v${i}`);
    // Drop without waiting for delivery, so the resume point may fall anywhere in the batch.
    if (s.dropConnection) await s.dropConnection();
    for (let i = 5; i < 10; i++) await eventually(() => writer.put(`${p}k${i}`, `v${i}`));
    await waitFor('all ten events after the drop', () => rec.events.length >= 10, 30_000);
    await eventually(() => writer.put(`${p}end`, 'x'));
    await waitFor('the end marker', () => rec.events.some((e) => e.key === `${p}end`), 30_000);
    assert.deepEqual(
      summary(rec.events),
      [...Array.from({ length: 10 }, (_, i) => `put ${p}k${i}=v${i}`), `put ${p}end=x`],
    );
    const revs = rec.events.map((e) => e.modRevision);
    assert.deepEqual(revs, [...revs].sort((a, b) => a - b));
    assert.equal(new Set(revs).size, revs.length, 'no event may arrive twice');
    await w.cancel();
  });

  it('a watch from a compacted revision reports MESHFED_E_STORE_COMPACTED', async (s, p) => {
    const { store } = s;
    const r1 = await store.put(`${p}a`, '1');
    await store.put(`${p}a`, '2');
    const r3 = await store.put(`${p}a`, '3');
    await s.compact(r3);
    let error: unknown;
    const rec = recorder();
    const w = await store.watchPrefix(p, rec.onEvents, { fromRevision: r1, onError: (e) => (error = e) });
    await waitFor('onError', () => error !== undefined);
    assert.ok(error instanceof MeshfedError);
    assert.equal(error.code, 'MESHFED_E_STORE_COMPACTED');
    assert.deepEqual(rec.events, []);
    await w.cancel();
  });

  it('two clients watching one prefix see the same events in the same order', async (s, p) => {
    const peer = await s.openPeer();
    const a = recorder();
    const b = recorder();
    const wa = await s.store.watchPrefix(p, a.onEvents);
    const wb = await peer.watchPrefix(p, b.onEvents);
    for (let i = 0; i < 6; i++) await (i % 2 === 0 ? s.store : peer).put(`${p}k`, `${i}`);
    await peer.delete(`${p}k`);
    await waitFor('seven events on both', () => a.events.length >= 7 && b.events.length >= 7);
    assert.deepEqual(a.events, b.events);
    assert.equal(a.events.at(-1)?.type, 'delete');
    await wa.cancel();
    await wb.cancel();
  });

  it('the first candidate of an election is elected and publishes its id', async ({ store }) => {
    const election = `conf-${process.pid}-${++unique}`;
    const c = store.campaign(election, 'replica-1', 5);
    await c.elected;
    assert.equal(c.isLeader(), true);
    const keys = (await store.list(electionPrefix(election))).items;
    assert.deepEqual(keys.map((kv: KeyValue) => kv.value), ['replica-1']);
    await c.resign();
    assert.equal(c.isLeader(), false);
    await waitFor('the candidate key to go', async () => (await store.list(electionPrefix(election))).items.length === 0);
  });

  it('leadership moves to the next candidate when the leader resigns', async (s) => {
    const election = `conf-${process.pid}-${++unique}`;
    const peer = await s.openPeer();
    const first = s.store.campaign(election, 'replica-1', 5);
    await first.elected;
    const second = peer.campaign(election, 'replica-2', 5);
    let reason: string | undefined;
    first.onLost((r) => (reason = r));
    // The second candidate must not be elected while the first leads.
    await waitFor('the second candidate key', async () => (await s.store.list(electionPrefix(election))).items.length === 2);
    assert.equal(second.isLeader(), false);
    await first.resign();
    await second.elected;
    assert.equal(second.isLeader(), true);
    assert.equal(first.isLeader(), false);
    await waitFor('onLost of the resigned leader', () => reason !== undefined);
    assert.equal(reason, 'resigned');
    await second.resign();
  });

  it('leadership moves when the leader lease is revoked, and the old leader learns it lost', async (s) => {
    const election = `conf-${process.pid}-${++unique}`;
    const spy = leaseSpy(s.store);
    const peer = await s.openPeer();
    const leader = spy.store.campaign(election, 'replica-1', 5);
    await leader.elected;
    const next = peer.campaign(election, 'replica-2', 5);
    await waitFor('two candidates', async () => (await s.store.list(electionPrefix(election))).items.length === 2);
    let reason: string | undefined;
    leader.onLost((r) => (reason = r));
    assert.equal(spy.leases.length, 1);
    await spy.leases[0]!.revoke();
    await next.elected;
    await waitFor('the old leader to learn it lost', () => reason !== undefined);
    assert.equal(leader.isLeader(), false);
    assert.equal(next.isLeader(), true);
    await next.resign();
  });

  it('a leader that lost its lease cannot land a fenced write, while the new leader can', async (s) => {
    const election = `conf-${process.pid}-${++unique}`;
    const spy = leaseSpy(s.store);
    const peer = await s.openPeer();
    const key = `/conf/${process.pid}/${unique}/fenced`;
    const old = spy.store.campaign(election, 'replica-1', 5);
    await old.elected;
    const fence = old.fence();
    assert.ok(fence, 'a leader has a fence');
    const first = await s.store.putFenced(fence, key, 'from-old');
    assert.ok(first.ok);
    assert.equal((await s.store.get(key))?.value, 'from-old');
    const next = peer.campaign(election, 'replica-2', 5);
    assert.equal(next.fence(), undefined, 'a candidate that is not leader has no fence');
    await spy.leases[0]!.revoke();
    await next.elected;
    // The old leader's fence is what a stale writer still holds: the store refuses it, atomically with the check.
    const stale = await s.store.putFenced(fence, key, 'stale');
    assert.equal(stale.ok, false);
    if (!stale.ok) assert.equal(stale.error.code, 'MESHFED_E_STORE_FENCED');
    const staleDelete = await s.store.deleteFenced(fence, key);
    assert.equal(staleDelete.ok, false);
    assert.equal((await s.store.get(key))?.value, 'from-old', 'nothing the old leader sent after losing its lease landed');
    const fresh = await peer.putFenced(next.fence()!, key, 'from-new');
    assert.ok(fresh.ok);
    assert.equal((await s.store.get(key))?.value, 'from-new');
    const removed = await peer.deleteFenced(next.fence()!, key);
    assert.deepEqual(removed, { ok: true, value: true });
    assert.deepEqual(await peer.deleteFenced(next.fence()!, key), { ok: true, value: false });
    await next.resign();
  });

  it('leadership moves when the leader lease expires', async (s) => {
    const election = `conf-${process.pid}-${++unique}`;
    const peer = await s.openPeer();
    // A leader that never refreshes: its key sits on a 1 s lease nobody keeps alive.
    const stale = await s.store.grantLease(1);
    await s.store.put(`${electionPrefix(election)}${stale.id}`, 'stalled-replica', { lease: stale.id });
    const observed: (string | undefined)[] = [];
    const o = await peer.observeLeader(election, (id) => observed.push(id));
    const next = peer.campaign(election, 'replica-2', 5);
    await next.elected;
    assert.equal(next.isLeader(), true);
    await waitFor('observer to see the new leader', () => observed.at(-1) === 'replica-2');
    assert.equal(observed[0], 'stalled-replica');
    await next.resign();
    await o.cancel();
  });

  it('observeLeader reports no leader, then each leader, then none again', async (s) => {
    const election = `conf-${process.pid}-${++unique}`;
    const seen: (string | undefined)[] = [];
    const o = await s.store.observeLeader(election, (id) => seen.push(id));
    await waitFor('the initial report', () => seen.length >= 1);
    assert.deepEqual(seen, [undefined]);
    const peer = await s.openPeer();
    const a = s.store.campaign(election, 'replica-a', 5);
    await a.elected;
    const b = peer.campaign(election, 'replica-b', 5);
    await waitFor('replica-a observed', () => seen.at(-1) === 'replica-a');
    await waitFor('the second candidate', async () => (await s.store.list(electionPrefix(election))).items.length === 2);
    await a.resign();
    await b.elected;
    await waitFor('replica-b observed', () => seen.at(-1) === 'replica-b');
    await b.resign();
    await waitFor('no leader observed', () => seen.length === 4);
    assert.deepEqual(seen, [undefined, 'replica-a', 'replica-b', undefined]);
    await o.cancel();
  });

  it('a resign before election withdraws the candidate and rejects elected', async (s) => {
    const election = `conf-${process.pid}-${++unique}`;
    const leader = s.store.campaign(election, 'replica-1', 5);
    await leader.elected;
    const waiting = s.store.campaign(election, 'replica-2', 5);
    await waitFor('two candidates', async () => (await s.store.list(electionPrefix(election))).items.length === 2);
    await waiting.resign();
    await assert.rejects(waiting.elected, (e: unknown) => e instanceof MeshfedError && e.code === 'MESHFED_E_STORE_CAMPAIGN_ENDED');
    await waitFor('one candidate left', async () => (await s.store.list(electionPrefix(election))).items.length === 1);
    assert.equal(leader.isLeader(), true);
    await leader.resign();
  });

  it('health reports ok with a latency', async ({ store }) => {
    const h = await store.health();
    assert.equal(h.ok, true, h.error);
    assert.equal(typeof h.latencyMs, 'number');
  });
}
