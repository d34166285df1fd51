// The telemetry pipeline as plain functions, agent to engine: sidecar stats -> agent window -> zone report ->
// balancer snapshot -> weights. A failure is charged to the zone that served it, and a client-side fault to nobody.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyHistogram, record, toProto } from '../../api/histogram.ts';
import type { ServiceStats__Output } from '../../api/generated/meshfed/v1/ServiceStats.ts';
import type { ZoneReport__Output } from '../../api/generated/meshfed/v1/ZoneReport.ts';
import { addStats, EMPTY_WINDOW, type WindowTotals } from '../../zone-agent/telemetry/merge.ts';
import { buildReport } from '../../zone-agent/report/build.ts';
import { buildSnapshot, validateReport, type StoredZoneReport } from '../../global-lb/server/report.ts';
import { computeWeights, defaultPolicy, type EngineState, type ServiceTable } from '../../global-lb/weights/index.ts';
import type { LocalService } from '../../zone-agent/discovery/model.ts';

const NO_LOCAL = { fault_injected: '0', overflow: '0', denied: '0', no_endpoint: '0', timeout: '0' };
const lat = toProto(record(emptyHistogram(), 5, 10)) as ServiceStats__Output['latency'];

/** One stats entry for shop/cart: `ok` successes and `bad` 500s, asked of `zone` (or served, when zone is ''). */
function entry(zone: string, ok: number, bad: number, local = NO_LOCAL): ServiceStats__Output {
  return {
    namespace: 'shop', name: 'cart', requests: String(ok + bad), successes: String(ok), in_flight: 0, latency: lat,
    errors: { http_5xx: String(bad), connect_failure: '0', timeout: '0', reset: '0' }, destination_zone: zone, local, endpoints_known: 0, endpoints_ejected: 0,
  };
}

const cart = (zone: string): LocalService => ({
  namespace: 'shop', name: 'cart', capacityRps: 1000,
  endpoints: [{ address: `10.0.${zone === 'a' ? 1 : 2}.1`, port: 80, healthy: true, terminating: false, labels: {} }],
});

/** One zone's report after its sidecars sent `served` (its own cart's answers) and `asked` (its clients' calls). */
function zoneReport(zone: string, served: ServiceStats__Output[], asked: ServiceStats__Output[]): StoredZoneReport {
  let w: WindowTotals = EMPTY_WINDOW;
  const r = addStats(w, `${zone}-sidecar`, { window_ms: 1000, served, services: asked });
  assert.ok(r.ok, r.ok ? '' : r.error);
  w = r.value;
  const report = buildReport({ zone, sequence: 1, nowMs: 10_000, windowMs: 5000, services: [cart(zone)], window: w, rttsMs: {} });
  // The balancer sees the report as it comes off the wire: every field present, as proto-loader decodes it.
  const wire = JSON.parse(JSON.stringify(report)) as ZoneReport__Output;
  const valid = validateReport(wire, zone);
  assert.ok(valid.ok, valid.ok ? '' : valid.error.message);
  return {
    identity: { locality: { cloud: 'aws', region: 'us-east-1', zone }, cluster: 'c', network: 'n', gatewayAddress: '', agentId: zone, agentVersion: '1' },
    report: valid.value, receivedAt: 10_000, replicaId: 'r1',
  };
}

function weightsOf(reports: StoredZoneReport[]): ServiceTable {
  const snapshot = buildSnapshot(new Map(reports.map((r) => [r.identity.locality.zone, r])), new Map(), () => false, 0);
  const policy = defaultPolicy('shop', 'cart');
  let state: EngineState | undefined;
  let table: ServiceTable | undefined;
  // A few rounds, so hysteresis and damping settle.
  for (let i = 0; i < 5; i++) {
    const r = computeWeights(snapshot, new Map([['shop/cart', policy]]), state, 10_000 + i * 1000);
    state = r.state;
    table = r.tables.get('shop/cart');
  }
  assert.ok(table);
  return table;
}

const bp = (t: ServiceTable, source: string, target: string) => t.rows.find((r) => r.sourceZone === source)?.targets.find((x) => x.zone === target)?.basisPoints ?? 0;
const reason = (t: ServiceTable, source: string, target: string) => t.rows.find((r) => r.sourceZone === source)?.targets.find((x) => x.zone === target)?.reason ?? '';

test('zone a\'s clients get 500s from cart in zone b: b is ejected, a is not, and a keeps its own traffic', () => {
  // Both zones' own carts serve cleanly as far as their inbound sidecars know... except b, whose answers to a fail.
  const a = zoneReport('a', [entry('', 100, 0)], [entry('a', 50, 0), entry('b', 0, 50)]);
  const b = zoneReport('b', [entry('', 40, 50)], [entry('b', 40, 0)]);
  const t = weightsOf([a, b]);
  assert.equal(bp(t, 'a', 'a'), 10000, 'a keeps its traffic at home');
  assert.equal(bp(t, 'b', 'b'), 0, 'b\'s own traffic leaves the failing b');
  assert.equal(bp(t, 'b', 'a'), 10000);
  assert.match(reason(t, 'b', 'b'), /^out — error rate/);
  assert.doesNotMatch(reason(t, 'a', 'a'), /out/);
  assert.ok(t.rows.every((r) => !r.panic));
});

test('a client-side injected fault in zone a ejects nobody: it is counted as a local failure only', () => {
  const injected = { ...NO_LOCAL, fault_injected: '60' };
  const a = zoneReport('a', [entry('', 100, 0)], [entry('a', 40, 0), entry('', 0, 0, injected)]);
  const b = zoneReport('b', [entry('', 100, 0)], [entry('b', 100, 0)]);
  assert.equal(a.report.asked[0]!.local?.fault_injected, '60');
  const t = weightsOf([a, b]);
  assert.equal(bp(t, 'a', 'a'), 10000);
  assert.equal(bp(t, 'b', 'b'), 10000);
  for (const row of t.rows) for (const x of row.targets) assert.doesNotMatch(x.reason, /^out/, `${row.sourceZone} -> ${x.zone}: ${x.reason}`);
});

test('connect failures callers saw make the serving zone ineligible even when its own sidecars report nothing', () => {
  const refused: ServiceStats__Output = { ...entry('b', 0, 0), requests: '30', errors: { http_5xx: '0', connect_failure: '30', timeout: '0', reset: '0' } };
  const a = zoneReport('a', [entry('', 100, 0)], [entry('a', 30, 0), refused]);
  const b = zoneReport('b', [], []);
  const t = weightsOf([a, b]);
  assert.match(reason(t, 'a', 'b'), /^out — error rate 100%.*callers/);
  assert.equal(bp(t, 'b', 'b'), 0);
});
