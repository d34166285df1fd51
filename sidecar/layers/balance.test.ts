// The balance layer's wait on a `queue` pick (endpoint set not known yet), driven by a fake clock: it ends on a pick, the cap or the signal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { balanceLayer, QUEUE_POLL_MS, QUEUE_WAIT_DEFAULT_MS } from './balance.ts';
import type { StackDeps } from './deps.ts';
import type { PickerSource } from '../balancer/balancer.ts';
import type { EndpointRef, Pick, ProxyRequest, ProxyResponse, RouteDecision } from '../types.ts';
import { parseSidecarConfig } from '../../api/sidecar-config.ts';

const EP: EndpointRef = { id: 'a/127.0.0.1:1001', address: '127.0.0.1', port: 1001, zone: 'a', network: 'n1' };

/** A picker source whose picks come from `answer(now)`; it records every sleep the layer asks for. */
function setup(answer: (now: number) => Pick | undefined) {
  let now = 1_000;
  const sleeps: number[] = [];
  let picks = 0;
  const pickers: PickerSource = {
    picker: (service) => {
      const p = answer(now);
      if (p === undefined) return undefined;
      return { pick: () => { picks++; assert.equal(service, 'shop/catalog'); return answer(now) as Pick; } };
    },
    begin: () => undefined,
    end: () => undefined,
  };
  const config = parseSidecarConfig('zone: a\nzones: { a: { network: n1 } }\nservices: {}\n', 't.yaml');
  const deps: StackDeps = {
    clock: () => now,
    random: () => 0.5,
    // A fake sleep: time passes at once, or only up to the abort when the signal fires first.
    sleep: async (ms, signal) => { sleeps.push(ms); if (!signal.aborted) now += ms; },
    schedule: () => () => undefined,
    config: () => config,
    faults: () => config.faults,
    pickers,
  };
  return { deps, sleeps, now: () => now, picks: () => picks, advance: (ms: number) => { now += ms; } };
}

function route(timeoutMs: number): RouteDecision {
  return {
    name: 'default', service: 'shop/catalog', timeoutMs,
    retry: { attempts: 1, perTryTimeoutMs: 0, retryOn: [], backoffBaseMs: 25, backoffMaxMs: 250, retryNonIdempotent: false },
    circuitBreaker: { maxConnections: 100, maxPendingRequests: 100, maxRequests: 100 },
  };
}

function request(over: Partial<ProxyRequest> = {}): ProxyRequest {
  return {
    method: 'GET', path: '/', authority: 'catalog.shop', headers: {}, body: null, protocol: 'http1',
    service: 'shop/catalog', startedAt: 0, attempt: 1, signal: new AbortController().signal, ...over,
  };
}

const upstream = (seen: ProxyRequest[]) => (req: ProxyRequest): Promise<ProxyResponse> => {
  seen.push(req);
  return Promise.resolve({ status: 200, headers: {}, body: null });
};

test('a queued pick waits until the endpoint set arrives, then goes to the endpoint', async () => {
  const s = setup((now) => (now < 1_130 ? { kind: 'queue' } : { kind: 'complete', endpoint: EP, zone: 'a' }));
  const seen: ProxyRequest[] = [];
  const res = await balanceLayer(s.deps)(upstream(seen))(request({ route: route(1_000) }));
  assert.equal(res.status, 200);
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.target, EP);
  assert.equal(s.now(), 1_140, 'it went on at the first poll after the state arrived');
  assert.ok(s.sleeps.every((ms) => ms === QUEUE_POLL_MS), `polls every ${QUEUE_POLL_MS} ms: ${s.sleeps.join(',')}`);
});

test('a pick that stays queued is answered 503 not-ready after the route timeout, with the code', async () => {
  const s = setup(() => ({ kind: 'queue' }));
  const seen: ProxyRequest[] = [];
  const res = await balanceLayer(s.deps)(upstream(seen))(request({ route: route(250) }));
  assert.equal(res.status, 503);
  assert.deepEqual(res.flags, ['no-healthy-upstream', 'not-ready']);
  assert.equal(res.headers['x-meshfed-code'], 'MESHFED_E_SIDECAR_NO_HEALTHY_UPSTREAM');
  assert.match(String(res.headers['x-meshfed-reason']), /not known yet \(waited up to 250 ms\)/);
  assert.equal(s.now(), 1_250, 'waited exactly the cap: the last sleep is shortened to end on it');
  assert.deepEqual(s.sleeps.slice(-1), [10]);
  assert.equal(seen.length, 0);
});

test('without a route timeout the wait is capped at the default', async () => {
  const s = setup(() => ({ kind: 'queue' }));
  const res = await balanceLayer(s.deps)(upstream([]))(request({ route: route(0) }));
  assert.equal(res.status, 503);
  assert.equal(s.now() - 1_000, QUEUE_WAIT_DEFAULT_MS);
});

test('an aborted signal (client gone, route deadline) ends the wait at once', async () => {
  const s = setup(() => ({ kind: 'queue' }));
  const ac = new AbortController();
  const sleep = s.deps.sleep;
  let polls = 0;
  const deps: StackDeps = { ...s.deps, sleep: async (ms, signal) => { if (++polls === 3) ac.abort(); await sleep(ms, signal); } };
  const res = await balanceLayer(deps)(upstream([]))(request({ route: route(10_000), signal: ac.signal }));
  assert.equal(res.status, 503);
  assert.ok(res.flags?.includes('not-ready'));
  assert.equal(s.now(), 1_000 + 2 * QUEUE_POLL_MS, 'no time passed after the abort');
  assert.equal(polls, 3);
});

test('a clock that never moves still ends the wait (bounded number of polls)', async () => {
  const s = setup(() => ({ kind: 'queue' }));
  const deps: StackDeps = { ...s.deps, sleep: async () => undefined };
  let polls = 0;
  const counting: StackDeps = { ...deps, sleep: async (ms, signal) => { polls++; await deps.sleep(ms, signal); } };
  const res = await balanceLayer(counting)(upstream([]))(request({ route: route(200) }));
  assert.equal(res.status, 503);
  assert.equal(polls, 200 / QUEUE_POLL_MS);
});

test('a pick that is not queued never sleeps; an unknown service and unavailable picks answer 503 at once', async () => {
  const ready = setup(() => ({ kind: 'complete', endpoint: EP, zone: 'a' }));
  assert.equal((await balanceLayer(ready.deps)(upstream([]))(request({ route: route(1_000) }))).status, 200);
  assert.deepEqual(ready.sleeps, []);
  const unknown = setup(() => undefined);
  const r1 = await balanceLayer(unknown.deps)(upstream([]))(request());
  assert.equal(r1.status, 503);
  assert.deepEqual(r1.flags, ['no-healthy-upstream']);
  const down = setup(() => ({ kind: 'unavailable', reason: 'every endpoint ejected' }));
  const r2 = await balanceLayer(down.deps)(upstream([]))(request({ route: route(1_000) }));
  assert.equal(r2.status, 503);
  assert.deepEqual(down.sleeps, []);
  assert.match(String(r2.headers['x-meshfed-reason']), /every endpoint ejected/);
});

test('a wait that ends on an unavailable pick answers that, not not-ready', async () => {
  const s = setup((now) => (now < 1_050 ? { kind: 'queue' } : { kind: 'unavailable', reason: 'no endpoints in any zone' }));
  const res = await balanceLayer(s.deps)(upstream([]))(request({ route: route(1_000) }));
  assert.equal(res.status, 503);
  assert.deepEqual(res.flags, ['no-healthy-upstream']);
  assert.equal(s.now(), 1_060);
});
