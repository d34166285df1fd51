// A sidecar that stops reading does not make the relay queue every state: it is skipped while its stream is full
// and gets the newest state when it reads again; other sidecars are not held back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../common/logger.ts';
import { ok } from '../../common/errors.ts';
import { RelayServer } from '../../zone-agent/relay/server.ts';
import { buildRelayState, EMPTY_BALANCER_STATE } from '../../zone-agent/relay/state.ts';
import { TestSidecar, until } from './agent-support.ts';

function state(i: number) {
  const endpoints = Array.from({ length: 200 }, (_, j) => ({ address: `10.0.${j % 250}.${i % 250}`, port: 8080 + (i % 1000), healthy: true, terminating: false, labels: { round: String(i) } }));
  return buildRelayState({
    self: { locality: { cloud: 'c', region: 'r', zone: 'a1' }, cluster: 'c', network: 'n', gatewayAddress: '' },
    local: [{ namespace: 'shop', name: 'cart', capacityRps: 0, endpoints }], balancer: EMPTY_BALANCER_STATE, policies: {}, faultsJson: '', stale: false,
  });
}

test('a slow sidecar is skipped while full and catches up with the newest state', async (t) => {
  let skipped = 0;
  const relay = new RelayServer({ zone: 'a1', trustDomain: 'meshfed.local', logger: createLogger({ component: 'zone-agent', level: 'silent' }), onStats: () => ok(undefined), onSkipped: () => skipped++ });
  await relay.listen('127.0.0.1', 0);
  t.after(() => relay.close());
  relay.publish(state(0));
  const slow = new TestSidecar(relay.port);
  const fast = new TestSidecar(relay.port);
  t.after(() => { slow.close(); fast.close(); });
  await until('both subscribed', () => slow.latest() && fast.latest());
  slow.call.pause();
  const N = 200;
  let last = '';
  for (let i = 1; i <= N; i++) {
    const s = state(i);
    last = s.version as string;
    relay.publish(s);
    await new Promise((r) => setTimeout(r, 1));
  }
  await until('fast sidecar has the newest', () => fast.latest()?.version === last);
  assert.ok(skipped > 0, 'the paused stream was skipped');
  slow.call.resume();
  await until('slow sidecar catches up', () => slow.latest()?.version === last);
  // Paused, the slow stream holds at most its buffer (16 messages) plus the HTTP/2 window; then only the newest.
  assert.ok(slow.states.length <= 60, `slow sidecar got ${slow.states.length} of ${N + 1} states`);
  assert.ok(fast.states.length > 2 * slow.states.length, `fast ${fast.states.length} vs slow ${slow.states.length}`);
});
