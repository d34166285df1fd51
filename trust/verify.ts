// verifyPeer: the pure, synchronous decision whether a presented certificate chain is a trusted SPIFFE peer.
import { X509Certificate as NodeX509, createHash } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityKeyIdentifier, BasicConstraints, Certificate, ExtendedKeyUsage, KeyUsage, NameConstraints, SubjectAlternativeName, SubjectKeyIdentifier,
  id_ce_authorityKeyIdentifier, id_ce_subjectKeyIdentifier,
} from '@peculiar/asn1-x509';
import { parseSpiffeId, type SpiffeId } from '../api/identity.ts';
import type { TrustBundle } from '../api/trust-bundle.ts';
import { err, ok, type Result } from '../common/errors.ts';
import { KEY_USAGE, normalizeSerial, OID } from './pem.ts';
import type { VerifyCode } from './errors.ts';

/** Clock skew tolerated on notBefore/notAfter unless the caller says otherwise. */
export const DEFAULT_SKEW_MS = 60_000;
/** Longest chain considered (leaf, intermediates, root); longer chains are refused as malformed. */
export const MAX_CHAIN = 6;

/** What the verifier requires of a peer besides chaining to the bundle. */
export interface PeerExpectations {
  /** Who the peer must be: one SPIFFE ID, a set of IDs, or a predicate. Omitted: any ID in the bundle's domain or an alias. */
  readonly spiffeId?: string | readonly string[] | ((id: string, parsed: SpiffeId) => boolean);
  /** The peer's trust domain must be this one; the bundle's aliases count as its own domain. */
  readonly trustDomain?: string;
  /** The role the peer plays: a 'server' needs serverAuth, a 'client' needs clientAuth. Omitted: not checked. */
  readonly usage?: 'server' | 'client';
  /** Allowed clock skew on validity times; default DEFAULT_SKEW_MS. */
  readonly skewMs?: number;
}

/** A peer that passed every check. */
export interface VerifiedPeer {
  readonly spiffeId: string;
  readonly identity: SpiffeId;
  readonly serial: string;
  readonly notAfter: Date;
  /** SHA-256 fingerprint (hex) of the bundle root the chain ends at. */
  readonly rootFingerprint: string;
  /** Certificates in the verified path, leaf to root. */
  readonly pathLength: number;
}

/** Why a peer was refused: a stable code and a human reason naming the certificate at fault. */
export interface PeerRejection {
  readonly code: VerifyCode;
  readonly reason: string;
}

export type PeerVerification = Result<VerifiedPeer, PeerRejection>;

interface Parsed {
  readonly der: Buffer;
  readonly node: NodeX509;
  readonly subject: string;
  readonly issuer: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly ca: boolean;
  readonly pathLen: number | undefined;
  readonly keyUsage: number | undefined;
  readonly eku: readonly string[] | undefined;
  readonly uris: readonly string[];
  readonly permittedUriHosts: readonly string[] | undefined;
  readonly serial: string;
  readonly ski: string | undefined;
  readonly aki: string | undefined;
  readonly fingerprint: string;
}

/** Parsed certificates by DER hash: peers and intermediates repeat across handshakes, and parsing dominates. */
const parseCache = new Map<string, Parsed>();
const PARSE_CACHE_MAX = 2048;

function parse(der: Buffer): Parsed {
  const fingerprint = createHash('sha256').update(der).digest('hex');
  const hit = parseCache.get(fingerprint);
  if (hit) return hit;
  const parsed = parseUncached(der, fingerprint);
  if (parseCache.size >= PARSE_CACHE_MAX) parseCache.delete(parseCache.keys().next().value as string);
  parseCache.set(fingerprint, parsed);
  return parsed;
}

function hex(buf: ArrayBuffer | ArrayBufferView): string {
  return Buffer.from(ArrayBuffer.isView(buf) ? new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) : new Uint8Array(buf)).toString('hex');
}

