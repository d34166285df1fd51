// Tests for the load generator's pacing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dueAt, dueCount, shares } from './load-plan.ts';

test('requests are spaced evenly at the planned rate', () => {
  const plan = { rps: 100, maxRequests: 1000, maxDurationMs: 60_000 };
  assert.equal(dueAt(plan, 0), 0);
  assert.equal(dueAt(plan, 1), 10);
  assert.equal(dueAt(plan, 250), 2500);
});

test('a plan stops at its request bound', () => {
  const plan = { rps: 100, maxRequests: 3, maxDurationMs: 60_000 };
  assert.equal(dueAt(plan, 2), 20);
  assert.equal(dueAt(plan, 3), undefined);
  assert.equal(dueCount(plan, 10_000), 3);
});

test('a plan stops at its time bound', () => {
  const plan = { rps: 10, maxRequests: 1_000_000, maxDurationMs: 1000 };
  assert.equal(dueAt(plan, 9), 900);
  assert.equal(dueAt(plan, 10), undefined);
  assert.equal(dueCount(plan, 5000), 10);
});

test('due count catches up after a stall but never exceeds the plan', () => {
  const plan = { rps: 50, maxRequests: 100, maxDurationMs: 10_000 };
  assert.equal(dueCount(plan, 0), 1);
  assert.equal(dueCount(plan, 999), 50);
  assert.equal(dueCount(plan, 1000), 51);
  assert.equal(dueCount(plan, 9999), 100);
});

test('a zero or negative rate sends nothing', () => {
  assert.equal(dueAt({ rps: 0, maxRequests: 10, maxDurationMs: 1000 }, 0), undefined);
  assert.equal(dueCount({ rps: -1, maxRequests: 10, maxDurationMs: 1000 }, 500), 0);
});

test('shares are fractions of the total', () => {
  const s = shares(new Map([['a', 30], ['b', 70]]));
  assert.equal(s.get('a'), 0.3);
  assert.equal(s.get('b'), 0.7);
  assert.equal(shares(new Map([['a', 0]])).get('a'), 0);
});
