// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/relay.proto

import type { ErrorCounts as _meshfed_v1_ErrorCounts, ErrorCounts__Output as _meshfed_v1_ErrorCounts__Output } from '../../meshfed/v1/ErrorCounts.ts';
import type { LatencyHistogram as _meshfed_v1_LatencyHistogram, LatencyHistogram__Output as _meshfed_v1_LatencyHistogram__Output } from '../../meshfed/v1/LatencyHistogram.ts';
import type { Long } from '@grpc/proto-loader';

export interface ServiceStats {
  'namespace'?: (string);
  'name'?: (string);
  'requests'?: (number | string | Long);
  'successes'?: (number | string | Long);
  'errors'?: (_meshfed_v1_ErrorCounts | null);
  'in_flight'?: (number);
  'latency'?: (_meshfed_v1_LatencyHistogram | null);
}

export interface ServiceStats__Output {
  'namespace': (string);
  'name': (string);
  'requests': (string);
  'successes': (string);
  'errors': (_meshfed_v1_ErrorCounts__Output | null);
  'in_flight': (number);
  'latency': (_meshfed_v1_LatencyHistogram__Output | null);
}
