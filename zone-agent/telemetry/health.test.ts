// Tests the pure health-check state machine and how a service's settings override the agent's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveSettings, failureCounts, INITIAL_HEALTH, nextHealth, probeOk, type HealthState } from './health.ts';

const t = { healthyThreshold: 2, unhealthyThreshold: 3 };
const run = (results: boolean[], from: HealthState = INITIAL_HEALTH) => results.reduce((s, ok) => nextHealth(s, ok, t), from);

test('goes unhealthy only after unhealthyThreshold consecutive failures', () => {
  assert.equal(run([false, false]).healthy, true);
  assert.equal(run([false, false, false]).healthy, false);
  assert.equal(run([false, false, true, false, false]).healthy, true, 'a success breaks the run');
});

test('comes back only after healthyThreshold consecutive successes', () => {
  const down = run([false, false, false]);
  assert.equal(run([true], down).healthy, false);
  assert.equal(run([true, true], down).healthy, true);
  assert.equal(run([true, false, true], down).healthy, false);
});

test('run counters obey the invariant', () => {
  for (const seq of [[true, true, false], [false, true], [false, false, false, false, true]]) {
    const s = run(seq);
    assert.ok(s.successes === 0 || s.failures === 0);
  }
  assert.deepEqual(run([false, false, false, false]), { healthy: false, successes: 0, failures: 4 });
});

test('probe outcomes: 2xx/3xx healthy, 4xx/5xx, errors and missing status not', () => {
  assert.equal(probeOk({ status: 200 }), true);
  assert.equal(probeOk({ status: 302 }), true);
  assert.equal(probeOk({ status: 404 }), false);
  assert.equal(probeOk({ status: 503 }), false);
  assert.equal(probeOk({ error: 'timeout' }), false);
  assert.equal(probeOk({ status: 200, error: 'reset after headers' }), false);
  assert.equal(probeOk({}), false);
});

test('a service\'s overrides replace the agent\'s settings field by field; a timeout never exceeds the interval', () => {
  const agent = { interval: 5000, timeout: 1000, healthyThreshold: 2, unhealthyThreshold: 3 };
  assert.deepEqual(effectiveSettings(agent, undefined), agent);
  assert.deepEqual(effectiveSettings(agent, { interval: 500, unhealthyThreshold: 2, healthyThreshold: 1 }), { interval: 500, timeout: 500, healthyThreshold: 1, unhealthyThreshold: 2 });
  assert.deepEqual(effectiveSettings(agent, { timeout: 200 }), { ...agent, timeout: 200 });
});

test('the start-up grace: failures of a never-passed endpoint do not count until initialDelay; a pass ends it early', () => {
  assert.equal(failureCounts(false, 1000, 30_000), false);
  assert.equal(failureCounts(false, 30_000, 30_000), true);
  assert.equal(failureCounts(true, 1000, 30_000), true, 'once passed, every failure counts');
  assert.equal(failureCounts(false, 0, undefined), true, 'no grace unless asked');
  const agent = { interval: 5000, timeout: 1000, healthyThreshold: 2, unhealthyThreshold: 3 };
  assert.equal(effectiveSettings(agent, { initialDelay: 30_000 }).initialDelay, 30_000);
  assert.equal('initialDelay' in effectiveSettings(agent, {}), false);
});
