// Unit tests of Hello/report validation and of the report -> ZoneState / Directory conversion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ZoneReport__Output } from '../../api/generated/meshfed/v1/ZoneReport.ts';
import type { ServiceReport__Output } from '../../api/generated/meshfed/v1/ServiceReport.ts';
import type { Hello__Output } from '../../api/generated/meshfed/v1/Hello.ts';
import { buildDirectory, buildSnapshot, callerEvidence, histogramQuantile, parseStoredReport, toZoneState, validateHello, validateReport, type StoredZoneReport } from './report.ts';
import type { AskedReport__Output } from '../../api/generated/meshfed/v1/AskedReport.ts';

function service(over: Partial<ServiceReport__Output> = {}): ServiceReport__Output {
  return {
    namespace: 'shop', name: 'cart', healthy_endpoints: 2, total_endpoints: 3, capacity_rps: 500, rps: 120, in_flight: 4,
    successes: '118', errors: { http_5xx: '2', connect_failure: '0', timeout: '1', reset: '0' }, latency: null,
    endpoints: [{ address: '10.0.0.1', port: 8080, healthy: true, labels: { v: '1' } }], ...over,
  };
}

function report(over: Partial<ZoneReport__Output> = {}): ZoneReport__Output {
  return { zone: 'a1', sequence: '1', sent_at_unix_ms: '1700000000000', window_ms: 1000, services: [service()], rtts: [{ zone: 'b1', rtt_ms: 12.5 }], asked: [], ...over };
}

const hello: Hello__Output = { locality: { cloud: 'aws', region: 'us-east-1', zone: 'a1' }, cluster: 'c1', network: 'n1', gateway_address: '10.0.0.9:15443', agent_id: 'x', agent_version: '1' };

test('a valid Hello yields the zone identity', () => {
  const r = validateHello(hello);
  assert.ok(r.ok);
  assert.deepEqual(r.value.locality, { cloud: 'aws', region: 'us-east-1', zone: 'a1' });
  assert.equal(r.value.gatewayAddress, '10.0.0.9:15443');
});

test('a Hello without locality or with a bad zone name is refused', () => {
  for (const h of [null, { ...hello, locality: null }, { ...hello, locality: { cloud: 'aws', region: 'us-east-1', zone: 'A/1' } }, { ...hello, network: 'a b' }]) {
    const r = validateHello(h);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.code, 'MESHFED_E_STREAM_BAD_HELLO');
  }
});

test('a valid report passes unchanged', () => {
  const r = validateReport(report(), 'a1');
  assert.ok(r.ok);
});

test('a report for another zone is refused as wrong zone', () => {
  const r = validateReport(report({ zone: 'b1' }), 'a1');
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.error.code, 'MESHFED_E_STREAM_WRONG_ZONE');
    assert.match(r.error.message, /"b1".*"a1"/);
  }
});

test('malformed reports are refused with a path-named message', () => {
  const cases: [Partial<ZoneReport__Output>, RegExp][] = [
    [{ services: [service({ capacity_rps: NaN })] }, /services\[0\]\.capacity_rps/],
    [{ services: [service({ capacity_rps: Infinity })] }, /capacity_rps/],
    [{ services: [service({ rps: -1 })] }, /services\[0\]\.rps/],
    [{ services: [service({ healthy_endpoints: 5, total_endpoints: 2 })] }, /healthy_endpoints/],
    [{ services: [service({ namespace: '' })] }, /namespace/],
    [{ services: [service({ name: 'a/b' })] }, /name/],
    [{ services: [service(), service()] }, /listed twice/],
    [{ services: [service({ successes: '99999999999999999999' })] }, /successes/],
    [{ services: [service({ endpoints: [{ address: '', port: 1, healthy: true, labels: {} }] })] }, /endpoints\[0\]\.address/],
    [{ services: [service({ endpoints: [{ address: 'x', port: 0, healthy: true, labels: {} }] })] }, /port/],
    [{ services: [service({ latency: { bounds_ms: [5, 1], counts: ['1', '1', '1'], sum_ms: 1, count: '3' } })] }, /increase/],
    [{ services: [service({ latency: { bounds_ms: [1], counts: ['1'], sum_ms: 1, count: '1' } })] }, /one more entry/],
    [{ rtts: [{ zone: 'b1', rtt_ms: -3 }] }, /rtts\[0\]\.rtt_ms/],
    [{ rtts: [{ zone: 'B 1', rtt_ms: 3 }] }, /rtts\[0\]\.zone/],
  ];
  for (const [over, pattern] of cases) {
    const r = validateReport(report(over), 'a1');
    assert.equal(r.ok, false, `expected refusal for ${pattern}`);
    if (!r.ok) {
      assert.equal(r.error.code, 'MESHFED_E_REPORT_INVALID');
      assert.match(r.error.message, pattern);
    }
  }
});

