// The picker: weighted zone split, failover when a zone is out, P2C least-request, exclusion for retries, panic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPicker, p2c, weightedChoice, type PickerInput } from './picker.ts';
import { createOutlierState, recordOutcome, type OutlierState } from './outlier.ts';
import { seededRandom } from '../../common/random.ts';
import type { EndpointRef, Pick } from '../types.ts';

function ep(zone: string, n: number, labels?: Record<string, string>): EndpointRef {
  const r: EndpointRef = { id: `${zone}/${n}`, address: '127.0.0.1', port: 1000 + n, zone, network: 'n1' };
  return labels ? { ...r, labels } : r;
}
const A = [ep('a', 1), ep('a', 2), ep('a', 3)];
const B = [ep('b', 1), ep('b', 2)];
const C = [ep('c', 1)];
const byZone = new Map([['a', A], ['b', B], ['c', C]]);
const od = { consecutive5xx: 1, consecutiveConnectFailures: 1, baseEjectionTime: 1000, maxEjectionTime: 10000, maxEjectionPercent: 100 };

function input(over: Partial<PickerInput> = {}): PickerInput {
  return { endpointsByZone: byZone, weights: { a: 7000, b: 3000 }, inFlight: () => 0, random: seededRandom(1), ...over };
}
function complete(p: Pick): Extract<Pick, { kind: 'complete' }> {
  assert.equal(p.kind, 'complete');
  return p as Extract<Pick, { kind: 'complete' }>;
}
function ejectAll(ids: string[], now = 0): OutlierState {
  let s = createOutlierState(od, [...A, ...B, ...C]);
  for (const id of ids) s = recordOutcome(s, id, '5xx', now).state;
  return s;
}
function shares(picker: ReturnType<typeof buildPicker>, n: number, now = 0): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const z = complete(picker.pick({ now })).zone;
    m.set(z, (m.get(z) ?? 0) + 1);
  }
  return m;
}

test('weightedChoice follows the weights and ignores zero weights', () => {
  const r = seededRandom(7);
  const counts = { x: 0, y: 0, z: 0 };
  const w = { x: 1, y: 3, z: 0 };
  for (let i = 0; i < 40000; i++) counts[weightedChoice(['x', 'y', 'z'] as const, (k) => w[k], r)!]++;
  assert.equal(counts.z, 0);
  assert.ok(Math.abs(counts.y / 40000 - 0.75) < 0.01, `y share ${counts.y / 40000}`);
  assert.equal(weightedChoice(['x'], () => 0, r), undefined);
});

test('weightedChoice never goes past the last item, even for a random of 0.9999999', () => {
  assert.equal(weightedChoice(['x', 'y'], () => 1, () => 0.9999999), 'y');
  assert.equal(weightedChoice(['x', 'y'], () => 1, () => 0), 'x');
});

test('70/30 weights split 20000 picks within ±1%', () => {
  const m = shares(buildPicker(input()), 20000);
  assert.ok(Math.abs(m.get('a')! / 20000 - 0.7) < 0.01);
  assert.ok(Math.abs(m.get('b')! / 20000 - 0.3) < 0.01);
  assert.equal(m.get('c'), undefined, 'a zone with weight 0 gets nothing while weighted zones can serve');
});

test('when every endpoint of a zone is ejected, its traffic goes to the other weighted zone at once', () => {
  const picker = buildPicker(input({ outlier: ejectAll(['a/1', 'a/2', 'a/3']) }));
  const m = shares(picker, 2000);
  assert.equal(m.get('b'), 2000);
  const p = complete(picker.pick({ now: 0 }));
  assert.deepEqual(p.flags, ['failover']);
});

test('the spill follows the remaining weights in proportion', () => {
  const picker = buildPicker(input({ weights: { a: 5000, b: 3000, c: 2000 }, outlier: ejectAll(['a/1', 'a/2', 'a/3']) }));
  const m = shares(picker, 20000);
  assert.ok(Math.abs(m.get('b')! / 20000 - 0.6) < 0.015, `b ${m.get('b')}`);
  assert.ok(Math.abs(m.get('c')! / 20000 - 0.4) < 0.015);
});

test('ejected endpoints come back when their time passes, with the same picker', () => {
  const picker = buildPicker(input({ outlier: ejectAll(['a/1', 'a/2', 'a/3'], 0) }));
  assert.equal(shares(picker, 500, 999).get('a'), undefined);
  assert.ok((shares(picker, 500, 1000).get('a') ?? 0) > 250);
});

test('an ejected endpoint is skipped inside a zone that still has others', () => {
  const picker = buildPicker(input({ weights: { a: 10000 }, outlier: ejectAll(['a/1']) }));
  for (let i = 0; i < 500; i++) assert.notEqual(complete(picker.pick({ now: 0 })).endpoint.id, 'a/1');
});

test('unreachable endpoints are never picked, even in panic', () => {
  const picker = buildPicker(input({ weights: { a: 10000 }, unreachable: new Set(['a/1', 'a/2']), outlier: ejectAll(['a/3', 'b/1', 'b/2', 'c/1']) }));
  for (let i = 0; i < 200; i++) {
    const p = complete(picker.pick({ now: 0 }));
    assert.ok(p.endpoint.id !== 'a/1' && p.endpoint.id !== 'a/2');
  }
  const dead = buildPicker(input({ unreachable: new Set([...A, ...B, ...C].map((e) => e.id)) }));
  assert.deepEqual(dead.pick({ now: 0 }), { kind: 'unavailable', reason: 'every endpoint is unreachable' });
});

