// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/federation.proto

import type { SourceWeights as _meshfed_v1_SourceWeights, SourceWeights__Output as _meshfed_v1_SourceWeights__Output } from '../../meshfed/v1/SourceWeights.ts';
import type { Long } from '@grpc/proto-loader';

/**
 * The share of one service's requests each source zone sends to each destination zone.
 */
export interface WeightTable {
  'namespace'?: (string);
  'name'?: (string);
  /**
   * A content hash; compared only for equality.
   */
  'version'?: (string);
  'computed_at_unix_ms'?: (number | string | Long);
  'sources'?: (_meshfed_v1_SourceWeights)[];
}

/**
 * The share of one service's requests each source zone sends to each destination zone.
 */
export interface WeightTable__Output {
  'namespace': (string);
  'name': (string);
  /**
   * A content hash; compared only for equality.
   */
  'version': (string);
  'computed_at_unix_ms': (string);
  'sources': (_meshfed_v1_SourceWeights__Output)[];
}