test('absurd counts of services, endpoints and rtts are refused by the limits', () => {
  const limits = { maxServices: 2, maxEndpointsPerService: 1, maxRtts: 1 };
  const many = [service({ name: 'a' }), service({ name: 'b' }), service({ name: 'c' })];
  assert.match(JSON.stringify(validateReport(report({ services: many }), 'a1', limits)), /exceed the limit of 2/);
  const eps = [{ address: 'x', port: 1, healthy: true, labels: {} }, { address: 'y', port: 1, healthy: true, labels: {} }];
  assert.match(JSON.stringify(validateReport(report({ services: [service({ endpoints: eps })] }), 'a1', limits)), /endpoints.*limit of 1/);
  assert.match(JSON.stringify(validateReport(report({ rtts: [{ zone: 'b', rtt_ms: 1 }, { zone: 'c', rtt_ms: 1 }] }), 'a1', limits)), /rtts/);
});

test('histogramQuantile reads p50 and p99 from a reported histogram', () => {
  assert.equal(histogramQuantile({ bounds_ms: [1, 5, 10], counts: ['0', '0', '8', '0'], sum_ms: 0, count: '8' }, 0.5), 7.5);
  assert.equal(histogramQuantile({ bounds_ms: [1, 5], counts: ['9', '0', '0'], sum_ms: 0, count: '9' }, 0.99)! <= 1, true);
  assert.equal(histogramQuantile({ bounds_ms: [1], counts: ['0', '0'], sum_ms: 0, count: '0' }, 0.5), undefined);
  assert.equal(histogramQuantile(null, 0.5), undefined);
});

function asked(name: string, rps: number, destinations: { zone: string; requests: number; successes: number; http5xx?: number; connect?: number; knowing?: number; ejectingAll?: number }[], faultInjected = 0): AskedReport__Output {
  return {
    namespace: 'shop', name, rps, in_flight: 0,
    destinations: destinations.map((d) => ({
      zone: d.zone, requests: String(d.requests), successes: String(d.successes), latency: null, sidecars_knowing: d.knowing ?? 0, sidecars_ejecting_all: d.ejectingAll ?? 0,
      errors: { http_5xx: String(d.http5xx ?? 0), connect_failure: String(d.connect ?? 0), timeout: '0', reset: '0' },
    })),
    local: { fault_injected: String(faultInjected), overflow: '0', denied: '0', no_endpoint: '0', timeout: '0' },
  };
}

test('an asked report is validated: names, one outcome per zone, counters that add up', () => {
  assert.ok(validateReport(report({ asked: [asked('cart', 5, [{ zone: 'b1', requests: 10, successes: 8, http5xx: 2 }])] }), 'a1').ok);
  const cases: [AskedReport__Output[], RegExp][] = [
    [[asked('cart', 1, []), asked('cart', 1, [])], /asked\[1\]: service shop\/cart is listed twice/],
    [[asked('Bad/Name', 1, [])], /asked\[0\]\.name/],
    [[asked('cart', -1, [])], /asked\[0\]\.rps/],
    [[asked('cart', 1, [{ zone: 'b1', requests: 1, successes: 1 }, { zone: 'b1', requests: 1, successes: 1 }])], /destinations\[1\]: zone b1 is listed twice/],
    [[asked('cart', 1, [{ zone: 'B_1', requests: 1, successes: 1 }])], /destinations\[0\]\.zone/],
    [[asked('cart', 1, [{ zone: 'b1', requests: 1, successes: 1, http5xx: 1 }])], /successes \+ errors exceed requests/],
  ];
  for (const [a, re] of cases) {
    const r = validateReport(report({ asked: a }), 'a1');
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.code, 'MESHFED_E_REPORT_INVALID');
      assert.match(r.error.message, re);
    }
  }
});

function storedFor(zone: string, services: ServiceReport__Output[], a: AskedReport__Output[]): StoredZoneReport {
  return {
    identity: { locality: { cloud: 'aws', region: 'us-east-1', zone }, cluster: 'c1', network: 'n1', gatewayAddress: '', agentId: zone, agentVersion: '1' },
    report: report({ zone, services, asked: a, rtts: [] }),
    receivedAt: 1,
    replicaId: 'r1',
  };
}

