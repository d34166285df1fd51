// Runs the Store conformance suite on the embedded store, plus its fake-clock lease and history behaviour.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from './store-memory.ts';
import type { StoreClock } from './store-memory.ts';
import { runStoreConformance } from './store.conformance.ts';
import type { WatchEvent } from './store.ts';

runStoreConformance('memory', async () => {
  const store = new MemoryStore();
  return {
    store,
    openPeer: async () => store,
    compact: async (revision) => store.compact(revision),
    close: () => store.close(),
  };
});

/** A clock that only moves when told to. */
class FakeClock implements StoreClock {
  private t = 1_000_000;
  private timers: { at: number; fn: () => void; live: boolean }[] = [];
  now(): number {
    return this.t;
  }
  setTimer(ms: number, fn: () => void): () => void {
    const timer = { at: this.t + ms, fn, live: true };
    this.timers.push(timer);
    return () => {
      timer.live = false;
    };
  }
  /** Moves time forward, firing due timers in time order (timers they set fire too if due). */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.live && x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      due.live = false;
      this.t = due.at;
      due.fn();
      await new Promise((r) => setImmediate(r));
    }
    this.t = end;
    this.timers = this.timers.filter((x) => x.live);
    await new Promise((r) => setImmediate(r));
  }
}

test('memory: a lease expires exactly at its TTL on the injected clock', async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock });
  const lease = await store.grantLease(10);
  await store.put('/k', 'v', { lease: lease.id });
  await clock.advance(9_999);
  assert.equal((await store.get('/k'))?.value, 'v');
  await clock.advance(1);
  assert.equal(await store.get('/k'), undefined);
  await store.close();
});

test('memory: keepAliveOnce pushes expiry a full TTL past the refresh', async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock });
  const lease = await store.grantLease(10);
  await store.put('/k', 'v', { lease: lease.id });
  await clock.advance(8_000);
  assert.equal(await lease.keepAliveOnce(), true);
  await clock.advance(9_999);
  assert.equal((await store.get('/k'))?.value, 'v');
  await clock.advance(1);
  assert.equal(await store.get('/k'), undefined);
  await store.close();
});

test('memory: startKeepAlive keeps a lease alive for as long as time runs', async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock });
  const lease = await store.grantLease(3);
  lease.startKeepAlive();
  await store.put('/k', 'v', { lease: lease.id });
  await clock.advance(60_000);
  assert.equal((await store.get('/k'))?.value, 'v');
  await lease.revoke();
  assert.equal(await store.get('/k'), undefined);
  await store.close();
});

test('memory: the deletes of an expiring lease share one revision, like an etcd transaction', async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock });
  const lease = await store.grantLease(1);
  await store.put('/a', '1', { lease: lease.id });
  await store.put('/b', '2', { lease: lease.id });
  const batches: (readonly WatchEvent[])[] = [];
  await store.watchPrefix('/', (b) => batches.push(b));
  let lost = false;
  lease.onLost(() => (lost = true));
  await clock.advance(1_000);
  assert.equal(batches.length, 1);
  assert.deepEqual(batches[0]!.map((e) => [e.type, e.key]), [['delete', '/a'], ['delete', '/b']]);
  assert.equal(batches[0]![0]!.modRevision, batches[0]![1]!.modRevision);
  assert.equal(batches[0]![0]!.modRevision, store.currentRevision());
  assert.equal(lost, true);
  await store.close();
});

test('memory: history beyond the retention limit is compacted and watches from it fail', async () => {
  const store = new MemoryStore({ historyRevisions: 3 });
  const first = await store.put('/k', '1');
  for (let i = 2; i <= 5; i++) await store.put('/k', String(i));
  let error: Error | undefined;
  await store.watchPrefix('/', () => undefined, { fromRevision: first, onError: (e) => (error = e) });
  await new Promise((r) => setImmediate(r));
  assert.match(String(error?.message), /compacted/);
  const events: WatchEvent[] = [];
  await store.watchPrefix('/', (b) => events.push(...b), { fromRevision: store.currentRevision() - 2 });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(events.map((e) => (e.type === 'put' ? e.value : '')), ['3', '4', '5']);
  await store.close();
});

test('memory: a closed store rejects operations with MESHFED_E_STORE_CLOSED', async () => {
  const store = new MemoryStore();
  await store.close();
  await assert.rejects(store.get('/k'), /closed/);
  assert.equal((await store.health()).ok, false);
});
