// Tests of the pure L4 fault decisions: chunk release times, connection fates and validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectionFate, l4Active, NO_L4_FAULTS, parseL4Faults, releaseAt } from './l4-faults.ts';

const f = (o: Partial<typeof NO_L4_FAULTS>) => ({ ...NO_L4_FAULTS, ...o });

test('latency shifts every chunk and keeps order', () => {
  const l = f({ latencyMs: 50 });
  assert.equal(releaseAt(l, 1000, 0, 10), 1050);
  assert.equal(releaseAt(l, 1001, 1050, 10), 1051);
  assert.equal(releaseAt(l, 1000, 1200, 10), 1200); // never before the previous chunk
});

test('a bandwidth cap spaces chunks by bytes over rate', () => {
  const b = f({ bandwidthBytesPerSec: 1000 });
  const first = releaseAt(b, 0, 0, 500);
  assert.equal(first, 500);
  assert.equal(releaseAt(b, 0, first, 500), 1000);
  assert.equal(releaseAt(f({ bandwidthBytesPerSec: 1000, latencyMs: 10 }), 0, 0, 100), 110);
});

test('connection fate follows the percentages', () => {
  const x = f({ resetPercent: 20, blackholePercent: 30 });
  assert.equal(connectionFate(x, 0.0), 'reset');
  assert.equal(connectionFate(x, 0.199), 'reset');
  assert.equal(connectionFate(x, 0.2), 'blackhole');
  assert.equal(connectionFate(x, 0.499), 'blackhole');
  assert.equal(connectionFate(x, 0.5), 'pass');
  assert.equal(connectionFate(NO_L4_FAULTS, 0), 'pass');
});

test('l4Active is false only when everything is off', () => {
  assert.equal(l4Active(NO_L4_FAULTS), false);
  for (const k of ['latencyMs', 'bandwidthBytesPerSec', 'resetPercent', 'blackholePercent'] as const) assert.equal(l4Active(f({ [k]: 1 })), true, k);
});

test('validation names the path and refuses bad values', () => {
  assert.deepEqual(parseL4Faults({ latencyMs: 20 }), { ok: true, value: f({ latencyMs: 20 }) });
  const bad = parseL4Faults({ latencyMs: -1, resetPercent: 'x', nope: 1 });
  assert.equal(bad.ok, false);
  if (!bad.ok) {
    assert.ok(bad.errors.some((e) => e.startsWith('l4.nope: unknown key')));
    assert.ok(bad.errors.some((e) => e.startsWith('l4.latencyMs:')));
    assert.ok(bad.errors.some((e) => e.startsWith('l4.resetPercent:')));
  }
  assert.equal(parseL4Faults({ resetPercent: 60, blackholePercent: 60 }).ok, false);
  assert.equal(parseL4Faults([]).ok, false);
});
