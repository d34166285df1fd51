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
}