// node:crypto parses the outer certificate fast; extensions node does not expose (path length, key usage bits,
// name constraints, key identifiers) come from @peculiar/asn1-x509, whose schema parse is cheaper than x509's wrappers.
function parseUncached(der: Buffer, fingerprint: string): Parsed {
  const node = new NodeX509(der);
  const cert = AsnConvert.parse(der, Certificate);
  let ca = false;
  let pathLen: number | undefined;
  let keyUsage: number | undefined;
  let eku: string[] | undefined;
  let uris: string[] = [];
  let permittedUriHosts: string[] | undefined;
  let ski: string | undefined;
  let aki: string | undefined;
  for (const e of cert.tbsCertificate.extensions ?? []) {
    const v = e.extnValue.buffer;
    switch (e.extnID) {
      case OID.basicConstraints: {
        const bc = AsnConvert.parse(v, BasicConstraints);
        ca = bc.cA;
        pathLen = bc.pathLenConstraint;
        break;
      }
      case OID.keyUsage:
        keyUsage = AsnConvert.parse(v, KeyUsage).toNumber();
        break;
      case OID.extKeyUsage:
        eku = Array.from(AsnConvert.parse(v, ExtendedKeyUsage), String);
        break;
      case OID.subjectAltName:
        uris = Array.from(AsnConvert.parse(v, SubjectAlternativeName)).map((n) => n.uniformResourceIdentifier).filter((u): u is string => u !== undefined);
        break;
      case OID.nameConstraints:
        permittedUriHosts = Array.from(AsnConvert.parse(v, NameConstraints).permittedSubtrees ?? []).map((s) => s.base.uniformResourceIdentifier).filter((u): u is string => u !== undefined);
        break;
      case id_ce_subjectKeyIdentifier:
        ski = hex(AsnConvert.parse(v, SubjectKeyIdentifier).buffer);
        break;
      case id_ce_authorityKeyIdentifier: {
        const id = AsnConvert.parse(v, AuthorityKeyIdentifier).keyIdentifier;
        aki = id ? hex(id.buffer) : undefined;
        break;
      }
    }
  }
  return {
    der, node, subject: node.subject ?? '', issuer: node.issuer ?? '', notBefore: node.validFromDate, notAfter: node.validToDate,
    ca, pathLen, keyUsage, eku, uris, permittedUriHosts, serial: normalizeSerial(node.serialNumber), ski, aki, fingerprint,
  };
}

function toDer(item: string | Uint8Array): Buffer[] {
  if (typeof item !== 'string') return [Buffer.from(item)];
  const blocks = item.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => Buffer.from(b.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, ''), 'base64'));
}

interface CompiledBundle {
  readonly roots: readonly Parsed[];
  readonly domains: ReadonlySet<string>;
  readonly revoked: ReadonlySet<string>;
}

const compiled = new WeakMap<TrustBundle, CompiledBundle>();

function compile(bundle: TrustBundle): CompiledBundle {
  let c = compiled.get(bundle);
  if (!c) {
    const roots: Parsed[] = [];
    for (const pem of bundle.roots) {
      try {
        for (const der of toDer(pem)) roots.push(parse(der));
      } catch {
        // A malformed root cannot anchor anything; the bundle schema normally prevents it.
      }
    }
    c = { roots, domains: new Set([bundle.trustDomain, ...bundle.aliases]), revoked: new Set(bundle.revokedSerials.map(normalizeSerial)) };
    compiled.set(bundle, c);
  }
  return c;
}

function signedBy(child: Parsed, issuer: Parsed): boolean {
  try {
    return child.node.verify(issuer.node.publicKey);
  } catch {
    return false;
  }
}

/** True when the issuer's key identifiers agree with the child's, i.e. a signature failure means tampering, not a namesake. */
function sameKeyId(child: Parsed, issuer: Parsed): boolean {
  return child.aki === undefined || issuer.ski === undefined || child.aki === issuer.ski;
}

function reject(code: VerifyCode, reason: string): PeerVerification {
  return err({ code, reason });
}

function describe(p: Parsed, depth: number): string {
  return depth === 0 ? `the leaf (${p.uris[0] ?? (p.subject || 'no URI SAN')})` : `${p.ca ? 'CA' : 'certificate'} "${p.subject}" (serial ${p.serial})`;
}

