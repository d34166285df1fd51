// Signed trust bundles: who may sign, what a signature covers, replays, and the receiver's gate through a rotation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createRootCa, type KeyedCert } from './ca.ts';
import { addAlias, addRoots, bundleFromJson, bundleFromProto, bundleToJson, bundleToProto, makeBundle, removeRoot, revokeSerial, rootFingerprint } from './bundle.ts';
import { BundleGate, receiverTrust, signBundle, signerKeyId, verifyBundle } from './bundle-signature.ts';

const TD = 'mesh.test';
const NOW = new Date('2026-12-04T05:00:00.000Z');
const later = (s: number) => new Date(NOW.getTime() + s * 1000);

const roots = async (): Promise<{ real: KeyedCert; next: KeyedCert; evil: KeyedCert }> => ({
  real: await createRootCa({ trustDomain: TD, now: new Date(NOW.getTime() - 3600e3) }),
  next: await createRootCa({ trustDomain: TD, now: new Date(NOW.getTime() - 3600e3) }),
  evil: await createRootCa({ trustDomain: TD, now: new Date(NOW.getTime() - 3600e3) }),
});

test('a bundle signed by a trusted root is accepted; unsigned, self-vouched, tampered, empty and replayed ones are refused by code', async () => {
  const { real, evil } = await roots();
  const trust = { roots: [real.certPem] };
  const signed = signBundle(makeBundle({ trustDomain: TD, roots: [real.certPem] }), real, NOW);
  assert.deepEqual(verifyBundle(signed, trust, NOW), { ok: true, signer: `root:${rootFingerprint(real.certPem)}` });

  const code = (b: Parameters<typeof verifyBundle>[0], t = trust as Parameters<typeof verifyBundle>[1]) => {
    const v = verifyBundle(b, t, NOW);
    return v.ok ? 'accepted' : v.code;
  };
  assert.equal(code(makeBundle({ trustDomain: TD, roots: [real.certPem] })), 'MESHFED_E_TRUST_BUNDLE_UNSIGNED');
  // The attack from the issue: a bundle naming its own root, signed by that root, written straight to etcd.
  assert.equal(code(signBundle(makeBundle({ trustDomain: TD, roots: [evil.certPem] }), evil, NOW)), 'MESHFED_E_TRUST_BUNDLE_SIGNER_UNKNOWN');
  // A trusted signature over other content: a root slipped in after signing.
  assert.equal(code({ ...signed, roots: [real.certPem, evil.certPem] }), 'MESHFED_E_TRUST_BUNDLE_SIGNATURE');
  assert.equal(code({ ...signed, revokedSerials: ['abcd'] }), 'MESHFED_E_TRUST_BUNDLE_SIGNATURE');
  assert.equal(code({ ...signed, issuedAt: later(60).toISOString() }), 'MESHFED_E_TRUST_BUNDLE_SIGNATURE', 'the issue time is covered too');
  assert.equal(code({ ...signed, signature: { ...signed.signature!, value: 'AAAA' } }), 'MESHFED_E_TRUST_BUNDLE_SIGNATURE');
  assert.equal(code(signBundle(makeBundle({ trustDomain: TD }), real, NOW)), 'MESHFED_E_TRUST_BUNDLE_NO_ROOTS');
  // Replay: a correctly signed bundle issued before the one in force.
  const newer = { roots: [real.certPem], inForceIssuedAt: later(10).toISOString() };
  assert.equal(code(signed, newer), 'MESHFED_E_TRUST_BUNDLE_STALE');
  assert.equal(code(signBundle(signed, real, later(10)), newer), 'accepted', 'issued at the same time as the one in force is not a replay');
});

test('a root past its validity cannot sign; an edit drops the signature; a key that is not the root\'s is refused at signing', async () => {
  const { real, next } = await roots();
  const expiring = await createRootCa({ trustDomain: TD, now: new Date(NOW.getTime() - 3600e3), ttlMs: 2 * 3600e3 });
  const b = signBundle(makeBundle({ trustDomain: TD, roots: [expiring.certPem] }), expiring, NOW);
  assert.equal(verifyBundle(b, { roots: [expiring.certPem] }, NOW).ok, true);
  const v = verifyBundle(b, { roots: [expiring.certPem] }, later(2 * 3600));
  assert.equal(v.ok ? 'accepted' : v.code, 'MESHFED_E_TRUST_BUNDLE_SIGNER_UNKNOWN');

  const signed = signBundle(makeBundle({ trustDomain: TD, roots: [real.certPem] }), real, NOW);
  for (const edited of [addAlias(signed, 'other.test'), revokeSerial(signed, '0a0b'), addRoots(signed, next.certPem)]) {
    assert.equal(edited.signature, undefined, 'an edited bundle is no longer signed');
  }
  assert.throws(() => signBundle(signed, { certPem: real.certPem, keyPem: next.keyPem }, NOW), /does not belong to the signing root/);
});

