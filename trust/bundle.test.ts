// The trust bundle: normalised, versioned by content, safe edits, JSON and proto round trips.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { addAlias, addRoots, bundleFromJson, bundleFromProto, bundleToJson, bundleToProto, makeBundle, pruneExpiredRoots, removeRoot, revokeSerial, rootFingerprint, rootsValidAt } from './bundle.ts';
import { createIntermediateCa, createRootCa, type KeyedCert } from './ca.ts';
import { codeOf } from './testing.ts';
import { x509 } from './x509.ts';

const TD = 'example.org';
let a: KeyedCert;
let b: KeyedCert;

before(async () => {
  a = await createRootCa({ trustDomain: TD });
  b = await createRootCa({ trustDomain: TD, ttlMs: 3600_000 });
});

test('the version is a content hash: same content, same version, whatever the order', () => {
  const one = makeBundle({ trustDomain: TD, roots: [a.certPem, b.certPem], aliases: ['x.org', 'y.org'] });
  const two = makeBundle({ trustDomain: TD, roots: [b.certPem, a.certPem, a.certPem], aliases: ['y.org', 'x.org'] });
  assert.equal(one.version, two.version);
  assert.equal(two.roots.length, 2);
  assert.notEqual(addAlias(one, 'z.org').version, one.version);
  assert.ok(Object.isFrozen(one) && Object.isFrozen(one.roots));
});

test('JSON and proto forms round-trip', () => {
  const bundle = revokeSerial(addAlias(makeBundle({ trustDomain: TD, roots: [a.certPem] }), 'partner.net'), 'AB:CD');
  const json = bundleToJson(bundle);
  assert.deepEqual(bundleFromJson(json), bundle);
  assert.deepEqual(bundleFromProto(bundleToProto(bundle)), bundle);
  assert.deepEqual(bundle.revokedSerials, ['abcd']);
});

test('bad bundle files are refused with the path named', () => {
  assert.throws(() => bundleFromJson('{"trustDomain":"Bad Domain","roots":[]}', 'b.json'), /b\.json: trustDomain: /);
  assert.throws(() => bundleFromJson('{"trustDomain":"example.org","roots":["nope"]}', 'b.json'), /b\.json: roots\[0\]/);
  assert.throws(() => bundleFromJson('{"trustDomain":"example.org","extra":1}', 'b.json'), /extra/);
});

test('removeRoot matches by fingerprint prefix, serial or PEM, and never removes the last root', () => {
  const both = addRoots(makeBundle({ trustDomain: TD, roots: [a.certPem] }), b.certPem);
  assert.equal(removeRoot(both, rootFingerprint(a.certPem).slice(0, 12)).roots.length, 1);
  assert.equal(removeRoot(both, new x509.X509Certificate(b.certPem).serialNumber).roots[0], removeRoot(both, b.certPem).roots[0]);
  assert.equal(codeOf(() => removeRoot(removeRoot(both, a.certPem), b.certPem)), 'MESHFED_E_TRUST_BUNDLE_INVALID');
  assert.equal(codeOf(() => removeRoot(both, 'deadbeefdeadbeef')), 'MESHFED_E_TRUST_BUNDLE_INVALID');
});

test('only self-signed roots may be added', async () => {
  const int = await createIntermediateCa({ root: a, cluster: 'east', trustDomain: TD });
  assert.equal(codeOf(() => addRoots(makeBundle({ trustDomain: TD }), int.certPem)), 'MESHFED_E_TRUST_BUNDLE_INVALID');
});

test('roots valid now are listed and expired ones pruned', () => {
  const both = makeBundle({ trustDomain: TD, roots: [a.certPem, b.certPem] });
  const later = new Date(Date.now() + 2 * 3600_000);
  assert.equal(rootsValidAt(both, new Date()).length, 2);
  assert.equal(rootsValidAt(both, later).length, 1);
  assert.deepEqual(pruneExpiredRoots(both, later).roots, [makeBundle({ trustDomain: TD, roots: [a.certPem] }).roots[0]]);
});
