// The shared error type and result helpers: stable codes, cause chains, frozen details.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMON_CODES, MeshfedError, describeError, err, ok, type Result } from './errors.ts';
import { deepFreeze } from './freeze.ts';

test('MeshfedError carries its code, chains its cause and freezes its details', () => {
  const root = new Error('ECONNREFUSED 127.0.0.1:2379');
  const mid = new MeshfedError('MESHFED_E_CONFIG_READ', 'cannot read store', { cause: root });
  const top = new MeshfedError('MESHFED_E_INTERNAL', 'startup failed', { cause: mid, details: ['a', 'b'] });
  assert.ok(top instanceof Error && top instanceof MeshfedError);
  assert.equal(top.name, 'MeshfedError');
  assert.equal(top.code, 'MESHFED_E_INTERNAL');
  assert.equal(top.cause, mid);
  assert.equal((top.cause as MeshfedError).cause, root);
  assert.deepEqual(top.details, ['a', 'b']);
  assert.ok(Object.isFrozen(top.details));
  assert.equal(new MeshfedError('MESHFED_E_USAGE', 'x').cause, undefined);
  assert.ok(!('cause' in new MeshfedError('MESHFED_E_USAGE', 'x')), 'no cause property when none was given');
});

test('describeError keeps the code for MeshfedError and the message otherwise', () => {
  assert.equal(describeError(new MeshfedError('MESHFED_E_USAGE', 'missing --zone')), 'MESHFED_E_USAGE: missing --zone');
  assert.equal(describeError(new TypeError('nope')), 'nope');
  assert.equal(describeError('plain'), 'plain');
  assert.equal(describeError(42), '42');
});

test('ok and err build the two arms of Result', () => {
  const good: Result<number, string> = ok(1);
  const bad: Result<number, string> = err('why');
  assert.deepEqual(good, { ok: true, value: 1 });
  assert.deepEqual(bad, { ok: false, error: 'why' });
});

test('every shared code is MESHFED_E_* and has a meaning', () => {
  for (const [code, meaning] of Object.entries(COMMON_CODES)) {
    assert.match(code, /^MESHFED_E_[A-Z0-9_]+$/);
    assert.ok(meaning.length > 10, code);
  }
});

test('deepFreeze freezes nested objects and arrays in place and returns the same value', () => {
  const value = { a: [{ b: 1 }], c: { d: { e: 'x' } } };
  const frozen = deepFreeze(value);
  assert.equal(frozen, value);
  assert.ok(Object.isFrozen(value.a) && Object.isFrozen(value.a[0]) && Object.isFrozen(value.c.d));
  assert.throws(() => { (value.c.d as { e: string }).e = 'y'; }, TypeError);
  assert.equal(deepFreeze(5), 5);
  assert.equal(deepFreeze(null), null);
});
