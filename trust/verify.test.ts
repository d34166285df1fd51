// verifyPeer: each way a peer can be wrong is refused with its own code; good peers pass with their SPIFFE ID.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { verifyPeer, type PeerVerification } from './verify.ts';
import { createTestPki, type TestPki } from './testing.ts';
import { createIntermediateCa, createRootCa, generateKeys, issueCertificate, issueWorkload, type WorkloadCert } from './ca.ts';
import { addAlias, addRoots, makeBundle, revokeSerial } from './bundle.ts';
import { x509 } from './x509.ts';

const TD = 'example.org';
const WEB = `spiffe://${TD}/ns/shop/sa/web`;
const HOUR = 3600_000;
let pki: TestPki;
let web: WorkloadCert;

before(async () => {
  pki = await createTestPki({ trustDomain: TD, nameConstraints: false });
  web = await pki.issue(WEB);
});

function code(r: PeerVerification): string {
  return r.ok ? 'ok' : r.error.code;
}

test('a workload chain under a cluster intermediate verifies and yields its SPIFFE ID', () => {
  const r = verifyPeer(web.chainPem, pki.bundle, new Date(), { usage: 'server', spiffeId: WEB });
  assert.ok(r.ok, r.ok ? '' : r.error.reason);
  assert.equal(r.value.spiffeId, WEB);
  assert.equal(r.value.identity.kind, 'workload');
  assert.equal(r.value.pathLength, 3);
});

test('the chain may include the root, or be given as separate PEM items', () => {
  assert.equal(code(verifyPeer(web.chainPem + pki.root.certPem, pki.bundle, new Date())), 'ok');
  assert.equal(code(verifyPeer([web.certPem, pki.east.certPem], pki.bundle, new Date())), 'ok');
});

test('a leaf without its intermediate is refused as an unknown root', () => {
  const r = verifyPeer(web.certPem, pki.bundle, new Date());
  assert.equal(code(r), 'MESHFED_E_CERT_UNKNOWN_ROOT');
});

test('a certificate from an unrelated root is refused as an unknown root', async () => {
  const other = await createTestPki({ trustDomain: TD, nameConstraints: false });
  const stranger = await other.issue(WEB);
  const r = verifyPeer(stranger.chainPem, pki.bundle, new Date());
  assert.equal(code(r), 'MESHFED_E_CERT_UNKNOWN_ROOT');
  assert.match(r.ok ? '' : r.error.reason, /neither in the chain nor a root/);
});

test('a foreign trust domain is refused, then accepted once added as an alias', async () => {
  const root = pki.root;
  const partner = await createIntermediateCa({ root, cluster: 'partner', trustDomain: 'partner.net' });
  const svc = await issueWorkload(partner, 'spiffe://partner.net/ns/pay/sa/api');
  const before = verifyPeer(svc.chainPem, pki.bundle, new Date());
  assert.equal(code(before), 'MESHFED_E_CERT_FOREIGN_TRUST_DOMAIN');
  const aliased = addAlias(pki.bundle, 'partner.net');
  const after = verifyPeer(svc.chainPem, aliased, new Date(), { trustDomain: TD });
  assert.ok(after.ok);
  assert.equal(after.value.identity.trustDomain, 'partner.net');
});

test('expired and not-yet-valid leaves are refused with distinct codes, within the skew allowance accepted', () => {
  const now = Date.now();
  const afterExpiry = web.notAfter.getTime() + 2 * 60_000;
  assert.equal(code(verifyPeer(web.chainPem, pki.bundle, afterExpiry)), 'MESHFED_E_CERT_EXPIRED');
  assert.equal(code(verifyPeer(web.chainPem, pki.bundle, web.notAfter.getTime() + 30_000)), 'ok');
  const beforeStart = web.notBefore.getTime() - 2 * 60_000;
  assert.equal(code(verifyPeer(web.chainPem, pki.bundle, beforeStart)), 'MESHFED_E_CERT_NOT_YET_VALID');
  assert.equal(code(verifyPeer(web.chainPem, pki.bundle, now)), 'ok');
});

