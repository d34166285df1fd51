// The coarse deadline scheduler on fake timers: never early, at most one tick late, cancel frees at once, no idle timer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coarseScheduler, type TimerFns } from './deadlines.ts';

/** Fake timers: time moves only by advance(), which fires due timeouts and interval ticks in order. */
function fakeTimers() {
  let now = 0;
  let nextId = 1;
  const timers = new Map<number, { at: number; fn: () => void; every?: number }>();
  const fns: TimerFns = {
    now: () => now,
    setTimeout: (fn, ms) => { const id = nextId++; timers.set(id, { at: now + ms, fn }); return id; },
    clearTimeout: (h) => { timers.delete(h as number); },
    setInterval: (fn, ms) => { const id = nextId++; timers.set(id, { at: now + ms, fn, every: ms }); return id; },
    clearInterval: (h) => { timers.delete(h as number); },
  };
  return {
    fns,
    live: () => timers.size,
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        let next: [number, { at: number; fn: () => void; every?: number }] | undefined;
        for (const e of timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
        if (!next) break;
        const [id, t] = next;
        now = t.at;
        if (t.every !== undefined) t.at += t.every;
        else timers.delete(id);
        t.fn();
      }
      now = end;
    },
  };
}

test('a long deadline never fires early and at most one tick late', () => {
  const ft = fakeTimers();
  const s = coarseScheduler({ coarseFromMs: 1000, tickMs: 50, timers: ft.fns });
  ft.advance(7); // not aligned with the tick
  let firedAt = -1;
  s.schedule(15_000, () => { firedAt = ft.fns.now(); });
  ft.advance(14_999);
  assert.equal(firedAt, -1, 'not before 15 s');
  ft.advance(50);
  assert.ok(firedAt >= 7 + 15_000 && firedAt <= 7 + 15_000 + 50, `fired at ${firedAt}`);
  assert.equal(s.pending(), 0);
});

test('a cancelled deadline is dropped at once and never fires; cancelling twice is harmless', () => {
  const ft = fakeTimers();
  const s = coarseScheduler({ timers: ft.fns });
  let fired = 0;
  const cancel = s.schedule(2000, () => { fired++; });
  assert.equal(s.pending(), 1);
  cancel();
  cancel();
  assert.equal(s.pending(), 0, 'nothing lingers until the due time');
  ft.advance(10_000);
  assert.equal(fired, 0);
});

test('the shared tick runs only while deadlines are pending', () => {
  const ft = fakeTimers();
  const s = coarseScheduler({ tickMs: 50, timers: ft.fns });
  assert.equal(ft.live(), 0);
  const cancels = Array.from({ length: 100 }, () => s.schedule(15_000, () => undefined));
  assert.equal(ft.live(), 1, 'one timer for 100 deadlines');
  for (const c of cancels) c();
  ft.advance(50);
  assert.equal(ft.live(), 0, 'the idle tick stops itself');
  s.schedule(1000, () => undefined);
  assert.equal(ft.live(), 1, 'and starts again');
  ft.advance(1100);
  assert.equal(ft.live(), 0);
});

test('many deadlines fire in one tick, each once; one scheduled from a firing callback waits its own time', () => {
  const ft = fakeTimers();
  const s = coarseScheduler({ tickMs: 50, timers: ft.fns });
  const fired: number[] = [];
  for (let i = 0; i < 5; i++) s.schedule(1000 + i, () => { fired.push(i); });
  let chained = -1;
  s.schedule(1000, () => { s.schedule(1000, () => { chained = ft.fns.now(); }); });
  ft.advance(1050);
  assert.deepEqual(fired.sort(), [0, 1, 2, 3, 4]);
  assert.equal(chained, -1);
  ft.advance(1050);
  assert.ok(chained >= 2000 && chained <= 2100, `chained fired at ${chained}`);
  ft.advance(10_000);
  assert.deepEqual(fired.sort(), [0, 1, 2, 3, 4], 'none fired twice');
});

test('short deadlines get a precise timer of their own', () => {
  const ft = fakeTimers();
  const s = coarseScheduler({ coarseFromMs: 1000, tickMs: 50, timers: ft.fns });
  let firedAt = -1;
  const cancelOther = s.schedule(120, () => assert.fail('cancelled'));
  s.schedule(100, () => { firedAt = ft.fns.now(); });
  assert.equal(s.pending(), 0, 'not in the coarse set');
  cancelOther();
  ft.advance(99);
  assert.equal(firedAt, -1);
  ft.advance(1);
  assert.equal(firedAt, 100);
  ft.advance(1000);
  assert.equal(ft.live(), 0);
});

test('the real scheduler fires a short and a coarse deadline and leaves no timer behind', async () => {
  const s = coarseScheduler({ coarseFromMs: 30, tickMs: 5 });
  const t0 = performance.now();
  const times = await Promise.all([10, 40].map((ms) => new Promise<number>((resolve) => { s.schedule(ms, () => resolve(performance.now() - t0)); })));
  assert.ok(times[0]! >= 9, `short fired after ${times[0]} ms`); // timers may round down by under 1 ms
  assert.ok(times[1]! >= 40, `coarse fired after ${times[1]} ms`);
  assert.equal(s.pending(), 0);
});
