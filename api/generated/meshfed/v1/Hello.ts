// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/federation.proto

import type { Locality as _meshfed_v1_Locality, Locality__Output as _meshfed_v1_Locality__Output } from '../../meshfed/v1/Locality.ts';

/**
 * Hello names the zone this stream reports for; the balancer refuses reports for any other zone.
 */
export interface Hello {
  'locality'?: (_meshfed_v1_Locality | null);
  'cluster'?: (string);
  'network'?: (string);
  /**
   * host:port of this zone's east-west gateway, reachable from other networks; empty when none.
   */
  'gateway_address'?: (string);
  /**
   * An opaque id of the agent process, for status pages.
   */
  'agent_id'?: (string);
  'agent_version'?: (string);
}

/**
 * Hello names the zone this stream reports for; the balancer refuses reports for any other zone.
 */
export interface Hello__Output {
  'locality': (_meshfed_v1_Locality__Output | null);
  'cluster': (string);
  'network': (string);
  /**
   * host:port of this zone's east-west gateway, reachable from other networks; empty when none.
   */
  'gateway_address': (string);
  /**
   * An opaque id of the agent process, for status pages.
   */
  'agent_id': (string);
  'agent_version': (string);
}
