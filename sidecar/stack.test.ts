// The outbound and inbound stacks over a fake upstream (no sockets): weights, failover, retries, budget, faults, timeouts, authz.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outboundStack, inboundStack } from './stack.ts';
import { createBalancer } from './balancer/balancer.ts';
import { parseSidecarConfig, type FaultSettings, type SidecarConfig } from '../api/sidecar-config.ts';
import { parseFaultSettings } from './faults/schema.ts';
import { seededRandom } from '../common/random.ts';
import type { StackDeps, StackEvent } from './layers/deps.ts';
import type { Handler, ProxyRequest, ProxyResponse } from './types.ts';

const CONFIG = `
zone: a
zones: { a: { network: n1 }, b: { network: n1 } }
services:
  shop/catalog:
    endpoints:
      a: ["127.0.0.1:1001", "127.0.0.1:1002", "127.0.0.1:1003"]
      b: ["127.0.0.1:2001", "127.0.0.1:2002", "127.0.0.1:2003"]
    weights: { a: 7000, b: 3000 }
    policy:
      timeout: 1s
      retry: { attempts: 3 }
      circuitBreaker: { maxRequests: 1000 }
`;

/** A fake clock whose sleeps pass at once and whose timers fire when the test advances time. */
function fakeTime() {
  let now = 0;
  let timers: { at: number; fn: () => void }[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => { now += ms; },
    schedule: (ms: number, fn: () => void) => {
      const t = { at: now + ms, fn };
      timers.push(t);
      return () => { timers = timers.filter((x) => x !== t); };
    },
    advance(ms: number) {
      now += ms;
      const due = timers.filter((t) => t.at <= now);
      timers = timers.filter((t) => t.at > now);
      for (const t of due) t.fn();
    },
    pending: () => timers.length,
  };
}

function setup(options: { config?: string; faults?: FaultSettings; seed?: number } = {}) {
  const config: SidecarConfig = parseSidecarConfig(options.config ?? CONFIG, 'test.yaml');
  const time = fakeTime();
  const random = seededRandom(options.seed ?? 42);
  const events: StackEvent[] = [];
  const deps: StackDeps = {
    clock: time.now, random, sleep: time.sleep, schedule: time.schedule,
    config: () => config, faults: () => options.faults ?? config.faults,
    pickers: createBalancer({ zone: 'a', random, config }),
    onEvent: (e) => events.push(e),
  };
  return { deps, time, events, config };
}

function request(over: Partial<ProxyRequest> = {}): ProxyRequest {
  return {
    method: 'GET', path: '/items', authority: 'catalog.shop', headers: {}, body: null, protocol: 'http1',
    service: 'shop/catalog', startedAt: 0, attempt: 0, signal: new AbortController().signal, ...over,
  };
}

const ok = (req: ProxyRequest): Promise<ProxyResponse> => Promise.resolve({ status: 200, headers: {}, body: null, endpoint: req.target!.id, zone: req.target!.zone });
const connectFailure = (): Promise<ProxyResponse> => Promise.resolve({ status: 503, headers: {}, body: null, flags: ['connect-failure'] });

