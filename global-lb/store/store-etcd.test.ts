// Runs the Store conformance suite on a real etcd spawned on free loopback ports, plus etcd-only failure behaviour.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MeshfedError } from '../../common/errors.ts';
import { skipWithoutEtcd, startEtcd } from '../../test/support/etcd.ts';
import type { EtcdServer } from '../../test/support/etcd.ts';
import { EtcdStore } from './store-etcd.ts';
import { runStoreConformance, waitFor } from './store.conformance.ts';
import type { Store } from './store.ts';

let etcd: EtcdServer;
/** Without etcd (outside CI only) every test here is skipped, with the reason. */
const SKIP = skipWithoutEtcd();

before(async () => {
  if (SKIP) return;
  etcd = await startEtcd();
});
after(async () => {
  await etcd?.stop();
});

const open = (): EtcdStore => new EtcdStore({ endpoints: etcd.endpoints, callTimeoutMs: 3_000, keepaliveMs: 2_000 });

runStoreConformance('etcd', async () => {
  const store = open();
  const peers: Store[] = [];
  return {
    store,
    openPeer: async () => {
      const peer = open();
      peers.push(peer);
      return peer;
    },
    compact: (revision) => store.compact(revision),
    dropConnection: () => etcd.restart(),
    close: async () => {
      await Promise.all([store, ...peers].map((s) => s.close()));
    },
  };
}, { skip: SKIP });

test('etcd: calls fail with MESHFED_E_STORE_UNAVAILABLE within the timeout while etcd is frozen, and recover', { skip: SKIP }, async (t) => {
  const store = new EtcdStore({ endpoints: etcd.endpoints, callTimeoutMs: 800, keepaliveMs: 2_000 });
  t.after(() => store.close());
  await store.put('/unavailable/a', '1');
  await etcd.pause();
  try {
    const started = Date.now();
    await assert.rejects(store.get('/unavailable/a'), (e: unknown) => e instanceof MeshfedError && e.code === 'MESHFED_E_STORE_UNAVAILABLE');
    assert.ok(Date.now() - started < 3_000, `the call took ${Date.now() - started} ms`);
    const h = await store.health();
    assert.equal(h.ok, false);
  } finally {
    await etcd.resume();
  }
  await waitFor('health to come back', async () => (await store.health()).ok);
  assert.equal((await store.get('/unavailable/a'))?.value, '1');
});

test('etcd: a watch keeps delivering after a freeze long enough to break the stream', { skip: SKIP }, async (t) => {
  const store = new EtcdStore({ endpoints: etcd.endpoints, callTimeoutMs: 1_000, keepaliveMs: 1_000 });
  const writer = open();
  t.after(async () => {
    await store.close();
    await writer.close();
  });
  const seen: string[] = [];
  const w = await store.watchPrefix('/freeze/', (evs) => seen.push(...evs.map((e) => e.key)));
  await writer.put('/freeze/a', '1');
  await waitFor('first event', () => seen.length === 1);
  await etcd.pause();
  // Long enough for the gRPC keepalive (1 s + timeout) to declare the stream dead.
  await new Promise((r) => setTimeout(r, 3_500));
  await etcd.resume();
  await waitFor('writer back', async () => (await writer.health()).ok);
  await writer.put('/freeze/b', '2');
  await waitFor('second event', () => seen.length >= 2, 30_000);
  assert.deepEqual(seen, ['/freeze/a', '/freeze/b']);
  await w.cancel();
});

test('etcd: a kept-alive lease survives an etcd restart', { skip: SKIP }, async (t) => {
  const store = open();
  t.after(() => store.close());
  const lease = await store.grantLease(3);
  let lost = false;
  lease.onLost(() => (lost = true));
  lease.startKeepAlive();
  await store.put('/restart/lease', 'x', { lease: lease.id });
  await etcd.restart();
  await waitFor('the store to answer again', async () => (await store.health()).ok);
  await new Promise((r) => setTimeout(r, 4_000));
  assert.equal(lost, false);
  assert.equal((await store.get('/restart/lease'))?.value, 'x');
  await lease.revoke();
});

