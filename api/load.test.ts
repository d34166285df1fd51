// The config loader: one line per problem naming file and path, allowed keys listed, results frozen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { formatPath, parseConfig, validateConfig } from './load.ts';
import { MeshfedError } from '../common/errors.ts';

test('formatPath renders keys and indexes like a JS accessor', () => {
  assert.equal(formatPath([]), '(top level)');
  assert.equal(formatPath(['a', 0, 'b', 12, 'c']), 'a[0].b[12].c');
  assert.equal(formatPath([3]), '[3]');
});

const schema = z.strictObject({
  name: z.string(),
  mode: z.enum(['fast', 'safe']).default('safe'),
  items: z.array(z.strictObject({ id: z.number(), tags: z.array(z.string()).default([]) })).default([]),
  byZone: z.record(z.string(), z.strictObject({ weight: z.number() })).default({}),
});

function lines(value: unknown): readonly string[] {
  try {
    validateConfig(schema, value, 'f.yaml');
  } catch (e) {
    assert.ok(e instanceof MeshfedError && e.code === 'MESHFED_E_CONFIG_INVALID');
    assert.equal(e.message, e.details.join('\n'));
    return e.details;
  }
  return [];
}

test('defaults are applied and the result is deep-frozen', () => {
  const v = validateConfig(schema, { name: 'x', items: [{ id: 1 }] }, 'f.yaml');
  assert.deepEqual(v, { name: 'x', mode: 'safe', items: [{ id: 1, tags: [] }], byZone: {} });
  assert.ok(Object.isFrozen(v) && Object.isFrozen(v.items) && Object.isFrozen(v.items[0]) && Object.isFrozen(v.items[0]?.tags));
});

test('unknown keys list the keys allowed at that place, through arrays and records', () => {
  assert.deepEqual(lines({ name: 'x', itmes: [] }), ['f.yaml: (top level): unknown key "itmes" (allowed: name, mode, items, byZone)']);
  assert.deepEqual(lines({ name: 'x', items: [{ id: 1, tag: [] }] }), ['f.yaml: items[0]: unknown key "tag" (allowed: id, tags)']);
  assert.deepEqual(lines({ name: 'x', byZone: { z1: { weight: 1, wieght: 2 } } }), ['f.yaml: byZone.z1: unknown key "wieght" (allowed: weight)']);
});

test('enums, types and missing keys read in the words of a YAML author', () => {
  assert.deepEqual(lines({ name: 'x', mode: 'quick' }), ['f.yaml: mode: unknown value "quick" (expected fast | safe)']);
  assert.deepEqual(lines({ name: 5 }), ['f.yaml: name: expected a string, got 5']);
  assert.deepEqual(lines({ name: 'x', items: { id: 1 } }), ['f.yaml: items: expected a list, got a mapping']);
  assert.deepEqual(lines({}), ['f.yaml: name: required but missing (expected a string)']);
});

test('every problem gets its own line', () => {
  assert.deepEqual(lines({ mode: 'x', items: [{ id: 'one' }] }), [
    'f.yaml: name: required but missing (expected a string)',
    'f.yaml: mode: unknown value "x" (expected fast | safe)',
    'f.yaml: items[0].id: expected a number, got "one"',
  ]);
});

test('YAML errors carry line and column and use MESHFED_E_CONFIG_PARSE; an empty file is an empty mapping', () => {
  assert.throws(() => parseConfig(schema, 'name: x\n  bad: [\n', 'f.yaml'), (e: MeshfedError) => e.code === 'MESHFED_E_CONFIG_PARSE' && /^f\.yaml:\d+:\d+: /.test(e.message));
  assert.throws(() => parseConfig(schema, 'name: a\nname: b\n', 'f.yaml'), (e: MeshfedError) => e.code === 'MESHFED_E_CONFIG_PARSE' && e.message === 'f.yaml:2:1: Map keys must be unique');
  assert.throws(() => parseConfig(schema, '', 'f.yaml'), { message: 'f.yaml: name: required but missing (expected a string)' });
});