function within(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual.toFixed(4)} not within ${expected} ± ${tol}`);
}

test('weights 70/30 over two zones split 5000 requests within ±3%', async () => {
  const { deps, time } = setup();
  const h = outboundStack(deps)(ok);
  const zones = { a: 0, b: 0 };
  for (let i = 0; i < 5000; i++) {
    time.advance(1);
    const res = await h(request());
    assert.equal(res.status, 200);
    zones[res.zone as 'a' | 'b']++;
  }
  within(zones.a / 5000, 0.7, 0.03, 'zone a share');
  within(zones.b / 5000, 0.3, 0.03, 'zone b share');
});

test('when every endpoint of one zone fails, no GET fails and traffic moves to the other zone with no new weights', async () => {
  const { deps, time, events } = setup();
  let zoneADead = false;
  const calls = { a: 0, b: 0 };
  const upstream: Handler = (req) => {
    const z = req.target!.zone as 'a' | 'b';
    calls[z]++;
    return z === 'a' && zoneADead ? connectFailure() : ok(req);
  };
  const h = outboundStack(deps)(upstream);
  let failed = 0;
  for (let i = 0; i < 4000; i++) {
    time.advance(1); // 1 ms per request: 4 s in all, well inside the 30 s base ejection
    if (i === 1000) zoneADead = true;
    if (i === 2000) { calls.a = 0; calls.b = 0; }
    const res = await h(request());
    if (res.status !== 200) failed++;
    else if (i >= 1000) assert.equal(res.zone, 'b');
  }
  assert.equal(failed, 0, 'every GET succeeded thanks to retries');
  assert.equal(calls.a, 0, 'after the zone is ejected, no attempt goes to it');
  assert.equal(calls.b, 2000);
  const ejected = events.filter((e) => e.kind === 'outlier' && e.event.kind === 'ejected');
  assert.equal(ejected.length, 3, 'all three endpoints of zone a were ejected');
  assert.ok(events.some((e) => e.kind === 'retry'));
});

test('a retry goes to another endpoint first, then another zone', async () => {
  const { deps } = setup({ config: CONFIG.replace('weights: { a: 7000, b: 3000 }', 'weights: { a: 10000, b: 0 }') });
  const seen: string[] = [];
  const h = outboundStack(deps)((req) => { seen.push(req.target!.id); return connectFailure(); });
  const res = await h(request());
  assert.equal(res.status, 503);
  assert.equal(seen.length, 3);
  assert.ok(seen[0]!.startsWith('a/') && seen[1]!.startsWith('a/') && seen[0] !== seen[1], `first two in zone a: ${seen}`);
  assert.ok(seen[2]!.startsWith('b/'), `third in zone b: ${seen}`);
  assert.ok(res.flags?.includes('retried'));
});

test('a non-idempotent POST is not retried; the route can allow it', async () => {
  const { deps, events } = setup();
  let calls = 0;
  const h = outboundStack(deps)(() => { calls++; return Promise.resolve({ status: 503, headers: {}, body: null }); });
  const res = await h(request({ method: 'POST' }));
  assert.equal(res.status, 503);
  assert.equal(calls, 1);
  assert.ok(events.some((e) => e.kind === 'retry-denied' && e.reason === 'non-idempotent'));

  const allowed = setup({ config: CONFIG.replace('retry: { attempts: 3 }', 'retry: { attempts: 3, retryNonIdempotent: true }') });
  let calls2 = 0;
  await outboundStack(allowed.deps)(() => { calls2++; return Promise.resolve({ status: 503, headers: {}, body: null }); })(request({ method: 'POST' }));
  assert.equal(calls2, 3);
});

test('a request body that an attempt started reading is not sent again', async () => {
  const { deps, events } = setup();
  let calls = 0;
  const h = outboundStack(deps)(async (req) => {
    calls++;
    for await (const _ of req.body!) break;
    return { status: 503, headers: {}, body: null, flags: ['reset'] };
  });
  const body = (async function* () { yield new Uint8Array([1]); })();
  const res = await h(request({ method: 'PUT', body }));
  assert.equal(res.status, 503);
  assert.equal(calls, 1);
  assert.ok(events.some((e) => e.kind === 'retry-denied' && e.reason === 'body-consumed'));
});

test('the retry budget caps retries in flight at 20% of active requests', async () => {
  const { deps, events } = setup();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let retries = 0;
  const h = outboundStack(deps)(async (req) => {
    if (req.attempt === 1) return { status: 503, headers: {}, body: null, flags: ['reset'] };
    retries++;
    await gate;
    return ok(req);
  });
  const all = Array.from({ length: 100 }, () => h(request()));
  await new Promise((r) => setImmediate(r));
  release();
  const results = await Promise.all(all);
  assert.equal(retries, 20, '20% of 100 active requests');
  assert.equal(results.filter((r) => r.status === 200).length, 20);
  assert.equal(events.filter((e) => e.kind === 'retry-denied' && e.reason === 'budget-exhausted').length, 80);
});

test('with few requests, the minimum of 3 concurrent retries applies', async () => {
  const { deps } = setup();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let retries = 0;
  const h = outboundStack(deps)(async (req) => {
    if (req.attempt === 1) return { status: 503, headers: {}, body: null, flags: ['reset'] };
    retries++;
    await gate;
    return ok(req);
  });
  const all = Array.from({ length: 5 }, () => h(request()));
  await new Promise((r) => setImmediate(r));
  release();
  await Promise.all(all);
  assert.equal(retries, 3);
});

test('injected aborts and delays hit their percentages within ±3%', async () => {
  const faults = parseFaultSettings({ rules: [{ service: 'shop/catalog', delay: { fixed: '100ms', percent: 20 }, abort: { httpStatus: 503, percent: 10 } }] });
  const { deps, time, events } = setup({ faults });
  const h = outboundStack(deps)(ok);
  let aborted = 0;
  let delayed = 0;
  const n = 5000;
  for (let i = 0; i < n; i++) {
    const before = time.now();
    const res = await h(request());
    if (res.flags?.includes('fault-abort')) { aborted++; assert.equal(res.status, 503); }
    if (time.now() - before === 100) delayed++;
  }
  within(aborted / n, 0.1, 0.03, 'abort share');
  within(delayed / n, 0.2, 0.03, 'delay share');
  assert.equal(events.filter((e) => e.kind === 'fault' && e.fault === 'abort').length, aborted);
});

test('a gRPC request aborted by a fault gets HTTP 200 with grpc-status', async () => {
  const faults = parseFaultSettings({ rules: [{ abort: { grpcStatus: 14, percent: 100 }, headers: [{ name: 'x-chaos', present: true }] }] });
  const { deps } = setup({ faults });
  const h = outboundStack(deps)(ok);
  const res = await h(request({ protocol: 'grpc', method: 'POST', headers: { 'x-chaos': '1' } }));
  assert.equal(res.status, 200);
  assert.equal(res.headers['grpc-status'], '14');
  assert.equal((await h(request({ protocol: 'grpc', method: 'POST' }))).flags?.includes('fault-abort') ?? false, false);
});

test('the route timeout answers 504 and aborts the upstream call', async () => {
  const { deps, time } = setup();
  let upstreamSignal: AbortSignal | undefined;
  const h = outboundStack(deps)((req) => {
    upstreamSignal = req.signal;
    return new Promise(() => undefined); // never answers
  });
  const pending = h(request());
  await new Promise((r) => setImmediate(r));
  time.advance(999);
  assert.equal(upstreamSignal?.aborted, false);
  time.advance(1);
  const res = await pending;
  assert.equal(res.status, 504);
  assert.ok(res.flags?.includes('route-timeout'));
  assert.equal(upstreamSignal?.aborted, true);
  assert.equal(time.pending(), 0, 'no timer left behind');
});

test('a per-try timeout is retried on another endpoint and counts toward ejection', async () => {
  const { deps, time } = setup({ config: CONFIG.replace('retry: { attempts: 3 }', 'retry: { attempts: 3, perTryTimeout: 100ms, retryOn: [reset] }') });
  const seen: string[] = [];
  const h = outboundStack(deps)((req) => {
    seen.push(req.target!.id);
    return seen.length === 1 ? new Promise(() => undefined) : ok(req);
  });
  const pending = h(request());
  await new Promise((r) => setImmediate(r));
  time.advance(100);
  const res = await pending;
  assert.equal(res.status, 200);
  assert.equal(seen.length, 2);
  assert.notEqual(seen[0], seen[1]);
  assert.ok(res.flags?.includes('retried'));
});

test('the circuit breaker refuses requests beyond maxRequests at once', async () => {
  const { deps, events } = setup({ config: CONFIG.replace('maxRequests: 1000', 'maxRequests: 2') });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const h = outboundStack(deps)(async (req) => { await gate; return ok(req); });
  const a = h(request());
  const b = h(request());
  const c = await h(request());
  assert.equal(c.status, 503);
  assert.equal(c.headers['x-meshfed-overflow'], 'max-requests');
  assert.equal(c.headers['x-meshfed-code'], 'MESHFED_E_SIDECAR_CIRCUIT_OPEN');
  assert.ok(c.flags?.includes('circuit-open'));
  release();
  assert.deepEqual([(await a).status, (await b).status], [200, 200]);
  assert.equal((await h(request())).status, 200, 'room again once they finished');
  assert.equal(events.filter((e) => e.kind === 'overflow').length, 1);
});

test('an unknown service is answered 404 without touching the upstream', async () => {
  const { deps } = setup();
  let calls = 0;
  const res = await outboundStack(deps)((req) => { calls++; return ok(req); })(request({ service: 'shop/nope' }));
  assert.equal(res.status, 404);
  assert.equal(res.headers['x-meshfed-code'], 'MESHFED_E_SIDECAR_NO_ROUTE');
  assert.equal(calls, 0);
});

test('canary split and mirror through the stack', async () => {
  const cfg = CONFIG.replace('    weights: { a: 7000, b: 3000 }', `    weights: { a: 7000, b: 3000 }
    subsets: { v1: { v: "1" }, v2: { v: "2" } }
    routes: [ { name: canary, split: [ { subset: v1, weight: 80 }, { subset: v2, weight: 20 } ], mirror: { subset: v2, percent: 50 } } ]`)
    .replace(/"127\.0\.0\.1:(\d)00(\d)"/g, (_m, z, n) => `{ address: "127.0.0.1:${z}00${n}", labels: { v: "${n === '3' ? '2' : '1'}" } }`);
  const { deps } = setup({ config: cfg });
  let mirrors = 0;
  const withMirror: StackDeps = { ...deps, mirror: (req, target) => { mirrors++; assert.equal(target.subset, 'v2'); assert.equal(req.route?.subset, 'v2'); } };
  const h = outboundStack(withMirror)(ok);
  let v2 = 0;
  const n = 4000;
  for (let i = 0; i < n; i++) if ((await h(request())).endpoint!.endsWith('3')) v2++;
  within(v2 / n, 0.2, 0.03, 'v2 share');
  within(mirrors / n, 0.5, 0.03, 'mirror share');
});

const MIRROR_ALL = CONFIG.replace('    weights: { a: 7000, b: 3000 }', `    weights: { a: 7000, b: 3000 }
    routes: [ { name: shadow, mirror: { percent: 100 } } ]`);

/** A streamed body of `n` chunks of `size` bytes, chunk i filled with i % 251. */
function chunks(n: number, size: number): { body: AsyncIterable<Uint8Array>; bytes: Uint8Array } {
  const bytes = new Uint8Array(n * size);
  for (let i = 0; i < n; i++) bytes.fill(i % 251, i * size, (i + 1) * size);
  return {
    bytes,
    body: (async function* () { for (let i = 0; i < n; i++) { await Promise.resolve(); yield bytes.slice(i * size, (i + 1) * size); } })(),
  };
}

async function readAll(body: AsyncIterable<Uint8Array> | null): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of body ?? []) parts.push(c);
  const out = new Uint8Array(parts.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of parts) { out.set(c, at); at += c.byteLength; }
  return out;
}

test('a mirrored POST: the primary and the mirror each get the whole body, in order', async () => {
  const { deps, events } = setup({ config: MIRROR_ALL });
  const { body, bytes } = chunks(64, 4096);
  let mirrored: Promise<Uint8Array> | undefined;
  let mirrorSignal: AbortSignal | undefined;
  const withMirror: StackDeps = { ...deps, mirror: (req) => { mirrorSignal = req.signal; mirrored = readAll(req.body); } };
  let primary: Uint8Array | undefined;
  const res = await outboundStack(withMirror)(async (req) => { primary = await readAll(req.body); return ok(req); })(request({ method: 'POST', body }));
  assert.equal(res.status, 200);
  assert.deepEqual(primary, bytes);
  assert.ok(mirrored, 'the mirror was sent');
  assert.deepEqual(await mirrored, bytes);
  assert.equal(mirrorSignal?.aborted, false);
  assert.equal(events.filter((e) => e.kind === 'mirror').length, 1);
  assert.equal(events.filter((e) => e.kind === 'mirror-abandoned').length, 0);
});

test('a mirror that does not read is abandoned past its backlog cap while the primary gets every byte', async () => {
  const { deps, events } = setup({ config: MIRROR_ALL });
  const { body, bytes } = chunks(48, 64 * 1024); // 3 MiB, three times the cap
  let mirrorReq: ProxyRequest | undefined;
  const withMirror: StackDeps = { ...deps, mirror: (req) => { mirrorReq = req; } };
  let primary: Uint8Array | undefined;
  const res = await outboundStack(withMirror)(async (req) => { primary = await readAll(req.body); return ok(req); })(request({ method: 'POST', body }));
  assert.equal(res.status, 200);
  assert.deepEqual(primary, bytes);
  assert.equal(mirrorReq?.signal.aborted, true, 'the mirror request is cancelled');
  await assert.rejects(readAll(mirrorReq!.body), /mirror abandoned: fell more than 1048576 bytes behind/);
  const abandoned = events.filter((e) => e.kind === 'mirror-abandoned');
  assert.equal(abandoned.length, 1);
});

test('when the primary is answered without reading its body, the mirror is abandoned instead of waiting forever', async () => {
  const { deps, events } = setup({ config: MIRROR_ALL });
  let mirrorReq: ProxyRequest | undefined;
  const withMirror: StackDeps = { ...deps, mirror: (req) => { mirrorReq = req; } };
  const res = await outboundStack(withMirror)(() => Promise.resolve({ status: 413, headers: {}, body: null }))(request({ method: 'POST', body: chunks(4, 10).body }));
  assert.equal(res.status, 413);
  assert.equal(mirrorReq?.signal.aborted, true);
  await assert.rejects(readAll(mirrorReq!.body), /without reading its body/);
  assert.equal(events.filter((e) => e.kind === 'mirror-abandoned').length, 1);
});

test('a failing client body fails the primary attempt and ends the mirror with an error', async () => {
  const { deps } = setup({ config: MIRROR_ALL });
  let mirrored: Promise<Uint8Array> | undefined;
  const withMirror: StackDeps = { ...deps, mirror: (req) => { mirrored = readAll(req.body); } };
  const body = (async function* () { yield new Uint8Array([1, 2, 3]); throw new Error('client reset'); })();
  const res = await outboundStack(withMirror)(async (req) => {
    try { await readAll(req.body); } catch { return { status: 502, headers: {}, body: null, flags: ['reset'] }; }
    return ok(req);
  })(request({ method: 'POST', body }));
  assert.equal(res.status, 502);
  await assert.rejects(mirrored!, /the primary body failed/);
});

test('every local answer has one shape: text/plain, x-meshfed-code, x-meshfed-reason and a "meshfed: " body', async () => {
  const { deps } = setup({ config: CONFIG.replace('maxRequests: 1000', 'maxRequests: 1') });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const h = outboundStack(deps)(async (req) => { await gate; return ok(req); });
  const held = h(request());
  const answers = [await h(request({ service: 'shop/nope' })), await h(request())];
  release();
  await held;
  for (const res of answers) {
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    assert.match(String(res.headers['x-meshfed-code']), /^MESHFED_E_SIDECAR_/);
    const text = new TextDecoder().decode(await readAll(res.body));
    assert.equal(text, `meshfed: ${String(res.headers['x-meshfed-reason'])}\n`);
    assert.equal(res.headers['content-length'], String(Buffer.byteLength(text)));
  }
});

test('inbound: authz denies an unlisted identity with 403 and its reason; a listed one reaches the app', async () => {
  const { deps, events } = setup({ config: `${CONFIG}\nauthz: { allow: { shop/catalog: ["spiffe://td/ns/shop/sa/web"] } }\n` });
  let appCalls = 0;
  const h = inboundStack(deps)(() => { appCalls++; return Promise.resolve({ status: 200, headers: {}, body: null }); });
  const denied = await h(request({ peerIdentity: 'spiffe://td/ns/shop/sa/evil' }));
  assert.equal(denied.status, 403);
  let text = '';
  for await (const c of denied.body!) text += new TextDecoder().decode(c);
  assert.match(text, /spiffe:\/\/td\/ns\/shop\/sa\/evil is not on the allow list of shop\/catalog/);
  assert.equal(appCalls, 0);
  assert.equal((await h(request({ peerIdentity: 'spiffe://td/ns/shop/sa/web' }))).status, 200);
  assert.equal(appCalls, 1);
  assert.equal(events.filter((e) => e.kind === 'authz-denied').length, 1);
});

/** try-end and local-failure events, as the relayed stats count them: zone -> outcome -> count, and local classes. */
function chargedTo(events: readonly StackEvent[]): { tries: Record<string, Record<string, number>>; local: Record<string, number> } {
  const tries: Record<string, Record<string, number>> = {};
  const local: Record<string, number> = {};
  for (const e of events) {
    if (e.kind === 'try-end' && e.outcome !== undefined) (tries[e.zone] ??= {})[e.outcome] = (tries[e.zone]?.[e.outcome] ?? 0) + 1;
    if (e.kind === 'local-failure') local[`${e.zone}:${e.class}`] = (local[`${e.zone}:${e.class}`] ?? 0) + 1;
  }
  return { tries, local };
}

test('stats events: each try is charged to the zone it went to, a retry to where it went next', async () => {
  const { deps, events } = setup({ config: CONFIG.replace('weights: { a: 7000, b: 3000 }', 'weights: { a: 10000, b: 0 }\n    tiers: { a: 0, b: 1 }') });
  const upstream: Handler = async (req) => req.target!.zone === 'a'
    ? { status: 503, headers: {}, body: null, flags: ['connect-failure'], endpoint: req.target!.id, zone: 'a' }
    : ok(req);
  const res = await outboundStack(deps)(upstream)(request());
  assert.equal(res.status, 200);
  const c = chargedTo(events);
  // Two tries fail on a (another endpoint there first), then a is excluded and the third goes to b.
  assert.equal(c.tries['a']?.['connect_failure'], 2);
  assert.equal(c.tries['b']?.['success'], 1);
  assert.deepEqual(c.local, {});
  assert.equal(events.filter((e) => e.kind === 'try-start').length, events.filter((e) => e.kind === 'try-end').length);
});

test('stats events: an injected outbound abort is only a local fault_injected, never a try to any zone', async () => {
  const faults = parseFaultSettings({ rules: [{ service: 'shop/catalog', abort: { httpStatus: 503, percent: 100 } }] });
  const { deps, events } = setup({ faults });
  const res = await outboundStack(deps)(ok)(request());
  assert.equal(res.status, 503);
  const c = chargedTo(events);
  assert.deepEqual(c, { tries: {}, local: { ':fault_injected': 1 } });
});

test('stats events: no endpoint and an exclusive row with no allowed zone are local no_endpoint, answered with their code', async () => {
  const cfg = `
