// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/relay.proto

import type { Long } from '@grpc/proto-loader';

/**
 * A signed workload certificate for the key of the last CSR.
 */
export interface Certificate {
  /**
   * Leaf first, then the cluster intermediate(s).
   */
  'cert_chain_pem'?: (string);
  /**
   * The root(s) to verify peers with.
   */
  'root_pems'?: (string);
  'not_after_unix_ms'?: (number | string | Long);
  /**
   * When the sidecar should have a new certificate; the agent sends RotateCertificate then.
   */
  'refresh_at_unix_ms'?: (number | string | Long);
  'spiffe_id'?: (string);
}

/**
 * A signed workload certificate for the key of the last CSR.
 */
export interface Certificate__Output {
  /**
   * Leaf first, then the cluster intermediate(s).
   */
  'cert_chain_pem': (string);
  /**
   * The root(s) to verify peers with.
   */
  'root_pems': (string);
  'not_after_unix_ms': (string);
  /**
   * When the sidecar should have a new certificate; the agent sends RotateCertificate then.
   */
  'refresh_at_unix_ms': (string);
  'spiffe_id': (string);
}
