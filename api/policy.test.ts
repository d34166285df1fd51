// Tests of the service-policy schema: defaults, round-trips, and one clear path-named error per malformed file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MeshfedError } from '../common/errors.ts';
import { defaultPolicy, durationMs, loadPolicyFile, parseLocalityMatcher, parsePolicy, validatePolicy, withEgressCostDefaults } from './policy.ts';

const BAD = join(import.meta.dirname, 'testdata', 'policies');
const EXAMPLES = join(import.meta.dirname, '..', 'examples', 'policies');

function errorLines(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof MeshfedError);
    assert.equal(e.code, 'MESHFED_E_CONFIG_INVALID');
    return [...e.details];
  }
  assert.fail('expected the policy to be rejected');
}

test('a policy naming only its service gets every default', () => {
  const p = parsePolicy('namespace: default\nname: reviews\n', 'p.yaml');
  assert.deepEqual(p, defaultPolicy('default', 'reviews'));
  assert.deepEqual(p.failover, { priority: ['zone', 'region', 'cloud'] });
  assert.equal(p.targetUtilization, 0.8);
  assert.deepEqual(p.ejection, { errorRate: 0.05, minRequests: 20 });
  assert.equal(p.holdDown, '10s');
  assert.equal(p.slowStart, '30s');
  assert.equal(p.maxStep, 1000);
  assert.equal(p.panicThreshold, 0.5);
  assert.deepEqual(p.drainedZones, []);
  assert.deepEqual(p.cost, { halfWeightAt: 10 });
  assert.deepEqual(p.crossCloud, { maxShare: 100 });
  assert.deepEqual(p.residency, []);
  assert.ok(Object.isFrozen(p) && Object.isFrozen(p.failover));
});

test('cost, crossCloud and residency parse; topology costs fill only the pairs a policy leaves out', () => {
  const p = parsePolicy(
    'namespace: default\nname: reviews\ncost: { crossCloud: 25, halfWeightAt: 5 }\ncrossCloud: { maxShare: 20 }\nresidency:\n  - from: gcp/europe-west1/*\n    allow: [gcp/europe-west1/*, gcp/*]\n',
    'p.yaml',
  );
  assert.deepEqual(p.cost, { crossCloud: 25, halfWeightAt: 5 });
  assert.deepEqual(p.crossCloud, { maxShare: 20 });
  assert.deepEqual(p.residency, [{ from: 'gcp/europe-west1/*', allow: ['gcp/europe-west1/*', 'gcp/*'] }]);
  const filled = withEgressCostDefaults(p, { sameZone: 0, sameRegion: 2, sameCloud: 4, crossCloud: 8 });
  assert.deepEqual(filled.cost, { crossCloud: 25, halfWeightAt: 5, sameZone: 0, sameRegion: 2, sameCloud: 4 });
  assert.ok(Object.isFrozen(filled.cost));
  assert.equal(withEgressCostDefaults(filled, { sameRegion: 9 }), filled, 'nothing to fill: the same object');
});

test('a parsed policy survives a JSON round trip unchanged (it is stored in etcd as JSON)', () => {
  for (const f of readdirSync(EXAMPLES)) {
    const p = loadPolicyFile(join(EXAMPLES, f));
    assert.deepEqual(validatePolicy(JSON.parse(JSON.stringify(p)), f), p, f);
  }
});