zone: a
zones: { a: { network: n1 }, b: { network: n1 } }
services:
  shop/catalog:
    endpoints: { b: ["127.0.0.1:2001"] }
    weights: { a: 10000 }
    exclusive: true
`;
  const { deps, events } = setup({ config: cfg });
  const res = await outboundStack(deps)(ok)(request());
  assert.equal(res.status, 503);
  assert.equal(res.headers['x-meshfed-code'], 'MESHFED_E_NO_ALLOWED_ZONE');
  assert.match(String(res.headers['x-meshfed-reason']), /no allowed zone can serve shop\/catalog/);
  assert.deepEqual(chargedTo(events), { tries: {}, local: { ':no_endpoint': 1 } });
});

test('stats events: a try cut by the route deadline is a timeout of its zone; a client that left is charged to nobody', async () => {
  const { deps, events, time } = setup();
  const hang: Handler = (req) => new Promise((resolve) => req.signal.addEventListener('abort', () => resolve({ status: 504, headers: {}, body: null, flags: ['timeout'] })));
  const pending = outboundStack(deps)(hang)(request());
  await new Promise((r) => setImmediate(r));
  time.advance(1000);
  assert.equal((await pending).status, 504);
  await new Promise((r) => setImmediate(r));
  const zones = chargedTo(events).tries;
  assert.equal(Object.values(zones).reduce((s, o) => s + (o['timeout'] ?? 0), 0), 1, JSON.stringify(zones));

  const gone = setup();
  const ac = new AbortController();
  const p2 = outboundStack(gone.deps)(hang)(request({ signal: ac.signal }));
  await new Promise((r) => setImmediate(r));
  ac.abort(new Error('client went away'));
  await p2;
  await new Promise((r) => setImmediate(r));
  const ends = gone.events.filter((e) => e.kind === 'try-end');
  assert.equal(ends.length, 1);
  assert.equal((ends[0] as Extract<StackEvent, { kind: 'try-end' }>).outcome, undefined);
});
