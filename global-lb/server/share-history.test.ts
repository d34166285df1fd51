// Unit tests of the dashboard's share history: one sample per change of shares, bounded, with drain/ejection/panic marks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShareHistory } from './share-history.ts';
import type { ServiceTable } from '../weights/index.ts';

function table(a: number, opts: { panic?: boolean; bOut?: string } = {}): ServiceTable {
  return {
    service: 'shop/cart', namespace: 'shop', name: 'cart', version: String(a), computedAt: 0,
    rows: [{ sourceZone: 'a', panic: opts.panic ?? false, targets: [
      { zone: 'a', basisPoints: a, tier: 0, reason: 'local' },
      { zone: 'b', basisPoints: 10000 - a, tier: 1, reason: opts.bOut ?? 'spill' },
    ] }],
  };
}

test('a sample is added only when a row\'s shares or panic change, and zero shares are left out', () => {
  const h = new ShareHistory();
  h.recordTable(table(7000), 1);
  h.recordTable(table(7000), 2);
  h.recordTable(table(10000), 3);
  const s = h.series('shop/cart', 4);
  assert.deepEqual(s.sources.map((x) => x.source), ['a']);
  assert.deepEqual(s.sources[0]!.samples, [{ t: 1, shares: { a: 7000, b: 3000 }, panic: false }, { t: 3, shares: { a: 10000 }, panic: false }]);
  assert.equal(h.size(), 2);
});

test('samples are bounded by count and by age, keeping the last sample before the window as its start', () => {
  const h = new ShareHistory({ maxSamples: 3, maxAgeMs: 100, maxMarks: 2 });
  for (let i = 0; i < 5; i++) h.recordTable(table(1000 * (i + 1)), i * 10);
  assert.deepEqual(h.series('shop/cart', 40).sources[0]!.samples.map((s) => s.t), [20, 30, 40]);
  assert.deepEqual(h.series('shop/cart', 1000).sources[0]!.samples.map((s) => s.t), [40], 'only the sample still in force');
});

test('drains, ejections, readmissions and panic are marked once each; an operator drain is not an ejection', () => {
  const h = new ShareHistory();
  h.recordDrains(new Set(['z']), 0); // baseline: no mark
  h.recordTable(table(7000), 0);
  h.recordTable(table(10000, { bOut: 'out — drained by operator' }), 1);
  h.recordDrains(new Set(['b']), 1);
  h.recordTable(table(10000, { bOut: 'out — error rate 41% > ejection 5%' }), 2);
  h.recordTable(table(10000, { bOut: 'out — error rate 41% > ejection 5% for 2s' }), 3);
  h.recordTable(table(5000, { panic: true }), 4);
  h.recordDrains(new Set(), 5);
  h.recordTable(table(5000), 6);
  assert.deepEqual(h.series('shop/cart', 7).marks.map((m) => [m.t, m.kind, m.zone ?? '']), [
    [1, 'drain', 'b'], [1, 'undrain', 'z'], [2, 'ejection', 'b'], [4, 'readmit', 'b'], [4, 'panic', ''], [5, 'undrain', 'b'], [6, 'panic-over', ''],
  ]);
  h.forget('shop/cart');
  assert.deepEqual(h.series('shop/cart', 7).sources, []);
});