test('etcd: a watch killed mid-way through replaying history resumes after its last delivered event', { skip: SKIP }, async (t) => {
  // etcd sends a long replay in batches of 1000 revisions, each stamped with the *current* revision. etcd3 alone
  // resumes from that stamp after a reconnect and silently skips the rest of the replay; this proves we do not.
  const store = open();
  t.after(() => store.close());
  const n = 2_500;
  let first = Number.POSITIVE_INFINITY;
  for (let i = 0; i < n; i += 250) {
    const revs = await Promise.all(
      Array.from({ length: 250 }, (_, j) => store.put(`/replay/${String(i + j).padStart(5, '0')}`, 'v')),
    );
    first = Math.min(first, ...revs);
  }
  const seen: number[] = [];
  let killed: Promise<void> | undefined;
  const w = await store.watchPrefix(
    '/replay/',
    (evs) => {
      seen.push(...evs.map((e) => e.modRevision));
      // Kill etcd the moment the first batch lands, before the rest of the replay arrives.
      killed ??= etcd.kill('SIGKILL');
    },
    { fromRevision: first },
  );
  await waitFor('the first batch', () => killed !== undefined);
  await killed;
  await etcd.restart();
  await waitFor(`all ${n} events`, () => seen.length >= n, 30_000);
  assert.equal(seen.length, n);
  assert.equal(new Set(seen).size, n, 'no event may arrive twice');
  assert.deepEqual(seen, [...seen].sort((a, b) => a - b));
  await w.cancel();
});

test('etcd: a leader that cannot refresh its lease for a whole TTL steps down, and another replica takes over', { skip: SKIP }, async (t) => {
  const a = new EtcdStore({ endpoints: etcd.endpoints, callTimeoutMs: 500, keepaliveMs: 2_000 });
  const b = open();
  t.after(async () => {
    await a.close();
    await b.close();
  });
  const election = `freeze-${process.pid}`;
  const leader = a.campaign(election, 'replica-a', 2);
  await leader.elected;
  const next = b.campaign(election, 'replica-b', 2);
  let reason: string | undefined;
  leader.onLost((r) => (reason = r));
  await etcd.pause();
  try {
    // The leader must give up on its own while etcd is unreachable: it cannot know whether etcd expired its lease.
    await waitFor('the leader to step down', () => reason !== undefined, 10_000);
  } finally {
    await etcd.resume();
  }
  assert.equal(reason, 'lease lost');
  assert.equal(leader.isLeader(), false);
  await next.elected;
  assert.equal(next.isLeader(), true);
  await next.resign();
});

test('etcd: a watch that must catch up on more than 4 MiB of history gets all of it (gRPC\'s default receive limit no longer stalls it)', { skip: SKIP }, async (t) => {
  const writer = open();
  const store = new EtcdStore({ endpoints: etcd.endpoints, callTimeoutMs: 5_000 });
  t.after(async () => {
    await store.close();
    await writer.close();
  });
  const from = (await writer.put('/catchup/start', 'x')) + 1;
  // 150 tables of 40 KB, about the size of 10k-service tables at 100 zones: 6 MB to replay in one go.
  const table = 'w'.repeat(40_000);
  for (let i = 0; i < 150; i++) await writer.put(`/catchup/t${String(i).padStart(3, '0')}`, table);
  const seen = new Set<string>();
  let failed: unknown;
  const w = await store.watchPrefix('/catchup/t', (evs) => { for (const e of evs) seen.add(e.key); }, { fromRevision: from, onError: (e) => (failed = e) });
  t.after(() => w.cancel());
  await waitFor('every table of the replay', () => seen.size === 150, 20_000);
  assert.equal(failed, undefined);
});
