// Unit tests of the basis-point -> HAProxy weight mapping: ratios kept, small zones kept, bound on the error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { haproxyWeights, sharesOf } from './weights.ts';

test('the largest share gets 256 and the others keep their ratio', () => {
  assert.deepEqual(haproxyWeights([5000, 5000]), [256, 256]);
  assert.deepEqual(haproxyWeights([7000, 3000]), [256, 110]);
});

test('a 1% zone still gets about 1%', () => {
  const s = sharesOf(haproxyWeights([9900, 100]));
  assert.ok(Math.abs(s[1]! - 0.01) < 0.004, `1% zone got ${s[1]}`);
});

test('a share above 0 never rounds to 0 and 0 stays 0', () => {
  assert.deepEqual(haproxyWeights([9999, 1, 0]), [256, 1, 0]);
  assert.deepEqual(haproxyWeights([0, 0]), [0, 0]);
});

test('every server share is within 1/256 of its exact share over many rows', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let n = 0; n < 500; n++) {
    const shares = Array.from({ length: 1 + Math.floor(rnd() * 8) }, () => Math.floor(rnd() * 10000));
    const w = haproxyWeights(shares);
    assert.ok(w.every((x) => x >= 0 && x <= 256));
    const total = shares.reduce((a, b) => a + b, 0);
    if (total === 0) continue;
    const got = sharesOf(w);
    shares.forEach((s, i) => assert.ok(Math.abs(got[i]! - s / total) <= 1 / 256 + 1e-9, `${shares} -> ${w}`));
  }
});
