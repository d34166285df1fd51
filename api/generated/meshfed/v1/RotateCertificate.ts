// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/relay.proto


/**
 * Asks the sidecar to make a new key and send a CertificateRequest (rotation before expiry).
 */
export interface RotateCertificate {
  'reason'?: (string);
}

/**
 * Asks the sidecar to make a new key and send a CertificateRequest (rotation before expiry).
 */
export interface RotateCertificate__Output {
  'reason': (string);
}
