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
}
