// Tests fail-static persistence: round trip, atomic replace, and refusal of corrupt or foreign files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LastGoodWriter, loadLastGood, saveLastGood, STATE_FILE } from './store.ts';
import type { BalancerState } from '../relay/state.ts';

function tmp(t: import('node:test').TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-failstatic-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const state: BalancerState = {
  directory: { zones: [], version: 'd1' },
  weights: { 'shop/cart': { namespace: 'shop', name: 'cart', version: 'v1', computed_at_unix_ms: '5', sources: [{ source_zone: 'a', panic: false, exclusive: false, unavailable_reason: '', targets: [{ zone: 'a', basis_points: 10000, tier: 0, reason: 'r' }] }] } },
  bundle: undefined,
  weightsReceivedAtMs: 1234,
};

test('state round-trips and a second save replaces the first without leaving temp files', async (t) => {
  const dir = tmp(t);
  assert.deepEqual(loadLastGood(dir, 'a'), { ok: true, value: undefined }, 'missing file = first start');
  assert.equal((await saveLastGood(join(dir, 'nested'), 'a', state, 1)).ok, true);
  assert.deepEqual(loadLastGood(join(dir, 'nested'), 'a'), { ok: true, value: state });
  const next = { ...state, weightsReceivedAtMs: 99 };
  assert.equal((await saveLastGood(join(dir, 'nested'), 'a', next, 2)).ok, true);
  assert.deepEqual(loadLastGood(join(dir, 'nested'), 'a'), { ok: true, value: next });
  assert.deepEqual(readdirSync(join(dir, 'nested')), [STATE_FILE]);
});

test('corrupt, foreign-format and other-zone files are refused with the path named', async (t) => {
  const dir = tmp(t);
  writeFileSync(join(dir, STATE_FILE), '{"format": "meshfed.zone-agent.last-go');
  const a = loadLastGood(dir, 'a');
  assert.equal(a.ok, false);
  assert.match(a.ok ? '' : a.error, /last-good\.json: not valid JSON/);
  writeFileSync(join(dir, STATE_FILE), '{"format": "other"}');
  assert.match((loadLastGood(dir, 'a') as { error: string }).error, /unknown format/);
  await saveLastGood(dir, 'b', state, 1);
  assert.match((loadLastGood(dir, 'a') as { error: string }).error, /saved for zone "b", not a/);
  writeFileSync(join(dir, STATE_FILE), JSON.stringify({ format: 'meshfed.zone-agent.last-good/v1', zone: 'a', state: { weights: null } }));
  assert.match((loadLastGood(dir, 'a') as { error: string }).error, /missing weights/);
});

test('a write into an unwritable place is an error value, not a throw', async (t) => {
  const dir = tmp(t);
  writeFileSync(join(dir, 'file'), 'x');
  const r = await saveLastGood(join(dir, 'file', 'sub'), 'a', state, 1);
  assert.equal(r.ok, false);
});

test('the coalescing writer leaves the newest state on disk', async (t) => {
  const dir = tmp(t);
  const errors: string[] = [];
  const w = new LastGoodWriter(dir, 'a', (e) => errors.push(e));
  for (let i = 1; i <= 20; i++) w.save({ ...state, weightsReceivedAtMs: i });
  await w.flush();
  assert.deepEqual(loadLastGood(dir, 'a'), { ok: true, value: { ...state, weightsReceivedAtMs: 20 } });
  assert.equal(errors.length, 0);
  const bad = new LastGoodWriter(join(dir, STATE_FILE, 'x'), 'a', (e) => errors.push(e));
  bad.save(state);
  await bad.flush();
  assert.equal(errors.length, 1);
});

test('the hold-over clocks of missing zones and tables survive a restart; damaged entries are dropped', async (t) => {
  const dir = tmp(t);
  const held: BalancerState = { ...state, heldZones: { b: 1000 }, heldTables: { 'shop/pay': 2000 } };
  await saveLastGood(dir, 'a', held, 1);
  assert.deepEqual(loadLastGood(dir, 'a'), { ok: true, value: held });
  writeFileSync(join(dir, STATE_FILE), JSON.stringify({ format: 'meshfed.zone-agent.last-good/v1', zone: 'a', state: { ...state, heldZones: { b: 'x', c: 5 }, heldTables: [] } }));
  const r = loadLastGood(dir, 'a');
  assert.ok(r.ok);
  assert.deepEqual([r.value?.heldZones, r.value?.heldTables], [{ c: 5 }, {}]);
});
