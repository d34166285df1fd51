// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/federation.proto


/**
 * The roots every workload trusts, so a root can rotate by overlap.
 */
export interface TrustBundle {
  'trust_domain'?: (string);
  'root_pems'?: (string)[];
  'aliases'?: (string)[];
  /**
   * Serial numbers (hex) of revoked intermediate CAs.
   */
  'revoked_serials'?: (string)[];
  'version'?: (string);
  /**
   * Set by `meshfed trust publish`: when it was issued (ISO 8601), who signed it ("root:<sha256 fingerprint>" or
   * "key:<sha256 of the public key>") and the signature (base64) over the content and issued_at. Receivers take a
   * bundle only when a key they already trust signed it (trust/bundle-signature.ts).
   */
  'issued_at'?: (string);
  'signer'?: (string);
  'signature'?: (string);
}

/**
 * The roots every workload trusts, so a root can rotate by overlap.
 */
export interface TrustBundle__Output {
  'trust_domain': (string);
  'root_pems': (string)[];
  'aliases': (string)[];
  /**
   * Serial numbers (hex) of revoked intermediate CAs.
   */
  'revoked_serials': (string)[];
  'version': (string);
  /**
   * Set by `meshfed trust publish`: when it was issued (ISO 8601), who signed it ("root:<sha256 fingerprint>" or
   * "key:<sha256 of the public key>") and the signature (base64) over the content and issued_at. Receivers take a
   * bundle only when a key they already trust signed it (trust/bundle-signature.ts).
   */
  'issued_at': (string);
  'signer': (string);
  'signature': (string);
}
