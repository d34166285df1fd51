// Unit tests of restart decisions on a fake clock: backoff doubling to its cap, the budget, and forgetting old restarts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideRestart, DEFAULT_RESTART_POLICY, describeExit, RestartTracker } from './restart-policy.ts';

test('backoff starts at 0.5 s and doubles to a 5 s cap; attempts count up', () => {
  const policy = { ...DEFAULT_RESTART_POLICY, budget: 10 };
  const delays: number[] = [];
  const history: number[] = [];
  for (let i = 0; i < 6; i++) {
    const d = decideRestart(history, 1000, policy);
    assert.equal(d.kind, 'restart');
    if (d.kind !== 'restart') return;
    assert.equal(d.attempt, i + 1);
    delays.push(d.delayMs);
    history.push(1000);
  }
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 5000, 5000]);
});

test('a component that exits a sixth time within 60 s is given up; the default budget is 5 restarts', () => {
  const tracker = new RestartTracker();
  let now = 0;
  const kinds: string[] = [];
  for (let i = 0; i < 6; i++) {
    const d = tracker.onExit(now);
    kinds.push(d.kind === 'restart' ? `restart ${d.attempt} after ${d.delayMs}` : `give-up after ${d.restartsInWindow}`);
    if (d.kind === 'restart') now += d.delayMs + 100; // it comes back, then dies 100 ms later
  }
  assert.deepEqual(kinds, ['restart 1 after 500', 'restart 2 after 1000', 'restart 3 after 2000', 'restart 4 after 4000', 'restart 5 after 5000', 'give-up after 5']);
  assert.equal(tracker.total, 5);
});

test('restarts older than the window are forgotten: a component that stayed up starts over from the first backoff', () => {
  const tracker = new RestartTracker();
  let now = 0;
  for (let i = 0; i < 5; i++) {
    const d = tracker.onExit(now);
    assert.equal(d.kind, 'restart');
    now += 10_000;
  }
  // Far later than a minute after the last restart: a full budget again.
  now += 120_000;
  const again = tracker.onExit(now);
  assert.deepEqual(again, { kind: 'restart', attempt: 1, delayMs: 500 });
  assert.equal(tracker.total, 6);
});

test('the window slides: only restarts in the last 60 s count', () => {
  // Restarts at 0, 20, 40, 50, 55 s; an exit at 61 s sees four of them in the window.
  assert.deepEqual(decideRestart([0, 20_000, 40_000, 50_000, 55_000], 61_000), { kind: 'restart', attempt: 5, delayMs: 5000 });
  assert.deepEqual(decideRestart([0, 20_000, 40_000, 50_000, 55_000], 59_000), { kind: 'give-up', restartsInWindow: 5 });
});

test('a budget of 0 gives up at the first exit', () => {
  assert.deepEqual(decideRestart([], 0, { ...DEFAULT_RESTART_POLICY, budget: 0 }), { kind: 'give-up', restartsInWindow: 0 });
});

test('exits read as a signal or a code', () => {
  assert.equal(describeExit(null, 'SIGKILL'), 'signal SIGKILL');
  assert.equal(describeExit(3, null), 'code 3');
});
