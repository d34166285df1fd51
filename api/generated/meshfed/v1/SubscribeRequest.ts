// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/relay.proto


/**
 * Who the subscriber is. The zone must be the agent's zone. A workload sidecar names its namespace, service and
 * service account; an east-west gateway sets gateway and names only its zone.
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
  /**
   * True for an east-west gateway: it gets RelayState only. It holds no workload key, so the agent signs nothing
   * for it (a CSR or CertificateRequest on a gateway stream closes the stream) and takes no stats from it.
   */
  'gateway'?: (boolean);
  /**
   * Proof of the workload's namespace and service account, when the agent attests workloads: a join token issued for
   * exactly that identity (static discovery; docs/security.md). Without a valid one the agent closes the stream.
   */
  'credential'?: (string);
}

/**
 * Who the subscriber is. The zone must be the agent's zone. A workload sidecar names its namespace, service and
 * service account; an east-west gateway sets gateway and names only its zone.
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
  /**
   * True for an east-west gateway: it gets RelayState only. It holds no workload key, so the agent signs nothing
   * for it (a CSR or CertificateRequest on a gateway stream closes the stream) and takes no stats from it.
   */
  'gateway': (boolean);
  /**
   * Proof of the workload's namespace and service account, when the agent attests workloads: a join token issued for
   * exactly that identity (static discovery; docs/security.md). Without a valid one the agent closes the stream.
   */
  'credential': (string);
}
