// The certificate authority: root and per-cluster intermediate CAs, CSRs, workload certificates and renewal timing.
import { createPrivateKey, createPublicKey, randomBytes, X509Certificate as NodeX509 } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { GeneralName, GeneralSubtree, GeneralSubtrees, NameConstraints } from '@peculiar/asn1-x509';
import { parseSpiffeId, isTrustDomain } from '../api/identity.ts';
import { x509, subtle, type CryptoKey, type CryptoKeyPair } from './x509.ts';
import { normalizeSerial, OID, splitPem } from './pem.ts';

export { normalizeSerial, splitPem };
import type { webcrypto } from 'node:crypto';
import { trustError } from './errors.ts';

/** Key algorithms a CA or workload may use. P-256 is the default: small, fast, and what Istio issues. */
export type KeyType = 'ec-p256' | 'rsa-3072';
export const KEY_TYPES: readonly KeyType[] = ['ec-p256', 'rsa-3072'];

const HOUR = 3600_000;
const DAY = 24 * HOUR;
/** Default lifetimes, matching the CLI defaults. */
export const DEFAULT_TTL = { root: 10 * 365 * DAY, intermediate: 365 * DAY, workload: 24 * HOUR } as const;
/**
 * notBefore is back-dated by this much, so a peer whose clock runs a little behind ours still accepts a fresh
 * certificate (verifyPeer adds its own skew allowance on top).
 */
export const BACKDATE_MS = 60_000;

/** A certificate with its private key, both PEM. keyPem never reaches a log (see common/logger.ts redaction). */
export interface KeyedCert {
  readonly certPem: string;
  readonly keyPem: string;
  readonly keyType: KeyType;
}

/** An intermediate CA in the Istio plug-in layout: its cert/key, the root, and cert-chain (intermediate then root). */
export interface IntermediateCa extends KeyedCert {
  readonly rootPem: string;
  readonly chainPem: string;
}

/** A workload certificate: the leaf, its key, and the chain the workload presents (leaf then intermediate). */
export interface WorkloadCert extends KeyedCert {
  readonly chainPem: string;
  readonly spiffeId: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

function keyAlgorithm(keyType: KeyType): webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams {
  return keyType === 'ec-p256'
    ? { name: 'ECDSA', namedCurve: 'P-256' }
    : { name: 'RSASSA-PKCS1-v1_5', modulusLength: 3072, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
}

function signingAlgorithm(keyType: KeyType): webcrypto.Algorithm | webcrypto.EcdsaParams {
  return keyType === 'ec-p256' ? ({ name: 'ECDSA', hash: 'SHA-256' } as webcrypto.EcdsaParams) : { name: 'RSASSA-PKCS1-v1_5' };
}

/** Generates a key pair for certificates (extractable, so it can be written as PKCS#8). */
export async function generateKeys(keyType: KeyType = 'ec-p256'): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(keyAlgorithm(keyType), true, ['sign', 'verify'])) as CryptoKeyPair;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** Encodes a private key as PKCS#8 PEM. */
export async function exportKeyPem(key: CryptoKey): Promise<string> {
  return pem('PRIVATE KEY', await subtle.exportKey('pkcs8', key));
}

const importedKeys = new Map<string, Promise<{ key: CryptoKey; keyType: KeyType }>>();

/** Imports a PEM private key (PKCS#8, SEC1 or PKCS#1) for signing; memoised, because CAs sign many times. */
export function importKeyPem(keyPem: string): Promise<{ key: CryptoKey; keyType: KeyType }> {
  let hit = importedKeys.get(keyPem);
  if (!hit) {
    hit = (async () => {
      let keyObject;
      try {
        keyObject = createPrivateKey(keyPem);
      } catch (cause) {
        throw trustError('MESHFED_E_TRUST_CA_INVALID', 'the private key is not a PEM private key', cause);
      }
      const keyType: KeyType | undefined = keyObject.asymmetricKeyType === 'ec' && keyObject.asymmetricKeyDetails?.namedCurve === 'prime256v1'
        ? 'ec-p256'
        : keyObject.asymmetricKeyType === 'rsa' ? 'rsa-3072' : undefined;
      if (!keyType) throw trustError('MESHFED_E_TRUST_CA_INVALID', `unsupported key type ${keyObject.asymmetricKeyType ?? '?'} (use EC P-256 or RSA)`);
      const der = keyObject.export({ type: 'pkcs8', format: 'der' });
      const alg = keyType === 'ec-p256' ? { name: 'ECDSA', namedCurve: 'P-256' } : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
      const key = await subtle.importKey('pkcs8', der, alg, false, ['sign']);
      return { key, keyType };
    })();
    if (importedKeys.size > 64) importedKeys.clear();
    importedKeys.set(keyPem, hit);
    hit.catch(() => importedKeys.delete(keyPem));
  }
  return hit;
}

/** A random positive 128-bit serial number as lowercase hex (RFC 5280 allows up to 20 octets). */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] as number) & 0x7f) | 0x10; // positive and never a leading zero octet
  return bytes.toString('hex');
}

