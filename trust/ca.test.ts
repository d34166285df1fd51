// The CA: intermediates are constrained CAs, CSRs are checked before signing, renewal falls at half-life plus jitter.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createCsr, createIntermediateCa, createRootCa, normalizeSerial, renewalDue, signCsr, importKeyPem, RENEWAL_JITTER, type KeyedCert } from './ca.ts';
import { x509 } from './x509.ts';
import { OID } from './pem.ts';
import { MeshfedError } from '../common/errors.ts';
import { webcrypto } from 'node:crypto';

const TD = 'example.org';
const HOUR = 3600_000;
let root: KeyedCert;

before(async () => {
  root = await createRootCa({ trustDomain: TD });
});

function ext<T>(pem: string, oid: string, ctor: new (raw: ArrayBuffer) => T): T | undefined {
  const e = new x509.X509Certificate(pem).extensions.find((x) => x.type === oid);
  return e ? new ctor(e.rawData) : undefined;
}

test('renewal is due at half-life plus at most the jitter share of the lifetime', () => {
  const nb = new Date(0);
  const na = new Date(24 * HOUR);
  assert.equal(renewalDue(nb, na, () => 0).getTime(), 12 * HOUR);
  assert.equal(renewalDue(nb, na, () => 0.5).getTime(), 12 * HOUR + 0.5 * RENEWAL_JITTER * 24 * HOUR);
  const max = renewalDue(nb, na, () => 1).getTime();
  assert.ok(max < 12 * HOUR + RENEWAL_JITTER * 24 * HOUR + 1 && max > 12 * HOUR);
  assert.ok(renewalDue(nb, na, () => 0.999).getTime() < na.getTime());
  // out-of-range random sources are clamped rather than trusted
  assert.equal(renewalDue(nb, na, () => -3).getTime(), 12 * HOUR);
});

test('the root is a self-signed CA and the intermediate has path length 0 and optional URI name constraints', async () => {
  const rootCert = new x509.X509Certificate(root.certPem);
  assert.equal(rootCert.subject, rootCert.issuer);
  assert.equal(ext(root.certPem, OID.basicConstraints, x509.BasicConstraintsExtension)?.ca, true);
  const int = await createIntermediateCa({ root, cluster: 'east', trustDomain: TD, nameConstraints: true });
  const bc = ext(int.certPem, OID.basicConstraints, x509.BasicConstraintsExtension);
  assert.equal(bc?.ca, true);
  assert.equal(bc?.pathLength, 0);
  assert.ok(new x509.X509Certificate(int.certPem).extensions.some((e) => e.type === OID.nameConstraints && e.critical));
  assert.equal(int.chainPem, int.certPem + int.rootPem);
  const plain = await createIntermediateCa({ root, cluster: 'west', trustDomain: TD });
  assert.ok(!new x509.X509Certificate(plain.certPem).extensions.some((e) => e.type === OID.nameConstraints));
});

test('an intermediate never outlives its root', async () => {
  const shortRoot = await createRootCa({ trustDomain: TD, ttlMs: 2 * HOUR });
  const int = await createIntermediateCa({ root: shortRoot, cluster: 'east', trustDomain: TD, ttlMs: 365 * 24 * HOUR });
  assert.equal(new x509.X509Certificate(int.certPem).notAfter.getTime(), new x509.X509Certificate(shortRoot.certPem).notAfter.getTime());
});

test('signCsr issues a 24h leaf with the SPIFFE ID, both EKUs and an empty subject', async () => {
  const int = await createIntermediateCa({ root, cluster: 'east', trustDomain: TD });
  const id = `spiffe://${TD}/ns/shop/sa/web`;
  const { csrPem } = await createCsr({ spiffeId: id });
  const now = new Date('2026-01-01T00:00:00Z');
  const signed = await signCsr(int, csrPem, { now });
  const leaf = new x509.X509Certificate(signed.certPem);
  assert.equal(leaf.subject, '');
  assert.equal(leaf.notAfter.getTime() - now.getTime(), 24 * HOUR);
  assert.equal(signed.spiffeId, id);
  const eku = ext(signed.certPem, OID.extKeyUsage, x509.ExtendedKeyUsageExtension);
  assert.deepEqual(Array.from(eku?.usages ?? [], String).sort(), [OID.serverAuth, OID.clientAuth].sort());
  assert.equal(ext(signed.certPem, OID.basicConstraints, x509.BasicConstraintsExtension)?.ca, false);
});

