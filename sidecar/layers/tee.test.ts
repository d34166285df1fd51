// The body tee: the primary always gets every byte in order; the mirror gets them while it keeps up, and is cut off otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MirrorAbandoned, teeBody } from './tee.ts';

/** A source of `n` chunks of `size` bytes, chunk i filled with i % 256; it throws after `failAfter` chunks if given. */
function source(n: number, size: number, failAfter?: number): AsyncIterable<Uint8Array> & { returned: () => boolean } {
  let returned = false;
  return {
    returned: () => returned,
    [Symbol.asyncIterator]() {
      let i = 0;
      return {
        async next(): Promise<IteratorResult<Uint8Array>> {
          await Promise.resolve();
          if (failAfter !== undefined && i === failAfter) throw new Error('client reset');
          if (i >= n) return { done: true, value: undefined };
          return { done: false, value: new Uint8Array(size).fill(i++ % 256) };
        },
        async return(): Promise<IteratorResult<Uint8Array>> {
          returned = true;
          return { done: true, value: undefined };
        },
      };
    },
  };
}

function expected(n: number, size: number): Uint8Array {
  const out = new Uint8Array(n * size);
  for (let i = 0; i < n; i++) out.fill(i % 256, i * size, (i + 1) * size);
  return out;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.byteLength; }
  return out;
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<{ bytes: Uint8Array; error?: unknown }> {
  const chunks: Uint8Array[] = [];
  try {
    for await (const c of body) chunks.push(c);
  } catch (error) {
    return { bytes: concat(chunks), error };
  }
  return { bytes: concat(chunks) };
}

test('primary and a mirror that keeps up both get every byte in order', async () => {
  const tee = teeBody(source(300, 1000), { maxBacklogBytes: 4096 });
  const [p, m] = await Promise.all([collect(tee.primary), collect(tee.mirror)]);
  assert.equal(p.error, undefined);
  assert.equal(m.error, undefined);
  assert.deepEqual(p.bytes, expected(300, 1000));
  assert.deepEqual(m.bytes, expected(300, 1000));
});

test('a mirror that starts late still gets everything while the backlog stays under the cap', async () => {
  const abandoned: string[] = [];
  const tee = teeBody(source(10, 1000), { maxBacklogBytes: 10_000, onAbandon: (r) => abandoned.push(r) });
  const p = await collect(tee.primary);
  assert.deepEqual(p.bytes, expected(10, 1000));
  const m = await collect(tee.mirror);
  assert.equal(m.error, undefined);
  assert.deepEqual(m.bytes, expected(10, 1000));
  assert.deepEqual(abandoned, []);
});

test('a mirror that falls more than the cap behind is abandoned while the primary completes', async () => {
  const abandoned: string[] = [];
  const tee = teeBody(source(100, 1000), { maxBacklogBytes: 10_000, onAbandon: (r) => abandoned.push(r) });
  const p = await collect(tee.primary); // the mirror reads nothing meanwhile
  assert.equal(p.error, undefined);
  assert.deepEqual(p.bytes, expected(100, 1000));
  assert.equal(abandoned.length, 1);
  assert.match(abandoned[0]!, /fell more than 10000 bytes behind/);
  const m = await collect(tee.mirror);
  assert.ok(m.error instanceof MirrorAbandoned, String(m.error));
  assert.equal(m.bytes.byteLength, 0, 'the queued backlog is dropped, not delivered as a truncated body');
});

test('a mirror exactly at the cap is kept; one byte more abandons it', async () => {
  const keep = teeBody(source(10, 1000), { maxBacklogBytes: 10_000 });
  await collect(keep.primary);
  assert.deepEqual((await collect(keep.mirror)).bytes, expected(10, 1000));
  const drop = teeBody(source(10, 1000), { maxBacklogBytes: 9_999 });
  await collect(drop.primary);
  assert.ok((await collect(drop.mirror)).error instanceof MirrorAbandoned);
});

test('a failing primary body ends the mirror with an error and the primary sees the original error', async () => {
  const abandoned: string[] = [];
  const tee = teeBody(source(100, 10, 5), { onAbandon: (r) => abandoned.push(r) });
  const [p, m] = await Promise.all([collect(tee.primary), collect(tee.mirror)]);
  assert.equal((p.error as Error).message, 'client reset');
  assert.equal(p.bytes.byteLength, 50);
  assert.ok(m.error instanceof MirrorAbandoned);
  assert.ok(m.bytes.byteLength <= 50);
  assert.deepEqual(abandoned, ['the primary body failed']);
});

test('a primary that stops reading early closes the source and abandons the mirror', async () => {
  const src = source(100, 10);
  const abandoned: string[] = [];
  const tee = teeBody(src, { onAbandon: (r) => abandoned.push(r) });
  const mirror = collect(tee.mirror);
  let n = 0;
  for await (const _ of tee.primary) if (++n === 3) break;
  assert.ok(src.returned(), 'the source was told to stop');
  const m = await mirror;
  assert.ok(m.error instanceof MirrorAbandoned);
  assert.deepEqual(abandoned, ['the primary stopped reading before the end']);
});

test('a mirror consumer that stops early detaches; the primary still gets every byte and nothing is abandoned', async () => {
  const abandoned: string[] = [];
  const tee = teeBody(source(50, 100), { maxBacklogBytes: 200, onAbandon: (r) => abandoned.push(r) });
  const it = tee.mirror[Symbol.asyncIterator]();
  const first = it.next();
  const reading = collect(tee.primary);
  assert.deepEqual((await first).value, new Uint8Array(100).fill(0));
  await it.return?.();
  const p = await reading;
  assert.deepEqual(p.bytes, expected(50, 100));
  assert.deepEqual(abandoned, []);
});

test('abandon() before anyone reads: the mirror errors at once, the primary is untouched, onAbandon fires once', async () => {
  const abandoned: string[] = [];
  const tee = teeBody(source(5, 10), { onAbandon: (r) => abandoned.push(r) });
  assert.equal(tee.primaryStarted(), false);
  tee.abandon('primary answered without reading its body');
  tee.abandon('again');
  assert.ok((await collect(tee.mirror)).error instanceof MirrorAbandoned);
  assert.deepEqual((await collect(tee.primary)).bytes, expected(5, 10));
  assert.equal(tee.primaryStarted(), true);
  assert.deepEqual(abandoned, ['primary answered without reading its body']);
});

test('each side can be iterated once', () => {
  const tee = teeBody(source(1, 1));
  tee.primary[Symbol.asyncIterator]();
  tee.mirror[Symbol.asyncIterator]();
  assert.throws(() => tee.primary[Symbol.asyncIterator](), /read once/);
  assert.throws(() => tee.mirror[Symbol.asyncIterator](), /read once/);
});