/** URI name constraints permitting only spiffe://<trustDomain>/... (RFC 5280 4.2.1.10: a URI constraint is a host). */
export function trustDomainNameConstraints(trustDomain: string): x509.Extension {
  const nc = new NameConstraints({
    permittedSubtrees: new GeneralSubtrees([new GeneralSubtree({ base: new GeneralName({ uniformResourceIdentifier: trustDomain }) })]),
  });
  return new x509.Extension(OID.nameConstraints, true, AsnConvert.serialize(nc));
}

/** Parameters of the low-level issuer; CA policy lives in the callers. Exported so tests can mint broken certs. */
export interface IssueParams {
  readonly subject: string;
  readonly publicKey: CryptoKey | x509.PublicKey;
  readonly issuer: { readonly certPem: string; readonly keyPem: string } | 'self';
  /** For 'self' the signing key. */
  readonly selfKeys?: CryptoKeyPair;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly ca: boolean;
  readonly pathLength?: number;
  readonly uris?: readonly string[];
  /** DNS and IP subject alternative names, for servers found by address (an etcd member) rather than by SPIFFE ID. */
  readonly dnsNames?: readonly string[];
  readonly ips?: readonly string[];
  readonly usages?: readonly ('server' | 'client')[];
  readonly nameConstraintDomain?: string;
  readonly serial?: string;
}

/** Signs one certificate exactly as described; no policy checks. */
export async function issueCertificate(p: IssueParams): Promise<string> {
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(p.ca, p.pathLength, true)];
  extensions.push(new x509.KeyUsagesExtension(
    p.ca ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
    true,
  ));
  if (!p.ca) {
    const usages = p.usages ?? ['server', 'client'];
    extensions.push(new x509.ExtendedKeyUsageExtension(usages.map((u) => (u === 'server' ? OID.serverAuth : OID.clientAuth)), false));
  }
  const sans = [
    ...(p.uris ?? []).map((value) => ({ type: 'url' as const, value })),
    ...(p.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(p.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  // Critical when the subject is empty (RFC 5280 4.2.1.6), which is how SPIFFE leaves are issued.
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans, p.subject === ''));
  if (p.nameConstraintDomain) extensions.push(trustDomainNameConstraints(p.nameConstraintDomain));
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(p.publicKey));
  const serialNumber = p.serial ?? randomSerial();
  if (p.issuer === 'self') {
    if (!p.selfKeys) throw new Error('issueCertificate: self-signed needs selfKeys');
    const alg = p.selfKeys.privateKey.algorithm.name === 'ECDSA' ? 'ec-p256' : 'rsa-3072';
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber, name: p.subject, keys: p.selfKeys, notBefore: p.notBefore, notAfter: p.notAfter,
      signingAlgorithm: signingAlgorithm(alg), extensions: [...extensions, await x509.AuthorityKeyIdentifierExtension.create(p.publicKey)],
    });
    return cert.toString('pem') + '\n';
  }
  const issuerInfo = await issuerOf(p.issuer.certPem);
  const { key, keyType } = await importKeyPem(p.issuer.keyPem);
  extensions.push(issuerInfo.aki);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber, subject: p.subject, issuer: issuerInfo.name, publicKey: p.publicKey, signingKey: key,
    notBefore: p.notBefore, notAfter: p.notAfter, signingAlgorithm: signingAlgorithm(keyType), extensions,
  });
  return cert.toString('pem') + '\n';
}

