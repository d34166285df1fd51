// Join-token attestation: a token proves exactly the identity it was issued for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashToken } from '../../common/admin-auth.ts';
import { attest, type Attestation } from './attestation.ts';

const a: Attestation = { kind: 'join-tokens', tokens: new Map([[hashToken('cat-token'), { namespace: 'shop', serviceAccount: 'catalog' }], [hashToken('web-token'), { namespace: 'shop', serviceAccount: 'web' }]]) };

test('a join token proves exactly its own namespace and service account', () => {
  assert.deepEqual(attest(a, 'shop', 'catalog', 'cat-token'), { ok: true });
  assert.deepEqual(attest(a, 'shop', 'web', 'web-token'), { ok: true });
  const why = (ns: string, sa: string, t: string) => {
    const v = attest(a, ns, sa, t);
    return v.ok ? 'ok' : v.reason;
  };
  assert.match(why('shop', 'catalog', ''), /no credential/);
  assert.match(why('shop', 'catalog', 'forged'), /not one this agent knows/);
  assert.match(why('shop', 'web', 'cat-token'), /issued for shop\/catalog, not shop\/web/, 'another identity of the same namespace');
  assert.match(why('kube-system', 'catalog', 'cat-token'), /issued for shop\/catalog, not kube-system\/catalog/, 'the same name in another namespace');
});