test('an operator key signs only where it is pinned', async () => {
  const { real } = await roots();
  const op = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyPem = op.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const pubPem = op.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const b = signBundle(makeBundle({ trustDomain: TD, roots: [real.certPem] }), { keyPem }, NOW);
  assert.equal(b.signature!.signer, signerKeyId(op.publicKey));
  assert.deepEqual(verifyBundle(b, { roots: [real.certPem], signerKeys: [pubPem] }, NOW), { ok: true, signer: signerKeyId(op.publicKey) });
  const unpinned = verifyBundle(b, { roots: [real.certPem] }, NOW);
  assert.equal(unpinned.ok ? 'accepted' : unpinned.code, 'MESHFED_E_TRUST_BUNDLE_SIGNER_UNKNOWN');
});

test('the signature survives the bundle file and the Federation proto (both normalise the same content)', async () => {
  const { real, next } = await roots();
  const b = signBundle(addAlias(makeBundle({ trustDomain: TD, roots: [next.certPem, real.certPem] }), 'old.test'), real, NOW);
  const trust = { roots: [real.certPem] };
  const viaFile = bundleFromJson(bundleToJson(b));
  assert.deepEqual([viaFile.issuedAt, viaFile.signature], [b.issuedAt, b.signature]);
  assert.equal(verifyBundle(viaFile, trust, NOW).ok, true);
  const viaProto = bundleFromProto({ ...bundleToProto(b), root_pems: [...b.roots].reverse().map((r) => r.replace(/\n/g, '\r\n')) });
  assert.equal(verifyBundle(viaProto, trust, NOW).ok, true, 'order and line ends do not matter: the content is normalised before checking');
});

test('the gate through a root rotation: {old,new} signed by old, then {new} signed by new; afterwards the old root can sign nothing', async () => {
  const { real: old, next, evil } = await roots();
  const gate = new BundleGate({ configuredRoots: () => [old.certPem] });
  assert.deepEqual(receiverTrust(undefined, [old.certPem]).roots, [old.certPem], 'before any bundle: the configured roots');

  const unsigned = gate.offer(makeBundle({ trustDomain: TD, roots: [evil.certPem] }), NOW);
  assert.equal(unsigned.ok, false);
  assert.equal(gate.inForce, undefined, 'a refused bundle never takes effect');

  const both = signBundle(addRoots(makeBundle({ trustDomain: TD, roots: [old.certPem] }), next.certPem), old, later(1));
  assert.equal(gate.offer(both, later(1)).ok, true);
  assert.deepEqual(gate.offer(both, later(2)), { ok: true, signer: `root:${rootFingerprint(old.certPem)}`, unchanged: true }, 'the same bundle again (a reconnect) changes nothing');
  const onlyNew = signBundle(removeRoot(both, rootFingerprint(old.certPem)), next, later(3));
  assert.equal(gate.offer(onlyNew, later(3)).ok, true);
  assert.deepEqual(receiverTrust(gate.inForce, [old.certPem]).roots, onlyNew.roots, 'in force, the bundle alone counts: the configured old root no longer does');

  const back = gate.offer(signBundle(makeBundle({ trustDomain: TD, roots: [old.certPem] }), old, later(4)), later(4));
  assert.equal(back.ok ? 'accepted' : back.code, 'MESHFED_E_TRUST_BUNDLE_SIGNER_UNKNOWN', 'the retired root cannot bring itself back');
  const replay = gate.offer(both, later(5));
  assert.equal(replay.ok ? 'accepted' : replay.code, 'MESHFED_E_TRUST_BUNDLE_SIGNER_UNKNOWN', 'nor can the old {old,new} bundle be replayed');
  const status = gate.status();
  assert.equal(status.version, onlyNew.version);
  assert.equal(status.accepted, 2);
  assert.equal(status.refused, 3);
  assert.equal(status.lastRefusal?.code, 'MESHFED_E_TRUST_BUNDLE_SIGNER_UNKNOWN');
  assert.deepEqual([...gate.refusals()], [
    { labels: { code: 'MESHFED_E_TRUST_BUNDLE_UNSIGNED' }, value: 1 },
    { labels: { code: 'MESHFED_E_TRUST_BUNDLE_SIGNER_UNKNOWN' }, value: 2 },
  ]);
});

test('a receiver restores its own saved bundle only when it is signed', async () => {
  const { real, next } = await roots();
  const gate = new BundleGate({ configuredRoots: () => [real.certPem] });
  assert.equal(gate.restore(makeBundle({ trustDomain: TD, roots: [real.certPem] })), false, 'saved before bundles were signed: dropped');
  // Signed by a root that has since left the configured ones: it was verified when it was accepted.
  const saved = signBundle(makeBundle({ trustDomain: TD, roots: [next.certPem] }), next, NOW);
  assert.equal(gate.restore(saved), true);
  assert.equal(gate.inForce?.version, saved.version);
});