test('when every weighted zone is out, a zone with weight 0 takes the traffic (unweighted spill)', () => {
  const picker = buildPicker(input({ outlier: ejectAll(['a/1', 'a/2', 'a/3', 'b/1', 'b/2']) }));
  const p = complete(picker.pick({ now: 0 }));
  assert.equal(p.zone, 'c');
  assert.deepEqual(p.flags, ['unweighted-spill', 'failover']);
});

test('when every endpoint everywhere is ejected, the picker panics and spreads by weight', () => {
  const picker = buildPicker(input({ outlier: ejectAll([...A, ...B, ...C].map((e) => e.id)) }));
  const m = shares(picker, 10000);
  assert.ok(Math.abs(m.get('a')! / 10000 - 0.7) < 0.02);
  assert.ok(complete(picker.pick({ now: 0 })).flags!.includes('panic'));
});

test('exclude: a retry avoids the endpoint tried, staying in the zone while it has others', () => {
  const picker = buildPicker(input({ weights: { a: 10000 } }));
  const ex = { endpoints: new Set(['a/1']), zones: new Set<string>() };
  for (let i = 0; i < 300; i++) {
    const p = complete(picker.pick({ now: 0 }, ex));
    assert.equal(p.zone, 'a');
    assert.notEqual(p.endpoint.id, 'a/1');
  }
});

test('exclude: an excluded zone sends the retry to another zone; excluding everything relaxes instead of failing', () => {
  const picker = buildPicker(input());
  const p = complete(picker.pick({ now: 0 }, { endpoints: new Set(), zones: new Set(['a']) }));
  assert.equal(p.zone, 'b');
  const all = { endpoints: new Set([...A, ...B, ...C].map((e) => e.id)), zones: new Set(['a', 'b', 'c']) };
  const q = complete(picker.pick({ now: 0 }, all));
  assert.ok(q.flags!.includes('excluded-relaxed'));
});

test('P2C sends to the less loaded of two and spreads load', () => {
  const load = new Map([['a/1', 10], ['a/2', 0], ['a/3', 0]]);
  const picker = buildPicker(input({ weights: { a: 10000 }, inFlight: (id) => load.get(id) ?? 0 }));
  let busy = 0;
  for (let i = 0; i < 3000; i++) if (complete(picker.pick({ now: 0 })).endpoint.id === 'a/1') busy++;
  // a/1 wins only when both choices are a/1, which P2C never draws (distinct pair): it is never chosen.
  assert.equal(busy, 0);
  assert.equal(p2c([A[0]!], () => 0, seededRandom(1)), A[0]);
  assert.equal(p2c([], () => 0, seededRandom(1)), undefined);
});

test('P2C over equal load uses every endpoint about evenly', () => {
  const r = seededRandom(3);
  const counts = new Map<string, number>();
  for (let i = 0; i < 30000; i++) {
    const e = p2c(A, () => 0, r)!;
    counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
  }
  for (const id of ['a/1', 'a/2', 'a/3']) assert.ok(Math.abs(counts.get(id)! / 30000 - 1 / 3) < 0.02, `${id} ${counts.get(id)}`);
});

test('subsets select endpoints by labels and rewrite the gateway SNI', () => {
  const gw = { address: '10.0.0.1', port: 15443, sni: 'outbound_.80_._.cat.shop.svc.meshfed' };
  const eps = new Map([
    ['a', [{ ...ep('a', 1, { version: 'v1' }), viaGateway: gw }, { ...ep('a', 2, { version: 'v2' }), viaGateway: gw }]],
  ]);
  const picker = buildPicker(input({
    endpointsByZone: eps, weights: { a: 10000 }, subsets: { v2: { version: 'v2' }, v3: { version: 'v3' } },
    gatewaySni: (s) => `outbound_.80_.${s}_.cat.shop.svc.meshfed`,
  }));
  for (let i = 0; i < 50; i++) {
    const p = complete(picker.pick({ now: 0, subset: 'v2' }));
    assert.equal(p.endpoint.id, 'a/2');
    assert.equal(p.endpoint.viaGateway?.sni, 'outbound_.80_.v2_.cat.shop.svc.meshfed');
  }
  assert.equal(complete(picker.pick({ now: 0 })).endpoint.viaGateway?.sni, gw.sni);
  assert.deepEqual(picker.pick({ now: 0, subset: 'v3' }), { kind: 'unavailable', reason: 'no endpoints in subset "v3"' });
  assert.deepEqual(picker.pick({ now: 0, subset: 'nope' }), { kind: 'unavailable', reason: 'unknown subset "nope"' });
});

test('a picker that is not ready queues; one with no endpoints is unavailable', () => {
  assert.deepEqual(buildPicker(input({ ready: false })).pick({ now: 0 }), { kind: 'queue' });
  assert.deepEqual(buildPicker(input({ endpointsByZone: new Map() })).pick({ now: 0 }), { kind: 'unavailable', reason: 'no endpoints' });
});

test('with no weight row at all, zones are used evenly', () => {
  const m = shares(buildPicker(input({ weights: {} })), 9000);
  for (const z of ['a', 'b', 'c']) assert.ok(Math.abs(m.get(z)! / 9000 - 1 / 3) < 0.02);
});
