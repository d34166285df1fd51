// Stable error codes of the trust component: certificate verification outcomes and CA/file/bundle failures.
import { MeshfedError } from '../common/errors.ts';

/** Every code the trust component reports. Each row is documented in docs/errors.md under "Trust". */
export const TRUST_CODES = {
  MESHFED_E_CERT_MALFORMED: 'a certificate or chain could not be parsed, or the chain is empty or too long',
  MESHFED_E_CERT_EXPIRED: 'a certificate in the chain is past its notAfter (beyond the clock-skew allowance)',
  MESHFED_E_CERT_NOT_YET_VALID: 'a certificate in the chain is before its notBefore (beyond the clock-skew allowance)',
  MESHFED_E_CERT_UNKNOWN_ROOT: 'the chain does not lead to any root in the trust bundle',
  MESHFED_E_CERT_BAD_SIGNATURE: 'a certificate names an issuer in the chain or bundle but its signature does not verify',
  MESHFED_E_CERT_REVOKED: 'a certificate in the chain has a serial the trust bundle lists as revoked',
  MESHFED_E_CERT_WRONG_USAGE: 'the leaf lacks the key usage or extended key usage its role needs, or is itself a CA',
  MESHFED_E_CERT_LEAF_AS_CA: 'a certificate that is not a CA (or whose path length is exhausted) signed another certificate',
  MESHFED_E_CERT_NO_SPIFFE_ID: 'the leaf does not carry exactly one valid SPIFFE ID in its URI SAN',
  MESHFED_E_CERT_FOREIGN_TRUST_DOMAIN: 'the SPIFFE ID belongs to a trust domain that is neither the bundle\'s nor an alias',
  MESHFED_E_CERT_NAME_CONSTRAINT: 'the SPIFFE ID is outside the URI name constraints of an issuing CA',
  MESHFED_E_CERT_IDENTITY_MISMATCH: 'the certificate is valid but its SPIFFE ID is not the one expected',
  MESHFED_E_TRUST_KEY_EXISTS: 'a key or certificate file already exists and --force was not given',
  MESHFED_E_TRUST_FILE: 'a CA, key, certificate or bundle file could not be read or written',
  MESHFED_E_TRUST_CSR_INVALID: 'a certificate signing request could not be parsed, has a bad signature, or names no SPIFFE ID',
  MESHFED_E_TRUST_CA_INVALID: 'a CA directory is incomplete or its key does not match its certificate',
  MESHFED_E_TRUST_BUNDLE_INVALID: 'a trust bundle is malformed or an edit to it is not allowed',
  MESHFED_E_TRUST_BUNDLE_UNSIGNED: 'a received trust bundle carries no signature, so it does not take effect',
  MESHFED_E_TRUST_BUNDLE_SIGNER_UNKNOWN: 'a received trust bundle is signed by a key that is neither a root in force nor a pinned operator key',
  MESHFED_E_TRUST_BUNDLE_SIGNATURE: 'a received trust bundle\'s signature does not verify over its content and issue time',
  MESHFED_E_TRUST_BUNDLE_NO_ROOTS: 'a received trust bundle holds no root (it would trust nobody)',
  MESHFED_E_TRUST_BUNDLE_STALE: 'a received trust bundle was issued before the one in force (a replay)',
} as const;

export type TrustCode = keyof typeof TRUST_CODES;

/** Codes verifyPeer can return; each names one reason a peer is refused. */
export type VerifyCode = Extract<TrustCode, `MESHFED_E_CERT_${string}`>;

/** Builds a MeshfedError with a trust code (for failures at the edge: files, CLI input). */
export function trustError(code: TrustCode, message: string, cause?: unknown): MeshfedError {
  return new MeshfedError(code, message, cause === undefined ? {} : { cause });
}
