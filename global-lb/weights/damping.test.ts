// Unit tests of basis-point rounding and the damping step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dampStep, largestRemainder } from './damping.ts';

test('largest remainder keeps the sum exact and is deterministic on ties', () => {
  assert.deepEqual(largestRemainder([1, 1, 1]), [3334, 3333, 3333]);
  assert.deepEqual(largestRemainder([2, 1]), [6667, 3333]);
  assert.deepEqual(largestRemainder([0, 0]), [0, 0]);
  assert.deepEqual(largestRemainder([0.5, 0, 0.5]), [5000, 0, 5000]);
  for (let n = 1; n < 40; n++) {
    const v = Array.from({ length: n }, (_, i) => ((i * 7919) % 13) + 0.37);
    assert.equal(largestRemainder(v).reduce((s, x) => s + x, 0), 10000);
  }
});

test('damping moves every zone by the same fraction, at most maxStep, and never overshoots', () => {
  assert.deepEqual(dampStep([10000, 0], [0, 10000], 1000, 0), [9000, 1000]);
  assert.deepEqual(dampStep([5000, 5000, 0], [2000, 2000, 6000], 1000, 0), [4500, 4500, 1000]);
  assert.deepEqual(dampStep([9500, 500], [9000, 1000], 1000, 0), [9000, 1000], 'within one step: lands on target');
  assert.deepEqual(dampStep([5000, 5000], [5040, 4960], 1000, 50), [5000, 5000], 'inside the deadband: no change');
});

test('a dropped zone frees its share at once to the zones that must grow', () => {
  // The third zone was at 4000 and is now ineligible (the caller zeroed it).
  const out = dampStep([3000, 3000, 0], [5000, 5000, 0], 1000, 0);
  assert.deepEqual(out, [5000, 5000, 0]);
  const partial = dampStep([6000, 0, 0], [2000, 8000, 0], 1000, 0);
  assert.equal(partial.reduce((s, x) => s + x, 0), 10000);
  assert.deepEqual(partial, [5000, 5000, 0]);
});

test('no previous weights: the target is taken as is', () => {
  assert.deepEqual(dampStep([0, 0], [3000, 7000], 100, 0), [3000, 7000]);
});

test('largest remainder without sorting (small rows) gives what sorting by remainder gives, ties included', () => {
  const sorted = (values: number[], total: number): number[] => {
    const sum = values.reduce((s, x) => s + Math.max(0, x), 0);
    const out = values.map(() => 0);
    if (sum <= 0) return out;
    const scale = total / sum;
    const exact = values.map((x) => (x > 0 ? x * scale : 0));
    const floors = exact.map(Math.floor);
    let left = total - floors.reduce((s, x) => s + x, 0);
    const order = exact.map((_, i) => i).sort((a, b) => exact[b]! - floors[b]! - (exact[a]! - floors[a]!) || a - b);
    for (let k = 0; left > 0; k = (k + 1) % values.length, left--) floors[order[k]!]!++;
    return floors;
  };
  let seed = 7;
  const rand = () => ((seed = (Math.imul(seed, 48271) + 11) >>> 0) / 2 ** 32);
  for (let i = 0; i < 3000; i++) {
    const n = 1 + Math.floor(rand() * 40);
    // Few distinct values, so equal remainders (ties) are common.
    const values = Array.from({ length: n }, () => (rand() < 0.2 ? 0 : [1, 2, 3, 0.37, 7][Math.floor(rand() * 5)]!));
    const total = rand() < 0.5 ? 10000 : 1 + Math.floor(rand() * 500);
    assert.deepEqual(largestRemainder(values, total), sorted(values, total), `n=${n} total=${total} values=${values.join(',')}`);
  }
});
