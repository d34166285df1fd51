// The admin port's /faults: PUT replaces the whole fault state, PATCH only the parts given, and a bad body changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRegistry } from '../../common/metrics.ts';
import { NO_L4_FAULTS } from '../l4/l4-faults.ts';
import { startAdmin, type RuntimeFaults } from './admin.ts';

test('PATCH /faults keeps the part it is not given; PUT replaces both; a refused body changes nothing', async (t) => {
  let faults: RuntimeFaults = { rules: [], l4: NO_L4_FAULTS };
  const admin = await startAdmin({
    host: '127.0.0.1', port: 0,
    hooks: { registry: createRegistry(), ready: () => ({ ready: true }), stats: () => ({}), configDump: () => ({}), faults: () => faults, setFaults: (f) => { faults = f; } },
  });
  t.after(() => admin.close());
  const call = async (method: string, body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${admin.port}/faults`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as RuntimeFaults };
  };
  assert.equal((await call('PUT', { rules: [{ direction: 'inbound', delay: { fixed: '300ms', percent: 100 } }] })).status, 200);
  const patched = await call('PATCH', { l4: { latencyMs: 5, resetPercent: 1 } });
  assert.equal(patched.status, 200);
  assert.equal(patched.body.rules.length, 1, 'the L7 rule stays');
  assert.deepEqual(patched.body.l4, { latencyMs: 5, bandwidthBytesPerSec: 0, resetPercent: 1, blackholePercent: 0 });
  const rules = await call('PATCH', { rules: [{ abort: { httpStatus: 503, percent: 50 } }, { abort: { httpStatus: 500, percent: 5 } }] });
  assert.equal(rules.body.rules.length, 2);
  assert.equal(rules.body.l4.latencyMs, 5, 'the L4 faults stay');
  const bad = await call('PATCH', { l4: { latencyMs: -1 } });
  assert.equal(bad.status, 400);
  assert.equal(faults.rules.length, 2);
  assert.equal(faults.l4.latencyMs, 5);
  const put = await call('PUT', { rules: [] });
  assert.deepEqual(put.body, { rules: [], l4: NO_L4_FAULTS }, 'PUT replaces the whole state');
});
