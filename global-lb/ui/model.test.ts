// Unit tests of the dashboard's view model: zone grouping, the paged and filtered matrix, and the chart geometry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildMatrix, chartOf, formatShare, groupZones, ineligibleWhy, zoneOrder, type SourceHistory, type TableInfo, type ZoneInfo } from './model.ts';

function zone(name: string, cloud: string, region: string, extra: Partial<ZoneInfo> = {}): ZoneInfo {
  return { zone: name, cloud, region, alive: true, drained: false, eligible: true, gatewayAddress: '', outFor: [], ...extra };
}

test('zones are grouped by cloud then region, each sorted, and the matrix column order follows the grouping', () => {
  const groups = groupZones([zone('b2', 'gcp', 'eu'), zone('a2', 'aws', 'us-east'), zone('a1', 'aws', 'us-east'), zone('a9', 'aws', 'ap'), zone('x', '', '')]);
  assert.deepEqual(groups.map((g) => [g.cloud, g.regions.map((r) => [r.region, r.zones.map((z) => z.zone)])]), [
    ['?', [['?', ['x']]]],
    ['aws', [['ap', ['a9']], ['us-east', ['a1', 'a2']]]],
    ['gcp', [['eu', ['b2']]]],
  ]);
  assert.deepEqual(zoneOrder(groups), ['x', 'a9', 'a1', 'a2', 'b2']);
});

test('a zone says why it is not eligible: drain first, then a lost agent, then the per-service verdicts', () => {
  assert.equal(ineligibleWhy(zone('a', 'c', 'r')), undefined);
  assert.equal(ineligibleWhy(zone('a', 'c', 'r', { eligible: false, drained: true, alive: false })), 'drained by operator');
  assert.equal(ineligibleWhy(zone('a', 'c', 'r', { eligible: false, alive: false, agentLostSeconds: 4.4 })), 'agent lease gone 4s ago');
  assert.equal(ineligibleWhy(zone('a', 'c', 'r', { eligible: false, outFor: [{ service: 'shop/cart', reason: 'out — error rate 40%' }] })), 'shop/cart: out — error rate 40%');
  assert.equal(ineligibleWhy(zone('a', 'c', 'r', { eligible: false, outFor: [{ service: 's/a', reason: 'x' }], outForTotal: 40 })), 's/a: x (and 39 more services)');
});

function table(sources: number, targets: number): TableInfo {
  const zs = Array.from({ length: targets }, (_, i) => `z${String(i).padStart(2, '0')}`);
  return {
    service: 'ns/svc', version: 'v', computedAt: 0,
    rows: Array.from({ length: sources }, (_, s) => ({
      sourceZone: zs[s % targets]!, panic: s === 1,
      targets: [{ zone: zs[s % targets]!, basisPoints: 10000, tier: 0, reason: 'local' }, ...zs.filter((_, i) => i !== s % targets && i < 3).map((z) => ({ zone: z, basisPoints: 0, tier: 2, reason: `standby ${z}` }))],
    })),
  };
}

test('the matrix shows the CLI share text, a null where a row does not list a target, and pages rows and columns', () => {
  const m = buildMatrix(table(10, 10), [], { filter: '', rowOffset: 0, rowLimit: 4, colOffset: 0, colLimit: 5 });
  assert.equal(m.totalRows, 10);
  assert.equal(m.totalTargets, 10);
  assert.deepEqual(m.targets, ['z00', 'z01', 'z02', 'z03', 'z04']);
  assert.deepEqual(m.rows.map((r) => r.source), ['z00', 'z01', 'z02', 'z03']);
  assert.deepEqual(m.rows[0]!.cells[0], { target: 'z00', basisPoints: 10000, tier: 0, reason: 'local', share: '100.00%' });
  assert.equal(m.rows[0]!.cells[3], null, 'z00 lists only z00..z02');
  assert.equal(m.rows[1]!.panic, true);
  // Past the end: pulled back to the last full page boundary.
  const last = buildMatrix(table(10, 10), [], { filter: '', rowOffset: 40, rowLimit: 4, colOffset: 7, colLimit: 5 });
  assert.equal(last.rowOffset, 8);
  assert.deepEqual(last.rows.map((r) => r.source), ['z08', 'z09']);
  assert.equal(last.colOffset, 5);
});

test('the zone filter narrows sources and targets alike, case-insensitively, and columns follow the given order', () => {
  const m = buildMatrix(table(10, 10), ['z02', 'z01'], { filter: 'Z0', rowOffset: 0, rowLimit: 100, colOffset: 0, colLimit: 100 });
  assert.deepEqual(m.targets.slice(0, 3), ['z02', 'z01', 'z00']);
  const one = buildMatrix(table(10, 10), [], { filter: 'z07', rowOffset: 0, rowLimit: 100, colOffset: 0, colLimit: 100 });
  assert.deepEqual(one.rows.map((r) => r.source), ['z07']);
  assert.deepEqual(one.targets, ['z07']);
  assert.equal(formatShare(3333), '33.33%');
});

test('the chart draws steps that hold each share until the next sample, and places marks and panic in the window', () => {
  const h: SourceHistory = { source: 'a', samples: [
    { t: 0, shares: { a: 10000 }, panic: false },
    { t: 500, shares: { a: 5000, b: 5000 }, panic: true },
    { t: 800, shares: { b: 10000 }, panic: false },
  ] };
  const c = chartOf(h, [{ t: 500, kind: 'drain', zone: 'a', text: 'a drained' }, { t: -5000, kind: 'undrain', text: 'old' }], 1000, 1000, 100, 10);
  assert.deepEqual(c.lines.map((l) => l.zone), ['a', 'b']);
  assert.equal(c.lines[0]!.points, '0,0 50,0 50,5 80,5 80,10 100,10');
  assert.equal(c.lines[1]!.points, '0,10 50,10 50,5 80,5 80,0 100,0');
  assert.equal(c.lines[1]!.last, 10000);
  assert.deepEqual(c.marks, [{ x: 50, t: 500, kind: 'drain', text: 'a drained' }]);
  assert.deepEqual(c.panic, [{ x0: 50, x1: 80 }]);
  // A sample older than the window starts its line at the left edge.
  assert.equal(chartOf({ source: 'a', samples: [{ t: -9000, shares: { a: 10000 }, panic: false }] }, [], 1000, 1000, 100, 10).lines[0]!.points, '0,0 100,0');
});