// Each malformed file gives exactly one line: `file: path: message` naming the path and the fix.
const EXPECTED: Record<string, RegExp> = {
  'unknown-key.yaml': /: \(top level\): unknown key "targetUtilisation" \(allowed: .*targetUtilization/,
  'bad-level.yaml': /: failover\.priority\[2\]: unknown value "continent" \(expected zone \| region \| cloud\)$/,
  'both-priority-and-zones.yaml': /: failover: give either priority .* or zones .*, not both$/,
  'distribute-sum.yaml': /: distribute\[0\]\.to: percentages sum to 90; make them sum to 100$/,
  'negative-threshold.yaml': /: ejection\.errorRate: -0\.1 is out of range; .* greater than 0 and at most 1/,
  'bad-duration.yaml': /: holdDown: "10 seconds" is not a duration \(use e\.g\. 500ms, 10s, 2m, 1h\)$/,
  'distribute-shape.yaml': /: distribute\[0\]\.from: "aws\/us-east-1\/us-east-1a\/extra" is not a locality \(expected \*, a zone name, cloud\/\*/,
  'priority-order.yaml': /: failover\.priority\[1\]: "zone" must come before "cloud"/,
  'max-step.yaml': /: maxStep: maxStep must be at least 1 basis point$/,
  'residency-matcher.yaml': /: residency\[0\]\.from: "gcp\/europe-west1" is not a locality \(expected \*, a zone name, cloud\/\*, cloud\/region\/\* or cloud\/region\/zone\)$/,
  'residency-empty.yaml': /: residency\[0\]\.allow: allow at least one locality, e\.g\. \[gcp\/europe-west1\/\*\]$/,
  'cross-cloud-share.yaml': /: crossCloud\.maxShare: a percentage cannot exceed 100$/,
  'cost-unknown-pair.yaml': /: cost: unknown key "intercontinental" \(allowed: sameZone, sameRegion, sameCloud, crossCloud, halfWeightAt\)$/,
};

test('every malformed policy file is refused with one path-named error', () => {
  const files = readdirSync(BAD).sort();
  assert.deepEqual(files, Object.keys(EXPECTED).sort(), 'each test file has an expectation');
  for (const f of files) {
    const path = join(BAD, f);
    const lines = errorLines(() => loadPolicyFile(path));
    assert.equal(lines.length, 1, `${f}: ${lines.join(' | ')}`);
    assert.ok(lines[0]!.startsWith(`${path}: `), lines[0]);
    assert.match(lines[0]!, EXPECTED[f]!);
  }
});

test('more refusals: bad names, targets, tiers and duplicates', () => {
  const bad = (extra: Record<string, unknown>) => errorLines(() => validatePolicy({ namespace: 'default', name: 'reviews', ...extra }, 'api'));
  assert.match(bad({ name: 'Reviews' })[0]!, /^api: name: "Reviews" is not a valid service name/);
  assert.match(bad({ distribute: [{ from: '*', to: { '*': 100 } }] })[0]!, /^api: distribute\[0\]\.to\.\*: "\*" is not a target/);
  assert.match(bad({ distribute: [{ from: '*', to: { a: 50.5, b: 49.5 } }] })[0]!, /distribute\[0\]\.to\.a: expected a whole-number percentage/);
  assert.match(bad({ distribute: [{ from: '*', to: { a: 100 } }, { from: '*', to: { b: 100 } }] })[0]!, /^api: distribute\[1\]\.from: "\*" already has a rule above/);
  assert.match(bad({ failover: { zones: ['a', ['b', 'a']] } })[0]!, /^api: failover\.zones\[1\]: zone "a" is listed twice/);
  assert.match(bad({ failover: { priority: ['zone', 'zone'] } })[0]!, /^api: failover\.priority\[1\]: "zone" is listed twice/);
  assert.match(bad({ targetUtilization: 0 })[0]!, /^api: targetUtilization: 0 is out of range/);
  assert.match(bad({ drainedZones: ['US_EAST'] })[0]!, /^api: drainedZones\[0\]: "US_EAST" is not a zone name/);
  assert.match(bad({ ejection: { errorRate: 0.1, window: 3 } })[0]!, /^api: ejection: unknown key "window" \(allowed: errorRate, minRequests\)/);
});

test('explicit zone tiers and an empty priority list are accepted', () => {
  const p = validatePolicy({ namespace: 'a', name: 'b', failover: { zones: ['x', ['y', 'z']] } }, 't');
  assert.deepEqual(p.failover, { zones: ['x', ['y', 'z']] });
  assert.deepEqual(validatePolicy({ namespace: 'a', name: 'b', failover: { priority: [] } }, 't').failover, { priority: [] });
});

test('durations and locality matchers parse', () => {
  assert.equal(durationMs('500ms'), 500);
  assert.equal(durationMs('1.5s'), 1500);
  assert.equal(durationMs('2m'), 120_000);
  assert.throws(() => durationMs('5'));
  assert.deepEqual(parseLocalityMatcher('*'), { cloud: undefined, region: undefined, zone: undefined });
  assert.deepEqual(parseLocalityMatcher('aws/*'), { cloud: 'aws', region: undefined, zone: undefined });
  assert.deepEqual(parseLocalityMatcher('aws/us-east-1/*'), { cloud: 'aws', region: 'us-east-1', zone: undefined });
  assert.deepEqual(parseLocalityMatcher('aws/us-east-1/us-east-1a'), { cloud: 'aws', region: 'us-east-1', zone: 'us-east-1a' });
  assert.deepEqual(parseLocalityMatcher('us-east-1a'), { cloud: undefined, region: undefined, zone: 'us-east-1a' });
  for (const bad of ['aws/us-east-1', '*/x', 'a/b/c/d', 'A', '', 'aws//x']) assert.equal(parseLocalityMatcher(bad), undefined, bad);
});
