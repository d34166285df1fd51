// Circuit-breaker admission: each limit overflows exactly at its threshold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admitRequest, admitPending, admitConnection } from './circuit-breaker.ts';

const limits = { maxConnections: 2, maxPendingRequests: 1, maxRequests: 3 };
const use = (connections: number, pendingRequests: number, activeRequests: number) => ({ connections, pendingRequests, activeRequests });

test('max requests', () => {
  assert.equal(admitRequest(limits, use(0, 0, 2)), undefined);
  assert.equal(admitRequest(limits, use(0, 0, 3)), 'max-requests');
});

test('max pending requests', () => {
  assert.equal(admitPending(limits, use(0, 0, 0)), undefined);
  assert.equal(admitPending(limits, use(0, 1, 0)), 'max-pending-requests');
});

test('max connections', () => {
  assert.equal(admitConnection(limits, use(1, 0, 0)), undefined);
  assert.equal(admitConnection(limits, use(2, 0, 0)), 'max-connections');
});