const issuers = new Map<string, Promise<{ name: x509.Name; aki: x509.Extension }>>();

/** The issuer's name and the AKI its children carry; memoised because a CA signs many certificates. */
function issuerOf(certPem: string): Promise<{ name: x509.Name; aki: x509.Extension }> {
  let hit = issuers.get(certPem);
  if (!hit) {
    const cert = parseCertPem(certPem);
    hit = x509.AuthorityKeyIdentifierExtension.create(cert.publicKey).then((aki) => ({ name: cert.subjectName, aki }));
    if (issuers.size > 64) issuers.clear();
    issuers.set(certPem, hit);
  }
  return hit;
}

/** Parses one PEM (or DER) certificate; throws MESHFED_E_TRUST_CA_INVALID. */
export function parseCertPem(certPem: string | Uint8Array): x509.X509Certificate {
  try {
    return new x509.X509Certificate(typeof certPem === 'string' ? certPem : new Uint8Array(certPem));
  } catch (cause) {
    throw trustError('MESHFED_E_TRUST_CA_INVALID', 'not a PEM certificate', cause);
  }
}

function checkTrustDomain(trustDomain: string): void {
  if (!isTrustDomain(trustDomain)) throw trustError('MESHFED_E_TRUST_CA_INVALID', `"${trustDomain}" is not a SPIFFE trust domain (lowercase letters, digits, ".", "-", "_")`);
}

/** Creates a self-signed root CA. Its key belongs offline; only intermediates sign workloads. */
export async function createRootCa(opts: { trustDomain: string; keyType?: KeyType; ttlMs?: number; now?: Date }): Promise<KeyedCert> {
  checkTrustDomain(opts.trustDomain);
  const keyType = opts.keyType ?? 'ec-p256';
  const now = opts.now ?? new Date();
  const keys = await generateKeys(keyType);
  const certPem = await issueCertificate({
    subject: `O=meshfed, OU=${opts.trustDomain}, CN=meshfed root ${now.toISOString().slice(0, 10)} ${randomSerial().slice(0, 8)}`,
    publicKey: keys.publicKey, issuer: 'self', selfKeys: keys, ca: true,
    notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter: new Date(now.getTime() + (opts.ttlMs ?? DEFAULT_TTL.root)),
  });
  return { certPem, keyPem: await exportKeyPem(keys.privateKey), keyType };
}

/**
 * Creates a cluster's intermediate CA under a root: path length 0 (it may sign only leaves) and, optionally,
 * URI name constraints so even a stolen intermediate key cannot mint identities outside the trust domain.
 */
export async function createIntermediateCa(opts: {
  root: KeyedCert | { certPem: string; keyPem: string };
  cluster: string;
  trustDomain: string;
  keyType?: KeyType;
  ttlMs?: number;
  now?: Date;
  nameConstraints?: boolean;
}): Promise<IntermediateCa> {
  checkTrustDomain(opts.trustDomain);
  if (!/^[A-Za-z0-9._-]{1,63}$/.test(opts.cluster)) throw trustError('MESHFED_E_TRUST_CA_INVALID', `cluster name "${opts.cluster}" must be 1-63 of A-Z a-z 0-9 . _ -`);
  const root = parseCertPem(opts.root.certPem);
  const now = opts.now ?? new Date();
  let notAfter = new Date(now.getTime() + (opts.ttlMs ?? DEFAULT_TTL.intermediate));
  // An intermediate outliving its root would be refused at the root's expiry anyway; clamp so the files tell the truth.
  if (notAfter > root.notAfter) notAfter = root.notAfter;
  const keyType = opts.keyType ?? (await importKeyPem(opts.root.keyPem)).keyType;
  const keys = await generateKeys(keyType);
  const certPem = await issueCertificate({
    subject: `O=meshfed, OU=${opts.trustDomain}, CN=meshfed intermediate ${opts.cluster}`,
    publicKey: keys.publicKey, issuer: opts.root, ca: true, pathLength: 0,
    notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter,
    ...(opts.nameConstraints ? { nameConstraintDomain: opts.trustDomain } : {}),
  });
  const rootPem = root.toString('pem') + '\n';
  return { certPem, keyPem: await exportKeyPem(keys.privateKey), keyType, rootPem, chainPem: certPem + rootPem };
}

