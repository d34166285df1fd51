// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/federation.proto

import type { TargetWeight as _meshfed_v1_TargetWeight, TargetWeight__Output as _meshfed_v1_TargetWeight__Output } from '../../meshfed/v1/TargetWeight.ts';

export interface SourceWeights {
  'source_zone'?: (string);
  /**
   * Basis points over targets sum to 10000 whenever any target is listed.
   */
  'targets'?: (_meshfed_v1_TargetWeight)[];
  /**
   * True when too little healthy capacity remained and traffic is spread over every zone with any healthy endpoint.
   */
  'panic'?: (boolean);
  /**
   * True when a policy restricts where this source's traffic may go (data residency): targets lists every zone
   * it may use, and a data plane must never send to a zone not listed, even in its own failover. When no listed
   * zone can serve, the caller gets MESHFED_E_NO_ALLOWED_ZONE instead of a forbidden zone.
   */
  'exclusive'?: (boolean);
  /**
   * Why no target has a share, when none has (e.g. every allowed zone drained); empty otherwise.
   */
  'unavailable_reason'?: (string);
}

export interface SourceWeights__Output {
  'source_zone': (string);
  /**
   * Basis points over targets sum to 10000 whenever any target is listed.
   */
  'targets': (_meshfed_v1_TargetWeight__Output)[];
  /**
   * True when too little healthy capacity remained and traffic is spread over every zone with any healthy endpoint.
   */
  'panic': (boolean);
  /**
   * True when a policy restricts where this source's traffic may go (data residency): targets lists every zone
   * it may use, and a data plane must never send to a zone not listed, even in its own failover. When no listed
   * zone can serve, the caller gets MESHFED_E_NO_ALLOWED_ZONE instead of a forbidden zone.
   */
  'exclusive': (boolean);
  /**
   * Why no target has a share, when none has (e.g. every allowed zone drained); empty otherwise.
   */
  'unavailable_reason': (string);
}
