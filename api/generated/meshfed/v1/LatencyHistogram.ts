// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/federation.proto

import type { Long } from '@grpc/proto-loader';

/**
 * A histogram with fixed, shared bucket bounds, so histograms from many reports merge by adding counts.
 * counts has one more entry than bounds_ms: the last bucket is everything above the last bound.
 */
export interface LatencyHistogram {
  'bounds_ms'?: (number | string)[];
  'counts'?: (number | string | Long)[];
  'sum_ms'?: (number | string);
  'count'?: (number | string | Long);
}

/**
 * A histogram with fixed, shared bucket bounds, so histograms from many reports merge by adding counts.
 * counts has one more entry than bounds_ms: the last bucket is everything above the last bound.
 */
export interface LatencyHistogram__Output {
  'bounds_ms': (number)[];
  'counts': (string)[];
  'sum_ms': (number);
  'count': (string);
}
