// Failover order by tier: a dead zone's share goes to the nearest tier that can serve, never past it; exclusive rows never leave their zones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPicker, type PickerInput } from './picker.ts';
import { failoverShares } from './failover.ts';
import { createOutlierState, recordOutcome, type OutlierState } from './outlier.ts';
import { seededRandom } from '../../common/random.ts';
import type { EndpointRef, Pick } from '../types.ts';

const ep = (zone: string, n: number): EndpointRef => ({ id: `${zone}/${n}`, address: '127.0.0.1', port: 1000 + n, zone, network: 'n1' });
const ZONES = ['a', 'b', 'b2', 'c', 'x'];
const byZone = new Map(ZONES.map((z) => [z, [ep(z, 1), ep(z, 2)]]));
const ALL = [...byZone.values()].flat();
const od = { consecutive5xx: 1, consecutiveConnectFailures: 1, baseEjectionTime: 1000, maxEjectionTime: 10000, maxEjectionPercent: 100 };

/** a: own zone (tier 0, all the share), b and b2: same region (tier 1, standby), c: another cloud (tier 2); x is not in the row. */
const ROW = { weights: { a: 10000, b: 0, b2: 0, c: 0 }, tiers: { a: 0, b: 1, b2: 1, c: 2 } };

function ejected(zones: string[]): OutlierState {
  let s = createOutlierState(od, ALL);
  for (const e of ALL) if (zones.includes(e.zone)) s = recordOutcome(s, e.id, '5xx', 0).state;
  return s;
}
function input(over: Partial<PickerInput> = {}): PickerInput {
  return { endpointsByZone: byZone, ...ROW, inFlight: () => 0, random: seededRandom(5), ...over };
}
function tally(p: ReturnType<typeof buildPicker>, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = p.pick({ now: 0 });
    const k = r.kind === 'complete' ? r.zone : r.kind;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

test('tier 0 dead (every endpoint ejected): tier 1 takes at least 99% of picks, tier 2 and unlisted zones none', () => {
  const t = tally(buildPicker(input({ outlier: ejected(['a']) })), 10000);
  assert.ok((t['b'] ?? 0) + (t['b2'] ?? 0) >= 9900, JSON.stringify(t));
  assert.equal(t['c'], undefined);
  assert.equal(t['x'], undefined);
  assert.ok(Math.abs((t['b'] ?? 0) / 10000 - 0.5) < 0.02, 'standby zones of one tier share evenly');
});

test('tier 0 with no endpoint known at all fails over the same way, flagged failover', () => {
  const eps = new Map([...byZone].filter(([z]) => z !== 'a'));
  const p = buildPicker(input({ endpointsByZone: eps }));
  const t = tally(p, 2000);
  assert.equal((t['b'] ?? 0) + (t['b2'] ?? 0), 2000);
  const one = p.pick({ now: 0 }) as Extract<Pick, { kind: 'complete' }>;
  assert.deepEqual(one.flags, ['failover']);
});

test('inside the tier that takes over, listed shares split the moved share', () => {
  const t = tally(buildPicker(input({ weights: { a: 7000, b: 2000, b2: 1000, c: 0 }, outlier: ejected(['a']) })), 20000);
  assert.ok(Math.abs((t['b'] ?? 0) / 20000 - 2 / 3) < 0.015, JSON.stringify(t));
  assert.ok(Math.abs((t['b2'] ?? 0) / 20000 - 1 / 3) < 0.015, JSON.stringify(t));
});

test('tiers 0 and 1 dead: tier 2 takes everything; the unlisted zone still gets nothing', () => {
  const t = tally(buildPicker(input({ outlier: ejected(['a', 'b', 'b2']) })), 5000);
  assert.deepEqual(t, { c: 5000 });
});

test('every listed zone dead: a zone outside the row takes it (unweighted spill), unless the row is exclusive', () => {
  const open = buildPicker(input({ outlier: ejected(['a', 'b', 'b2', 'c']) }));
  const p = open.pick({ now: 0 }) as Extract<Pick, { kind: 'complete' }>;
  assert.equal(p.zone, 'x');
  assert.deepEqual(p.flags, ['unweighted-spill', 'failover']);

  // Exclusive: with listed zones all ejected, the picker panics inside them rather than leave them.
  const t = tally(buildPicker(input({ exclusive: true, outlier: ejected(['a', 'b', 'b2', 'c']) })), 3000);
  assert.equal(t['x'], undefined, JSON.stringify(t));
});

test('exclusive: never an unlisted zone; when no listed zone has an endpoint it answers MESHFED_E_NO_ALLOWED_ZONE', () => {
  const onlyX = new Map([['x', [ep('x', 1)]], ['a', [] as EndpointRef[]]]);
  const p = buildPicker(input({ endpointsByZone: onlyX, exclusive: true }));
  for (let i = 0; i < 100; i++) {
    const r = p.pick({ now: 0 });
    assert.equal(r.kind, 'unavailable');
    assert.equal((r as Extract<Pick, { kind: 'unavailable' }>).code, 'MESHFED_E_NO_ALLOWED_ZONE');
  }
  const unreachable = buildPicker(input({ exclusive: true, unreachable: new Set(ALL.filter((e) => e.zone !== 'x').map((e) => e.id)) }));
  const t = tally(unreachable, 500);
  assert.deepEqual(t, { unavailable: 500 });
  // Retries that excluded every listed zone relax the exclusion, still inside the row.
  const ex = { endpoints: new Set<string>(), zones: new Set(['a', 'b', 'b2', 'c']) };
  const r = buildPicker(input({ exclusive: true })).pick({ now: 0 }, ex) as Extract<Pick, { kind: 'complete' }>;
  assert.equal(r.zone, 'a');
  assert.ok(r.flags?.includes('excluded-relaxed'));
});

test('a row whose shares are all 0 with a reason is unavailable with that reason', () => {
  const p = buildPicker(input({ weights: { a: 0, b: 0 }, tiers: { a: 0, b: 1 }, exclusive: true, unavailableReason: 'every allowed zone is drained' }));
  assert.deepEqual(p.pick({ now: 0 }), { kind: 'unavailable', reason: 'every allowed zone is drained', code: 'MESHFED_E_NO_ALLOWED_ZONE' });
  const q = buildPicker(input({ weights: { a: 0, b: 0 }, unavailableReason: 'drained' }));
  assert.deepEqual(q.pick({ now: 0 }), { kind: 'unavailable', reason: 'drained' });
});

test('failoverShares: the nearest serving tier wins over a farther one that has listed shares', () => {
  const row = { weights: { a: 6000, b: 0, c: 4000 }, tiers: { a: 0, b: 1, c: 2 } };
  assert.deepEqual(failoverShares(row, ['b', 'c']), { zones: ['b', 'c'], shares: [6000, 4000], failover: true, unlisted: false });
  assert.deepEqual(failoverShares(row, ['a', 'b', 'c']), { zones: ['a', 'c'], shares: [6000, 4000], failover: false, unlisted: false });
  assert.equal(failoverShares({ ...row, exclusive: true }, ['x']), undefined);
  assert.deepEqual(failoverShares({ weights: {} }, ['p', 'q']), { zones: ['p', 'q'], shares: [1, 1], failover: false, unlisted: true });
  assert.deepEqual(failoverShares({ weights: { a: 0, b: 0 }, tiers: { a: 1, b: 2 } }, ['a', 'b']), { zones: ['a'], shares: [1], failover: false, unlisted: false },
    'a row with no share at all and no reason goes to its nearest serving tier');
});