test('certificates issued in the past or future carry their own windows', async () => {
  const old = await pki.issue(WEB, { now: new Date(Date.now() - 48 * HOUR) });
  assert.equal(code(verifyPeer(old.chainPem, pki.bundle, new Date())), 'MESHFED_E_CERT_EXPIRED');
  const future = await pki.issue(WEB, { now: new Date(Date.now() + 2 * HOUR) });
  assert.equal(code(verifyPeer(future.chainPem, pki.bundle, new Date())), 'MESHFED_E_CERT_NOT_YET_VALID');
});

test('a revoked intermediate refuses every leaf under it, and only those', async () => {
  const serial = new x509.X509Certificate(pki.east.certPem).serialNumber;
  const revoked = revokeSerial(pki.bundle, serial.toUpperCase().replace(/(..)(?=.)/g, '$1:'));
  assert.equal(code(verifyPeer(web.chainPem, revoked, new Date())), 'MESHFED_E_CERT_REVOKED');
  const westLeaf = await pki.issue(WEB, { ca: pki.west });
  assert.equal(code(verifyPeer(westLeaf.chainPem, revoked, new Date())), 'ok');
});

test('a client-only certificate used as a server is refused as wrong usage', async () => {
  const clientOnly = await pki.issue(WEB, { usages: ['client'] });
  assert.equal(code(verifyPeer(clientOnly.chainPem, pki.bundle, new Date(), { usage: 'client' })), 'ok');
  const r = verifyPeer(clientOnly.chainPem, pki.bundle, new Date(), { usage: 'server' });
  assert.equal(code(r), 'MESHFED_E_CERT_WRONG_USAGE');
  assert.match(r.ok ? '' : r.error.reason, /needs serverAuth/);
});

test('a leaf that signs another leaf is refused as a leaf used as a CA', async () => {
  const k = await generateKeys();
  const forged = await issueCertificate({
    subject: 'CN=forged', publicKey: k.publicKey, issuer: { certPem: web.certPem, keyPem: web.keyPem }, ca: false,
    uris: [`spiffe://${TD}/ns/shop/sa/admin`], notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + HOUR),
  });
  const r = verifyPeer(forged + web.chainPem, pki.bundle, new Date());
  assert.equal(code(r), 'MESHFED_E_CERT_LEAF_AS_CA');
});

test('an intermediate with path length 0 cannot sign another CA', async () => {
  const k = await generateKeys();
  const subCa = await issueCertificate({
    subject: 'CN=sub-ca', publicKey: k.publicKey, issuer: pki.east, ca: true,
    notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + HOUR),
  });
  const { exportKeyPem } = await import('./ca.ts');
  const leaf = await issueWorkload({ certPem: subCa, keyPem: await exportKeyPem(k.privateKey) }, WEB);
  const r = verifyPeer(leaf.certPem + subCa + pki.east.certPem, pki.bundle, new Date());
  assert.equal(code(r), 'MESHFED_E_CERT_LEAF_AS_CA');
  assert.match(r.ok ? '' : r.error.reason, /path length 0/);
});

test('a tampered signature is refused as a bad signature, not as an unknown root', () => {
  const der = Buffer.from(new x509.X509Certificate(web.certPem).rawData);
  der[der.length - 5] = (der[der.length - 5] as number) ^ 0x55; // inside the signature value
  const r = verifyPeer([new Uint8Array(der), pki.east.certPem], pki.bundle, new Date());
  assert.equal(code(r), 'MESHFED_E_CERT_BAD_SIGNATURE');
  const tbs = Buffer.from(der);
  tbs[der.length - 5] = der[der.length - 5] as number;
  const idx = tbs.indexOf(Buffer.from('spiffe://'));
  tbs[idx + 9] = 'x'.charCodeAt(0); // a changed SAN: the body no longer matches the signature
  assert.equal(code(verifyPeer([new Uint8Array(tbs), pki.east.certPem], pki.bundle, new Date())), 'MESHFED_E_CERT_BAD_SIGNATURE');
});

