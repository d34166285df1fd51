// Unit tests of Hello/report validation and of the report -> ZoneState / Directory conversion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ZoneReport__Output } from '../../api/generated/meshfed/v1/ZoneReport.ts';
import type { ServiceReport__Output } from '../../api/generated/meshfed/v1/ServiceReport.ts';
import type { Hello__Output } from '../../api/generated/meshfed/v1/Hello.ts';
import { buildDirectory, histogramP50, parseStoredReport, toZoneState, validateHello, validateReport, type StoredZoneReport } from './report.ts';

function service(over: Partial<ServiceReport__Output> = {}): ServiceReport__Output {
  return {
    namespace: 'shop', name: 'cart', healthy_endpoints: 2, total_endpoints: 3, capacity_rps: 500, rps: 120, in_flight: 4,
    successes: '118', errors: { http_5xx: '2', connect_failure: '0', timeout: '1', reset: '0' }, latency: null,
    endpoints: [{ address: '10.0.0.1', port: 8080, healthy: true, labels: { v: '1' } }], ...over,
  };
}

function report(over: Partial<ZoneReport__Output> = {}): ZoneReport__Output {
  return { zone: 'a1', sequence: '1', sent_at_unix_ms: '1700000000000', window_ms: 1000, services: [service()], rtts: [{ zone: 'b1', rtt_ms: 12.5 }], ...over };
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

test('histogramP50 picks the bucket that holds the median', () => {
  assert.equal(histogramP50({ bounds_ms: [1, 5, 10], counts: ['1', '1', '5', '1'], sum_ms: 0, count: '8' }), 10);
  assert.equal(histogramP50({ bounds_ms: [1, 5], counts: ['9', '0', '0'], sum_ms: 0, count: '9' }), 1);
  assert.equal(histogramP50({ bounds_ms: [1], counts: ['0', '0'], sum_ms: 0, count: '0' }), undefined);
  assert.equal(histogramP50(null), undefined);
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
