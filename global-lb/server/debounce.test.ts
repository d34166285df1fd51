// Unit tests of the recompute debounce rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { debounceFireAt } from './debounce.ts';

test('a single change fires after the quiet time', () => {
  assert.equal(debounceFireAt(1000, 1000, 100, 1000), 1100);
});

test('later changes push the deadline back', () => {
  assert.equal(debounceFireAt(1000, 1500, 100, 1000), 1600);
});

test('a steady stream of changes cannot postpone past the max after the first change', () => {
  assert.equal(debounceFireAt(1000, 1950, 100, 1000), 2000);
  assert.equal(debounceFireAt(1000, 5000, 100, 1000), 2000);
});

test('the deadline is never before the quiet time has elapsed from the first change', () => {
  for (let first = 0; first < 50; first += 7) {
    for (let last = first; last < first + 3000; last += 97) {
      const at = debounceFireAt(first, last, 100, 1000);
      assert.ok(at >= first + 100, `fires at ${at}, first ${first}`);
      assert.ok(at <= first + 1000);
    }
  }
});