/** Creates a PKCS#10 CSR carrying the SPIFFE ID in its URI SAN; the key never leaves the workload. */
export async function createCsr(opts: { spiffeId: string; keyType?: KeyType }): Promise<{ csrPem: string; keyPem: string }> {
  if (!parseSpiffeId(opts.spiffeId)) throw trustError('MESHFED_E_TRUST_CSR_INVALID', `"${opts.spiffeId}" is not a SPIFFE ID (spiffe://<trust-domain>/<path>)`);
  const keyType = opts.keyType ?? 'ec-p256';
  const keys = await generateKeys(keyType);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys, signingAlgorithm: signingAlgorithm(keyType),
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: opts.spiffeId }])],
  });
  return { csrPem: csr.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) };
}

/** The URI SANs of a certificate or CSR. */
export function uriSans(item: x509.X509Certificate | x509.Pkcs10CertificateRequest): string[] {
  const ext = item.extensions.find((e) => e.type === OID.subjectAltName);
  if (!ext) return [];
  const san = new x509.SubjectAlternativeNameExtension(ext.rawData);
  return san.names.items.filter((n) => n.type === 'url').map((n) => n.value);
}

export interface SignOptions {
  /** Lifetime; default 24h, clamped to the CA's own expiry. */
  readonly ttlMs?: number;
  readonly now?: Date;
  /** When set, the CSR must carry exactly this ID (the zone agent passes the ID it authenticated). */
  readonly spiffeId?: string;
  /** Default both: SPIFFE workloads are servers and clients. */
  readonly usages?: readonly ('server' | 'client')[];
}

/**
 * Refuses a CSR key weaker than meshfed issues itself: EC on P-256 or larger, or RSA of at least 2048 bits. An
 * RSA-768 key (factorable today) was once signed as readily as any other.
 */
function checkKeyStrength(key: x509.PublicKey): void {
  const k = createPublicKey({ key: Buffer.from(key.rawData), format: 'der', type: 'spki' });
  const d = k.asymmetricKeyDetails ?? {};
  if (k.asymmetricKeyType === 'ec') {
    if (!['prime256v1', 'secp384r1', 'secp521r1'].includes(d.namedCurve ?? '')) throw trustError('MESHFED_E_TRUST_CSR_INVALID', `the CSR key is on curve ${d.namedCurve ?? '(unknown)'}; use P-256 or larger`);
    return;
  }
  if (k.asymmetricKeyType === 'rsa' || k.asymmetricKeyType === 'rsa-pss') {
    if ((d.modulusLength ?? 0) < 2048) throw trustError('MESHFED_E_TRUST_CSR_INVALID', `the CSR key is RSA-${d.modulusLength ?? '?'}; use RSA-2048 or larger, or P-256`);
    return;
  }
  throw trustError('MESHFED_E_TRUST_CSR_INVALID', `the CSR key type ${k.asymmetricKeyType ?? '(unknown)'} is not accepted; use P-256 or RSA-2048 or larger`);
}

/**
 * Signs a PKCS#10 CSR with a CA: the CSR's signature must verify and it must name one SPIFFE ID in the CA's trust
 * domain. The leaf gets that ID as its only URI SAN, an empty subject, and serverAuth+clientAuth.
 */
