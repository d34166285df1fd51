// Retry decisions: conditions, idempotency, attempts, body reuse, the 20%/min-3 budget and jittered backoff.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideRetry, retryCondition, backoffMs, budgetAllows, type RetryInput } from './retry.ts';
import { seededRandom } from '../../common/random.ts';
import type { ProxyResponse, RetryPolicy } from '../types.ts';

const policy: RetryPolicy = { attempts: 3, perTryTimeoutMs: 0, retryOn: ['connect-failure', 'reset', '503'], backoffBaseMs: 25, backoffMaxMs: 250, retryNonIdempotent: false };
const res = (status: number, ...flags: string[]): ProxyResponse => ({ status, headers: {}, body: null, flags });
function input(over: Partial<RetryInput> = {}): RetryInput {
  return { policy, method: 'GET', attempt: 1, response: res(503, 'connect-failure'), bodyConsumed: false, cancelled: false,
    budget: { percent: 20, minConcurrency: 3 }, activeRequests: 1, activeRetries: 0, random: () => 0.5, ...over };
}

test('retryOn conditions map from status and upstream flags', () => {
  assert.equal(retryCondition(res(503, 'connect-failure'), ['connect-failure']), 'connect-failure');
  assert.equal(retryCondition(res(502, 'reset'), ['reset']), 'reset');
  assert.equal(retryCondition(res(504, 'timeout'), ['reset']), 'reset');
  assert.equal(retryCondition(res(503), ['503']), '503');
  assert.equal(retryCondition(res(503), ['connect-failure', 'reset']), undefined);
  for (const s of [502, 503, 504]) assert.equal(retryCondition(res(s), ['gateway-error']), 'gateway-error');
  assert.equal(retryCondition(res(500), ['gateway-error', '503']), undefined);
  assert.equal(retryCondition(res(200), ['gateway-error', '503', 'reset', 'connect-failure']), undefined);
});

test('a retryable failure of a GET is retried with backoff', () => {
  assert.deepEqual(decideRetry(input()), { retry: true, condition: 'connect-failure', backoffMs: 12 });
});

test('successes and non-retryable failures are not retried', () => {
  assert.deepEqual(decideRetry(input({ response: res(200) })), { retry: false, reason: 'success' });
  assert.deepEqual(decideRetry(input({ response: res(404) })), { retry: false, reason: 'success' });
  assert.deepEqual(decideRetry(input({ response: res(500) })), { retry: false, reason: 'not-retryable' });
});

test('attempts count the first try', () => {
  assert.equal(decideRetry(input({ attempt: 2 })).retry, true);
  assert.deepEqual(decideRetry(input({ attempt: 3 })), { retry: false, reason: 'attempts-exhausted' });
  assert.deepEqual(decideRetry(input({ policy: { ...policy, attempts: 1 } })), { retry: false, reason: 'attempts-exhausted' });
});

test('POST and PATCH are not retried unless the route says so; PUT and DELETE are', () => {
  for (const m of ['POST', 'PATCH', 'post']) assert.deepEqual(decideRetry(input({ method: m })), { retry: false, reason: 'non-idempotent' });
  for (const m of ['PUT', 'DELETE', 'HEAD', 'OPTIONS']) assert.equal(decideRetry(input({ method: m })).retry, true);
  assert.equal(decideRetry(input({ method: 'POST', policy: { ...policy, retryNonIdempotent: true } })).retry, true);
});

test('a body already read cannot be replayed; a cancelled request is not retried', () => {
  assert.deepEqual(decideRetry(input({ bodyConsumed: true })), { retry: false, reason: 'body-consumed' });
  assert.deepEqual(decideRetry(input({ cancelled: true })), { retry: false, reason: 'cancelled' });
});

test('the budget allows max(3, 20% of active requests) retries in flight', () => {
  const b = { percent: 20, minConcurrency: 3 };
  assert.equal(budgetAllows(b, 1, 2), true);
  assert.equal(budgetAllows(b, 1, 3), false);
  assert.equal(budgetAllows(b, 100, 19), true);
  assert.equal(budgetAllows(b, 100, 20), false);
  assert.equal(budgetAllows(b, 14, 3), false); // 20% of 14 is 2.8 < 3: the minimum rules
  assert.deepEqual(decideRetry(input({ activeRequests: 100, activeRetries: 20 })), { retry: false, reason: 'budget-exhausted' });
});

test('backoff is full jitter under base × 2^(n-1), capped', () => {
  assert.equal(backoffMs(1, 25, 250, () => 0.999999), 24);
  assert.equal(backoffMs(2, 25, 250, () => 0.999999), 49);
  assert.equal(backoffMs(5, 25, 250, () => 0.999999), 249);
  assert.equal(backoffMs(30, 25, 250, () => 0.999999), 249);
  assert.equal(backoffMs(3, 25, 250, () => 0), 0);
  const r = seededRandom(5);
  let sum = 0;
  for (let i = 0; i < 10000; i++) sum += backoffMs(2, 25, 250, r);
  assert.ok(Math.abs(sum / 10000 - 25) < 1, `mean ${sum / 10000}`); // uniform on [0, 50)
});
