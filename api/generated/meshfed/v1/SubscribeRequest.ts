// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/relay.proto


/**
 * Who the sidecar is. The zone must be the agent's zone.
 */
export interface SubscribeRequest {
  'namespace'?: (string);
  /**
   * The service the sidecar fronts (its inbound), as "name" within namespace.
   */
  'service'?: (string);
  'service_account'?: (string);
  'zone'?: (string);
  /**
   * An opaque id of the sidecar, for status pages and logs.
   */
  'sidecar_id'?: (string);
  /**
   * A PEM CSR for the workload certificate; may be empty and sent later as a CertificateRequest.
   */
  'csr_pem'?: (string);
}

/**
 * Who the sidecar is. The zone must be the agent's zone.
 */
export interface SubscribeRequest__Output {
  'namespace': (string);
  /**
   * The service the sidecar fronts (its inbound), as "name" within namespace.
   */
  'service': (string);
  'service_account': (string);
  'zone': (string);
  /**
   * An opaque id of the sidecar, for status pages and logs.
   */
  'sidecar_id': (string);
  /**
   * A PEM CSR for the workload certificate; may be empty and sent later as a CertificateRequest.
   */
  'csr_pem': (string);
}
