// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/federation.proto

import type { ErrorCounts as _meshfed_v1_ErrorCounts, ErrorCounts__Output as _meshfed_v1_ErrorCounts__Output } from '../../meshfed/v1/ErrorCounts.ts';
import type { LatencyHistogram as _meshfed_v1_LatencyHistogram, LatencyHistogram__Output as _meshfed_v1_LatencyHistogram__Output } from '../../meshfed/v1/LatencyHistogram.ts';
import type { Long } from '@grpc/proto-loader';

/**
 * What one source zone's clients saw from one destination zone.
 */
export interface DestinationOutcome {
  'zone'?: (string);
  /**
   * Requests the destination zone answered or failed: successes (any answer below 500) plus errors.
   */
  'requests'?: (number | string | Long);
  'successes'?: (number | string | Long);
  'errors'?: (_meshfed_v1_ErrorCounts | null);
  /**
   * Latency as the clients saw it: network plus the destination's service time.
   */
  'latency'?: (_meshfed_v1_LatencyHistogram | null);
  /**
   * Gauges at the window's end: this zone's client sidecars that know the destination zone's endpoints, and how many
   * of them have ejected every one of those endpoints (outlier detection or unreachable). Callers stop sending to a
   * zone they ejected, so this is the evidence that outlives their last failed request.
   */
  'sidecars_knowing'?: (number);
  'sidecars_ejecting_all'?: (number);
}

/**
 * What one source zone's clients saw from one destination zone.
 */
export interface DestinationOutcome__Output {
  'zone': (string);
  /**
   * Requests the destination zone answered or failed: successes (any answer below 500) plus errors.
   */
  'requests': (string);
  'successes': (string);
  'errors': (_meshfed_v1_ErrorCounts__Output | null);
  /**
   * Latency as the clients saw it: network plus the destination's service time.
   */
  'latency': (_meshfed_v1_LatencyHistogram__Output | null);
  /**
   * Gauges at the window's end: this zone's client sidecars that know the destination zone's endpoints, and how many
   * of them have ejected every one of those endpoints (outlier detection or unreachable). Callers stop sending to a
   * zone they ejected, so this is the evidence that outlives their last failed request.
   */
  'sidecars_knowing': (number);
  'sidecars_ejecting_all': (number);
}
