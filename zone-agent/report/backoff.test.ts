// Tests the reconnect backoff and address failover rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, nextAddressIndex, DEFAULT_BACKOFF } from './backoff.ts';

test('backoff grows exponentially and is capped', () => {
  const p = { initialMs: 100, maxMs: 1000, multiplier: 2, jitter: 0 };
  assert.deepEqual([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(p, a, () => 0.5)), [100, 200, 400, 800, 1000, 1000]);
});

test('jitter stays within [cap*(1-jitter), cap] for any random value', () => {
  const p = { ...DEFAULT_BACKOFF, jitter: 0.5 };
  for (const r of [0, 0.25, 0.5, 0.999999, 1, -3, 7]) {
    const d = backoffDelay(p, 3, () => r);
    assert.ok(d >= 400 && d <= 800, `delay ${d} for random ${r}`);
  }
  assert.equal(backoffDelay(p, 3, () => 0), 800);
  assert.equal(backoffDelay(p, 3, () => 1), 400);
});

test('a negative attempt is treated as the first', () => {
  assert.equal(backoffDelay({ initialMs: 50, maxMs: 500, multiplier: 3, jitter: 0 }, -1, () => 0), 50);
});

test('failover walks every address in turn and keeps a healthy one', () => {
  assert.equal(nextAddressIndex(0, 3, false), 1);
  assert.equal(nextAddressIndex(2, 3, false), 0);
  assert.equal(nextAddressIndex(1, 3, true), 1);
  assert.equal(nextAddressIndex(5, 0, false), 0);
});