/**
 * Verifies a peer's chain (leaf first; PEM text, or PEM/DER items) against a trust bundle at time `now`.
 * Never throws on a bad certificate: every refusal is a value with its own code. Checks, in order: parse, the path to
 * a bundle root (signatures), CA flags and path length, validity times (with skew), revocation, key usage, the SPIFFE
 * ID, its trust domain (or an alias), issuers' URI name constraints, and the caller's expectations.
 */
export function verifyPeer(chain: string | readonly (string | Uint8Array)[], bundle: TrustBundle, now: Date | number, expectations: PeerExpectations = {}): PeerVerification {
  const at = typeof now === 'number' ? now : now.getTime();
  const skew = expectations.skewMs ?? DEFAULT_SKEW_MS;
  let presented: Parsed[];
  try {
    const ders = (typeof chain === 'string' ? [chain] : chain).flatMap(toDer);
    presented = ders.map(parse);
  } catch (e) {
    return reject('MESHFED_E_CERT_MALFORMED', `a certificate could not be parsed: ${(e as Error).message}`);
  }
  const leaf = presented[0];
  if (!leaf) return reject('MESHFED_E_CERT_MALFORMED', 'no certificate was presented');
  if (presented.length > MAX_CHAIN) return reject('MESHFED_E_CERT_MALFORMED', `the chain has ${presented.length} certificates (at most ${MAX_CHAIN})`);
  if (leaf.ca) return reject('MESHFED_E_CERT_WRONG_USAGE', 'the presented certificate is a CA, not a workload leaf');
  const b = compile(bundle);

  // Build the path leaf -> bundle root. Issuers are matched by name, then proven by signature.
  const path: Parsed[] = [leaf];
  let anchor: Parsed | undefined;
  for (let cur = leaf; anchor === undefined;) {
    if (path.length > MAX_CHAIN) return reject('MESHFED_E_CERT_MALFORMED', 'the chain loops or is too long');
    const depth = path.length - 1;
    if (depth > 0 && b.roots.some((r) => r.fingerprint === cur.fingerprint)) {
      anchor = cur; // the peer sent the root itself
      break;
    }
    const rootNamesakes = b.roots.filter((r) => r.subject === cur.issuer);
    const root = rootNamesakes.find((r) => signedBy(cur, r));
    if (root) {
      path.push(root);
      anchor = root;
      break;
    }
    const candidates = presented.filter((p) => p !== cur && !path.includes(p) && p.subject === cur.issuer);
    const next = candidates.find((p) => signedBy(cur, p));
    if (next) {
      path.push(next);
      cur = next;
      continue;
    }
    const tampered = [...rootNamesakes, ...candidates].find((p) => sameKeyId(cur, p));
    if (tampered) return reject('MESHFED_E_CERT_BAD_SIGNATURE', `the signature on ${describe(cur, depth)} does not verify with its issuer "${tampered.subject}"`);
    return reject('MESHFED_E_CERT_UNKNOWN_ROOT', `${describe(cur, depth)} was issued by "${cur.issuer}", which is neither in the chain nor a root of the ${bundle.trustDomain} bundle`);
  }

  // Every issuer must be a CA allowed to sign at its depth.
  for (let i = 1; i < path.length; i++) {
    const ca = path[i] as Parsed;
    if (!ca.ca) return reject('MESHFED_E_CERT_LEAF_AS_CA', `${describe(ca, i)} is not a CA but signed ${describe(path[i - 1] as Parsed, i - 1)}`);
    if (ca.keyUsage !== undefined && (ca.keyUsage & KEY_USAGE.keyCertSign) === 0) {
      return reject('MESHFED_E_CERT_LEAF_AS_CA', `${describe(ca, i)} lacks the keyCertSign key usage but signed a certificate`);
    }
    if (ca.pathLen !== undefined && i - 1 > ca.pathLen) {
      return reject('MESHFED_E_CERT_LEAF_AS_CA', `${describe(ca, i)} has path length ${ca.pathLen} but ${i - 1} CA(s) sit below it`);
    }
  }

  for (let i = 0; i < path.length; i++) {
    const c = path[i] as Parsed;
    if (at < c.notBefore.getTime() - skew) return reject('MESHFED_E_CERT_NOT_YET_VALID', `${describe(c, i)} is not valid before ${c.notBefore.toISOString()}`);
    if (at > c.notAfter.getTime() + skew) return reject('MESHFED_E_CERT_EXPIRED', `${describe(c, i)} expired at ${c.notAfter.toISOString()}`);
  }

  for (let i = 0; i < path.length; i++) {
    const c = path[i] as Parsed;
    if (b.revoked.has(c.serial)) return reject('MESHFED_E_CERT_REVOKED', `${describe(c, i)} is revoked by the trust bundle`);
  }

  if (leaf.keyUsage !== undefined && (leaf.keyUsage & KEY_USAGE.digitalSignature) === 0) {
    return reject('MESHFED_E_CERT_WRONG_USAGE', 'the leaf lacks the digitalSignature key usage needed for TLS');
  }
  if (expectations.usage) {
    const need = expectations.usage === 'server' ? OID.serverAuth : OID.clientAuth;
    if (!leaf.eku || !leaf.eku.includes(need)) {
      const has = leaf.eku ? leaf.eku.map((u) => (u === OID.serverAuth ? 'serverAuth' : u === OID.clientAuth ? 'clientAuth' : u)).join(', ') || 'none' : 'no extended key usage';
      return reject('MESHFED_E_CERT_WRONG_USAGE', `the leaf is used as a TLS ${expectations.usage} but its extended key usage is ${has} (needs ${expectations.usage === 'server' ? 'serverAuth' : 'clientAuth'})`);
    }
  }

  if (leaf.uris.length !== 1) return reject('MESHFED_E_CERT_NO_SPIFFE_ID', `the leaf must carry exactly one URI SAN (a SPIFFE ID); it carries ${leaf.uris.length}`);
  const spiffeId = leaf.uris[0] as string;
  const identity = parseSpiffeId(spiffeId);
  if (!identity) return reject('MESHFED_E_CERT_NO_SPIFFE_ID', `the leaf's URI SAN "${spiffeId}" is not a SPIFFE ID`);
  if (!b.domains.has(identity.trustDomain)) {
    return reject('MESHFED_E_CERT_FOREIGN_TRUST_DOMAIN', `${spiffeId} is in trust domain ${identity.trustDomain}, not ${[...b.domains].join(' or ')} (add it as an alias to accept it)`);
  }
  for (let i = 1; i < path.length; i++) {
    const hosts = (path[i] as Parsed).permittedUriHosts;
    if (hosts && !hosts.some((h) => (h.startsWith('.') ? identity.trustDomain.endsWith(h) : identity.trustDomain === h))) {
      return reject('MESHFED_E_CERT_NAME_CONSTRAINT', `${spiffeId} is outside the name constraints of ${describe(path[i] as Parsed, i)} (permits ${hosts.join(', ')})`);
    }
  }

  const want = expectations.trustDomain;
  if (want !== undefined && identity.trustDomain !== want && !(want === bundle.trustDomain && b.domains.has(identity.trustDomain))) {
    return reject('MESHFED_E_CERT_IDENTITY_MISMATCH', `${spiffeId} is not in the expected trust domain ${want}`);
  }
  const exp = expectations.spiffeId;
  if (exp !== undefined) {
    const fine = typeof exp === 'string' ? exp === spiffeId : typeof exp === 'function' ? exp(spiffeId, identity) : exp.includes(spiffeId);
    if (!fine) {
      const wanted = typeof exp === 'string' ? exp : typeof exp === 'function' ? 'an identity the caller accepts' : `one of ${exp.join(', ')}`;
      return reject('MESHFED_E_CERT_IDENTITY_MISMATCH', `the peer is ${spiffeId}, expected ${wanted}`);
    }
  }

  return ok({ spiffeId, identity, serial: leaf.serial, notAfter: leaf.notAfter, rootFingerprint: (anchor as Parsed).fingerprint, pathLength: path.length });
}