export async function signCsr(ca: { certPem: string; keyPem: string }, csrPem: string, opts: SignOptions = {}): Promise<{ certPem: string; spiffeId: string; notBefore: Date; notAfter: Date }> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (cause) {
    throw trustError('MESHFED_E_TRUST_CSR_INVALID', 'not a PEM PKCS#10 certificate request', cause);
  }
  if (!(await csr.verify())) throw trustError('MESHFED_E_TRUST_CSR_INVALID', 'the CSR signature does not verify (it was altered or signed with another key)');
  checkKeyStrength(csr.publicKey);
  const uris = uriSans(csr);
  if (uris.length !== 1) throw trustError('MESHFED_E_TRUST_CSR_INVALID', `the CSR must carry exactly one URI SAN (a SPIFFE ID), it carries ${uris.length}`);
  const spiffeId = uris[0] as string;
  const parsed = parseSpiffeId(spiffeId);
  if (!parsed) throw trustError('MESHFED_E_TRUST_CSR_INVALID', `the CSR's URI SAN "${spiffeId}" is not a SPIFFE ID`);
  if (opts.spiffeId !== undefined && opts.spiffeId !== spiffeId) throw trustError('MESHFED_E_TRUST_CSR_INVALID', `the CSR asks for ${spiffeId} but ${opts.spiffeId} was expected`);
  let caCert: NodeX509;
  try {
    caCert = new NodeX509(ca.certPem);
  } catch (cause) {
    throw trustError('MESHFED_E_TRUST_CA_INVALID', 'the CA certificate is not a PEM certificate', cause);
  }
  if (!caCert.ca) throw trustError('MESHFED_E_TRUST_CA_INVALID', 'the signing certificate is not a CA');
  const caDomain = /(?:^|\n)OU=([^\n]+)/.exec(caCert.subject ?? '')?.[1];
  if (caDomain !== undefined && caDomain !== parsed.trustDomain) {
    throw trustError('MESHFED_E_TRUST_CSR_INVALID', `the CSR is for trust domain ${parsed.trustDomain} but this CA serves ${caDomain}`);
  }
  const now = opts.now ?? new Date();
  let notAfter = new Date(now.getTime() + (opts.ttlMs ?? DEFAULT_TTL.workload));
  if (notAfter > caCert.validToDate) notAfter = caCert.validToDate;
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  const certPem = await issueCertificate({
    subject: '', publicKey: csr.publicKey, issuer: ca, ca: false, uris: [spiffeId], notBefore, notAfter,
    ...(opts.usages ? { usages: opts.usages } : {}),
  });
  return { certPem, spiffeId, notBefore, notAfter };
}

/** Issues a workload certificate with a fresh key (CSR made and signed in one step; for the CLI, tests and agents). */
export async function issueWorkload(ca: IntermediateCa | { certPem: string; keyPem: string; keyType?: KeyType }, spiffeId: string, opts: SignOptions & { keyType?: KeyType } = {}): Promise<WorkloadCert> {
  const keyType = opts.keyType ?? ('keyType' in ca && ca.keyType ? ca.keyType : 'ec-p256');
  const { csrPem, keyPem } = await createCsr({ spiffeId, keyType });
  const signed = await signCsr(ca, csrPem, { ...opts, spiffeId });
  return { certPem: signed.certPem, keyPem, keyType, chainPem: signed.certPem + ca.certPem, spiffeId, notBefore: signed.notBefore, notAfter: signed.notAfter };
}

/** Share of the lifetime added at random after the half-life, so a fleet issued together does not renew together. */
export const RENEWAL_JITTER = 0.1;

/**
 * When a certificate should be renewed: half its lifetime after notBefore, plus up to RENEWAL_JITTER of the lifetime.
 * Pure: `random` returns a number in [0, 1) (inject Math.random in production, a constant in tests).
 */
export function renewalDue(notBefore: Date, notAfter: Date, random: () => number, jitter: number = RENEWAL_JITTER): Date {
  const life = notAfter.getTime() - notBefore.getTime();
  const r = Math.min(Math.max(random(), 0), 0.999999);
  return new Date(notBefore.getTime() + life / 2 + r * jitter * life);
}