test('garbage and empty chains are malformed, never thrown', () => {
  assert.equal(code(verifyPeer('', pki.bundle, new Date())), 'MESHFED_E_CERT_MALFORMED');
  assert.equal(code(verifyPeer([new Uint8Array([1, 2, 3])], pki.bundle, new Date())), 'MESHFED_E_CERT_MALFORMED');
  assert.equal(code(verifyPeer('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', pki.bundle, new Date())), 'MESHFED_E_CERT_MALFORMED');
});

test('a CA presented as a leaf is wrong usage', () => {
  assert.equal(code(verifyPeer(pki.east.chainPem, pki.bundle, new Date())), 'MESHFED_E_CERT_WRONG_USAGE');
});

test('a leaf without a SPIFFE ID is refused', async () => {
  const k = await generateKeys();
  const plain = await issueCertificate({
    subject: 'CN=plain', publicKey: k.publicKey, issuer: pki.east, ca: false, uris: ['https://example.org/x'],
    notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + HOUR),
  });
  assert.equal(code(verifyPeer(plain + pki.east.certPem, pki.bundle, new Date())), 'MESHFED_E_CERT_NO_SPIFFE_ID');
});

test('name constraints on the intermediate confine it to its trust domain', async () => {
  const constrained = await createIntermediateCa({ root: pki.root, cluster: 'nc', trustDomain: TD, nameConstraints: true });
  const k = await generateKeys();
  const outside = await issueCertificate({
    subject: '', publicKey: k.publicKey, issuer: constrained, ca: false, uris: ['spiffe://partner.net/ns/a/sa/b'],
    notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + HOUR),
  });
  const aliased = addAlias(pki.bundle, 'partner.net');
  assert.equal(code(verifyPeer(outside + constrained.certPem, aliased, new Date())), 'MESHFED_E_CERT_NAME_CONSTRAINT');
  const inside = await issueWorkload(constrained, WEB);
  assert.equal(code(verifyPeer(inside.chainPem, aliased, new Date())), 'ok');
});

test('expectations: exact ID, a set, a trust domain and a predicate', () => {
  const now = new Date();
  assert.equal(code(verifyPeer(web.chainPem, pki.bundle, now, { spiffeId: `spiffe://${TD}/ns/shop/sa/db` })), 'MESHFED_E_CERT_IDENTITY_MISMATCH');
  assert.equal(code(verifyPeer(web.chainPem, pki.bundle, now, { spiffeId: [`spiffe://${TD}/ns/x/sa/y`, WEB] })), 'ok');
  assert.equal(code(verifyPeer(web.chainPem, pki.bundle, now, { spiffeId: (_id, p) => p.kind === 'workload' && p.namespace === 'shop' })), 'ok');
  assert.equal(code(verifyPeer(web.chainPem, pki.bundle, now, { spiffeId: (_id, p) => p.kind === 'global-lb' })), 'MESHFED_E_CERT_IDENTITY_MISMATCH');
  assert.equal(code(verifyPeer(web.chainPem, pki.bundle, now, { trustDomain: 'other.org' })), 'MESHFED_E_CERT_IDENTITY_MISMATCH');
});

test('root rotation by overlap: both roots trusted together, the old one refused after removal', async () => {
  const newRoot = await createRootCa({ trustDomain: TD });
  const newInt = await createIntermediateCa({ root: newRoot, cluster: 'east', trustDomain: TD });
  const newLeaf = await issueWorkload(newInt, WEB);
  const both = addRoots(pki.bundle, newRoot.certPem);
  assert.equal(code(verifyPeer(web.chainPem, both, new Date())), 'ok');
  assert.equal(code(verifyPeer(newLeaf.chainPem, both, new Date())), 'ok');
  const onlyNew = makeBundle({ trustDomain: TD, roots: [newRoot.certPem] });
  assert.equal(code(verifyPeer(web.chainPem, onlyNew, new Date())), 'MESHFED_E_CERT_UNKNOWN_ROOT');
  assert.equal(code(verifyPeer(newLeaf.chainPem, onlyNew, new Date())), 'ok');
});