test('signCsr refuses a tampered CSR, a foreign trust domain, an unexpected ID and a non-CA signer', async () => {
  const int = await createIntermediateCa({ root, cluster: 'east', trustDomain: TD });
  const { csrPem } = await createCsr({ spiffeId: `spiffe://${TD}/ns/a/sa/b` });
  const code = async (p: Promise<unknown>) => {
    try {
      await p;
      return 'ok';
    } catch (e) {
      return e instanceof MeshfedError ? e.code : String(e);
    }
  };
  const der = Buffer.from(csrPem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
  const at = der.indexOf(Buffer.from('spiffe://'));
  der[at + 10] = 'z'.charCodeAt(0);
  const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  assert.equal(await code(signCsr(int, tampered)), 'MESHFED_E_TRUST_CSR_INVALID');
  assert.equal(await code(signCsr(int, 'not a csr')), 'MESHFED_E_TRUST_CSR_INVALID');
  const foreign = await createCsr({ spiffeId: 'spiffe://other.org/ns/a/sa/b' });
  assert.equal(await code(signCsr(int, foreign.csrPem)), 'MESHFED_E_TRUST_CSR_INVALID');
  assert.equal(await code(signCsr(int, csrPem, { spiffeId: `spiffe://${TD}/ns/a/sa/c` })), 'MESHFED_E_TRUST_CSR_INVALID');
  const leaf = await signCsr(int, csrPem);
  const { csrPem: other } = await createCsr({ spiffeId: `spiffe://${TD}/ns/x/sa/y` });
  const leafKey = (await createCsr({ spiffeId: `spiffe://${TD}/ns/a/sa/b` })).keyPem;
  assert.equal(await code(signCsr({ certPem: leaf.certPem, keyPem: leafKey }, other)), 'MESHFED_E_TRUST_CA_INVALID');
  assert.equal(await code(createCsr({ spiffeId: 'https://example.org/x' })), 'MESHFED_E_TRUST_CSR_INVALID');
});

test('RSA 3072 keys are supported end to end', async () => {
  const rsaRoot = await createRootCa({ trustDomain: TD, keyType: 'rsa-3072' });
  assert.equal((await importKeyPem(rsaRoot.keyPem)).keyType, 'rsa-3072');
  const cert = new x509.X509Certificate(rsaRoot.certPem);
  assert.equal((cert.publicKey.algorithm as { modulusLength?: number }).modulusLength, 3072);
});

test('serials normalise across case, colons and leading zeros', () => {
  assert.equal(normalizeSerial('00:1A:2b'), '1a2b');
  assert.equal(normalizeSerial('0'), '0');
});

/** A CSR for `spiffeId` on a key of the given WebCrypto algorithm (no validation: the CA must do it). */
async function rawCsr(spiffeId: string, alg: webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams, signing: webcrypto.Algorithm | webcrypto.EcdsaParams): Promise<string> {
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys, signingAlgorithm: signing, extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }])],
  });
  return csr.toString('pem') + '\n';
}

test('signCsr refuses weak keys (RSA under 2048, EC under P-256) and SPIFFE IDs with "." or ".." segments', async () => {
  const int = await createIntermediateCa({ root, cluster: 'east', trustDomain: TD });
  const id = `spiffe://${TD}/ns/shop/sa/web`;
  const rsa = (bits: number) => rawCsr(id, { name: 'RSASSA-PKCS1-v1_5', modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, { name: 'RSASSA-PKCS1-v1_5' });
  await assert.rejects(signCsr(int, await rsa(1024)), (e: MeshfedError) => e.code === 'MESHFED_E_TRUST_CSR_INVALID' && /RSA-1024; use RSA-2048 or larger/.test(e.message));
  assert.match((await signCsr(int, await rsa(2048))).spiffeId, /sa\/web$/, 'RSA-2048 is accepted');
  assert.match((await signCsr(int, await rawCsr(id, { name: 'ECDSA', namedCurve: 'P-384' }, { name: 'ECDSA', hash: 'SHA-384' } as webcrypto.EcdsaParams))).spiffeId, /sa\/web$/, 'P-384 is accepted');
  // The identity from the issue: URL normalisation would turn it into a zone agent's.
  const traversal = await rawCsr(`spiffe://${TD}/ns/shop/sa/../../../meshfed/zone/us-east-1a`, { name: 'ECDSA', namedCurve: 'P-256' }, { name: 'ECDSA', hash: 'SHA-256' } as webcrypto.EcdsaParams);
  await assert.rejects(signCsr(int, traversal), (e: MeshfedError) => e.code === 'MESHFED_E_TRUST_CSR_INVALID' && /is not a SPIFFE ID/.test(e.message));
});