test('a failure a client saw is charged to the zone that served it, never to the client\'s zone', () => {
  // Zone a1's clients call cart: every request to b1 fails with 500, every one to a1 succeeds. a1 also hosts cart,
  // and its own endpoints served cleanly.
  const healthyCart = service({ successes: '50', errors: { http_5xx: '0', connect_failure: '0', timeout: '0', reset: '0' } });
  const a1 = storedFor('a1', [healthyCart], [asked('cart', 12, [{ zone: 'a1', requests: 30, successes: 30 }, { zone: 'b1', requests: 30, successes: 0, http5xx: 30 }], 7)]);
  const b1 = storedFor('b1', [healthyCart], [asked('cart', 3, [{ zone: 'b1', requests: 10, successes: 4, connect: 6 }])]);
  const snap = buildSnapshot(new Map([['a1', a1], ['b1', b1]]), new Map(), () => false, 0);
  const [za, zb] = snap.zones;
  assert.equal(za!.locality.zone, 'a1');
  const aCart = za!.services.get('shop/cart')!;
  const bCart = zb!.services.get('shop/cart')!;
  // a1's own health: its served stats are clean, and its callers saw only successes from it.
  assert.deepEqual(aCart.errors, { http5xx: 0, connectFailure: 0, timeout: 0, reset: 0 });
  assert.deepEqual(aCart.callers, {
    requests: 30, successes: 30, errors: { http5xx: 0, connectFailure: 0, timeout: 0, reset: 0 }, sources: ['a1'], sidecarsKnowing: 0, sidecarsEjectingAll: 0, ejectingSources: [],
    bySource: [{ zone: 'a1', requests: 30, successes: 30, errors: { http5xx: 0, connectFailure: 0, timeout: 0, reset: 0 }, sidecarsKnowing: 0, sidecarsEjectingAll: 0 }],
  });
  // b1 carries what its callers saw: a1's 30 500s plus b1's own clients' 6 connect failures.
  assert.deepEqual(bCart.callers, {
    requests: 40, successes: 4, errors: { http5xx: 30, connectFailure: 6, timeout: 0, reset: 0 }, sources: ['a1', 'b1'], sidecarsKnowing: 0, sidecarsEjectingAll: 0, ejectingSources: [],
    // Each source's own outcomes stay apart: b1's clients reach their local copy (6 connect failures of 10), a1's get 500s.
    bySource: [
      { zone: 'a1', requests: 30, successes: 0, errors: { http5xx: 30, connectFailure: 0, timeout: 0, reset: 0 }, sidecarsKnowing: 0, sidecarsEjectingAll: 0 },
      { zone: 'b1', requests: 10, successes: 4, errors: { http5xx: 0, connectFailure: 6, timeout: 0, reset: 0 }, sidecarsKnowing: 0, sidecarsEjectingAll: 0 },
    ],
  });
  // Demand is what each zone's clients asked, and the local (injected) failures are nobody's errors.
  assert.equal(za!.demandRps.get('shop/cart'), 12);
  assert.equal(zb!.demandRps.get('shop/cart'), 3);
});

test('callers that ejected every endpoint of a zone are evidence even when they sent it nothing', () => {
  const host = storedFor('a1', [service()], []);
  const c1 = storedFor('c1', [], [asked('cart', 0, [{ zone: 'a1', requests: 0, successes: 0, knowing: 2, ejectingAll: 2 }])]);
  const d1 = storedFor('d1', [], [asked('cart', 0, [{ zone: 'a1', requests: 0, successes: 0, knowing: 1, ejectingAll: 0 }])]);
  const snap = buildSnapshot(new Map([['a1', host], ['c1', c1], ['d1', d1]]), new Map(), () => false, 0);
  const ev = snap.zones.find((z) => z.locality.zone === 'a1')!.services.get('shop/cart')!.callers!;
  assert.equal(ev.requests, 0);
  assert.deepEqual([ev.sidecarsKnowing, ev.sidecarsEjectingAll, ev.ejectingSources], [3, 2, ['c1']]);
  // Per source too, so a source's own sidecars' ejection is its own evidence about its path.
  assert.deepEqual(ev.bySource?.map((x) => [x.zone, x.requests, x.sidecarsKnowing, x.sidecarsEjectingAll]), [['c1', 0, 2, 2], ['d1', 0, 1, 0]]);
  const bad = validateReport(report({ asked: [asked('cart', 0, [{ zone: 'a1', requests: 0, successes: 0, knowing: 1, ejectingAll: 2 }])] }), 'a1');
  assert.equal(bad.ok, false);
});

