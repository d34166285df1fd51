// Tests of the report's SVG primitives: scales, round ticks, gapped lines and stacked fault labels.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bandLabelRows, gappedPolylines, legend, linearScale, niceTicks } from './svg.ts';

describe('svg primitives', () => {
  it('maps a domain linearly, inverted when the range is', () => {
    const y = linearScale(0, 100, 200, 0);
    assert.equal(y(0), 200);
    assert.equal(y(25), 150);
    assert.equal(linearScale(5, 5, 10, 20)(7), 10);
  });

  it('picks round ticks in steps of 1, 2 or 5 times a power of ten', () => {
    assert.deepEqual(niceTicks(0, 120, 6), [0, 20, 40, 60, 80, 100, 120]);
    assert.deepEqual(niceTicks(0, 1, 4), [0, 0.5, 1]);
    assert.deepEqual(niceTicks(0, 100, 5), [0, 20, 40, 60, 80, 100]);
    assert.deepEqual(niceTicks(0, 440, 5), [0, 100, 200, 300, 400]);
    assert.deepEqual(niceTicks(3, 3), [3]);
  });

  it('splits a line at nulls and draws a lone point as a dot', () => {
    const x = linearScale(0, 10, 0, 10);
    const out = gappedPolylines(
      { label: 's', color: '#000', points: [[0, 1], [1, 2], [2, null], [3, 4], [4, null], [5, 6], [6, 7]] },
      x,
      x,
      0,
      10,
    );
    assert.equal((out.match(/<polyline/g) ?? []).length, 2);
    assert.equal((out.match(/<circle/g) ?? []).length, 1);
    assert.match(out, /points="0,1 1,2"/);
  });

  it('clamps values outside the y range to its edge', () => {
    const x = linearScale(0, 10, 0, 10);
    const out = gappedPolylines({ label: 's', color: '#000', points: [[0, -5], [1, 50]] }, x, x, 0, 10);
    assert.match(out, /points="0,0 1,10"/);
  });

  it('stacks labels of overlapping bands in separate rows and reuses a row once it is free', () => {
    const x = linearScale(0, 100_000, 0, 1000);
    const rows = bandLabelRows(
      [
        { id: 'a', label: 'fault-a', startMs: 10_000, endMs: 30_000 },
        { id: 'b', label: 'fault-b', startMs: 11_000, endMs: 20_000 },
        { id: 'c', label: 'fault-c', startMs: 60_000, endMs: 70_000 },
      ],
      x,
    );
    assert.deepEqual(rows, [0, 1, 0]);
  });

  it('wraps a legend into rows within its width', () => {
    const items = ['us-east-1a', 'us-east-1b', 'europe-west1-b'].map((label) => ({ label, color: '#000' }));
    assert.equal(legend(items, 0, 1000, 0).height, 16);
    assert.equal(legend(items, 0, 200, 0).height, 31);
  });
});