test('per-source evidence is sorted by source zone whatever order the reports come in, and sums to the totals', () => {
  const host = storedFor('a1', [service()], []);
  const z = storedFor('z9', [], [asked('cart', 5, [{ zone: 'a1', requests: 20, successes: 0, connect: 20 }])]);
  const b = storedFor('b2', [], [asked('cart', 5, [{ zone: 'a1', requests: 50, successes: 50 }])]);
  const ev = callerEvidence([host, z, b]).get('shop/cart')!.get('a1')!;
  assert.deepEqual(ev.bySource?.map((x) => x.zone), ['b2', 'z9']);
  assert.equal(ev.bySource!.reduce((n, x) => n + x.requests, 0), ev.requests);
  assert.equal(ev.bySource!.reduce((n, x) => n + x.errors.connectFailure, 0), ev.errors.connectFailure);
});

test('a zone that calls a service it does not host still has demand; departed zones give no evidence', () => {
  const host = storedFor('a1', [service()], []);
  const caller = storedFor('c1', [], [asked('cart', 9, [{ zone: 'a1', requests: 9, successes: 0, http5xx: 9 }])]);
  const snap = buildSnapshot(new Map([['a1', host], ['c1', caller]]), new Map(), () => false, 0);
  assert.equal(snap.zones.find((z) => z.locality.zone === 'c1')!.demandRps.get('shop/cart'), 9);
  assert.equal(snap.zones.find((z) => z.locality.zone === 'a1')!.services.get('shop/cart')!.callers?.errors.http5xx, 9);
  const gone = buildSnapshot(new Map([['a1', host]]), new Map([['c1', { last: caller, departedAt: 0 }]]), () => false, 40_000);
  const c1 = gone.zones.find((z) => z.locality.zone === 'c1')!;
  assert.equal(c1.alive, false);
  assert.equal(c1.demandRps.size, 0);
  assert.equal(c1.leaseGoneForMs, 40_000, 'how long ago its lease went');
  assert.equal(gone.zones.find((z) => z.locality.zone === 'a1')!.services.get('shop/cart')!.callers, undefined);
  assert.equal(callerEvidence([]).size, 0);
});

const stored: StoredZoneReport = {
  identity: { locality: { cloud: 'aws', region: 'us-east-1', zone: 'a1' }, cluster: 'c1', network: 'n1', gatewayAddress: 'gw:1', agentId: 'x', agentVersion: '1' },
  report: report(),
  receivedAt: 1234,
  replicaId: 'r1',
};

test('toZoneState carries stats, errors, RTTs, drain and liveness', () => {
  const z = toZoneState(stored, true, false);
  assert.equal(z.locality.zone, 'a1');
  assert.equal(z.alive, false);
  assert.equal(z.drained, true);
  assert.equal(z.reportedAt, 1234);
  const s = z.services.get('shop/cart');
  assert.ok(s);
  assert.equal(s.healthyEndpoints, 2);
  assert.equal(s.capacityRps, 500);
  assert.equal(s.successes, 118);
  assert.deepEqual(s.errors, { http5xx: 2, connectFailure: 0, timeout: 1, reset: 0 });
  assert.equal(z.rttMs.get('b1'), 12.5);
});

test('parseStoredReport round-trips and rejects junk', () => {
  assert.deepEqual(parseStoredReport(JSON.stringify(stored)), stored);
  assert.equal(parseStoredReport('not json'), undefined);
  assert.equal(parseStoredReport('{"identity":{}}'), undefined);
});

test('the Directory is sorted, lists endpoints, and its version follows content only', () => {
  const b = { ...stored, identity: { ...stored.identity, locality: { ...stored.identity.locality, zone: 'b1' } } };
  const d1 = buildDirectory([b, stored]);
  assert.deepEqual(d1.zones?.map((z) => z.locality?.zone), ['a1', 'b1']);
  assert.equal(d1.zones?.[0]?.services?.[0]?.endpoints?.[0]?.address, '10.0.0.1');
  const d2 = buildDirectory([stored, { ...b, receivedAt: 99 }]);
  assert.equal(d1.version, d2.version);
  const d3 = buildDirectory([stored]);
  assert.notEqual(d1.version, d3.version);
});

test('a table whose shares stand still but whose reasons changed has a new reasons digest', async () => {
  const { reasonsDigest } = await import('./leader.ts');
  const table = (reason: string) => ({
    service: 'shop/cart', namespace: 'shop', name: 'cart', version: 'v', computedAt: 1,
    rows: [{ sourceZone: 'a1', panic: false, targets: [{ zone: 'a1', basisPoints: 10000, tier: 0, reason }] }],
  });
  assert.equal(reasonsDigest(table('no demand measured from this zone')), reasonsDigest(table('no demand measured from this zone')));
  assert.notEqual(reasonsDigest(table('no demand measured from this zone')), reasonsDigest(table('demand 13 rps fits tier 0')));
});
