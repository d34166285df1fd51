// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/federation.proto

import type { ErrorCounts as _meshfed_v1_ErrorCounts, ErrorCounts__Output as _meshfed_v1_ErrorCounts__Output } from '../../meshfed/v1/ErrorCounts.ts';
import type { LatencyHistogram as _meshfed_v1_LatencyHistogram, LatencyHistogram__Output as _meshfed_v1_LatencyHistogram__Output } from '../../meshfed/v1/LatencyHistogram.ts';
import type { Endpoint as _meshfed_v1_Endpoint, Endpoint__Output as _meshfed_v1_Endpoint__Output } from '../../meshfed/v1/Endpoint.ts';
import type { Long } from '@grpc/proto-loader';

export interface ServiceReport {
  'namespace'?: (string);
  'name'?: (string);
  'healthy_endpoints'?: (number);
  'total_endpoints'?: (number);
  /**
   * Requests per second the zone's endpoints can serve at 100% utilisation.
   */
  'capacity_rps'?: (number | string);
  /**
   * SERVED: requests per second this zone's endpoints answered over the window (inbound, from any caller).
   */
  'rps'?: (number | string);
  /**
   * SERVED: requests this zone's endpoints were answering when the window closed.
   */
  'in_flight'?: (number);
  /**
   * SERVED: answers below 500 from this zone's endpoints.
   */
  'successes'?: (number | string | Long);
  /**
   * SERVED: failures of this zone's endpoints (5xx answered by the app or an inbound fault, timeouts, resets).
   */
  'errors'?: (_meshfed_v1_ErrorCounts | null);
  /**
   * SERVED: how long this zone's endpoints took to answer (inbound sidecar to app and back).
   */
  'latency'?: (_meshfed_v1_LatencyHistogram | null);
  /**
   * The zone's endpoints, so zones on the same network can reach them directly.
   */
  'endpoints'?: (_meshfed_v1_Endpoint)[];
}

export interface ServiceReport__Output {
  'namespace': (string);
  'name': (string);
  'healthy_endpoints': (number);
  'total_endpoints': (number);
  /**
   * Requests per second the zone's endpoints can serve at 100% utilisation.
   */
  'capacity_rps': (number);
  /**
   * SERVED: requests per second this zone's endpoints answered over the window (inbound, from any caller).
   */
  'rps': (number);
  /**
   * SERVED: requests this zone's endpoints were answering when the window closed.
   */
  'in_flight': (number);
  /**
   * SERVED: answers below 500 from this zone's endpoints.
   */
  'successes': (string);
  /**
   * SERVED: failures of this zone's endpoints (5xx answered by the app or an inbound fault, timeouts, resets).
   */
  'errors': (_meshfed_v1_ErrorCounts__Output | null);
  /**
   * SERVED: how long this zone's endpoints took to answer (inbound sidecar to app and back).
   */
  'latency': (_meshfed_v1_LatencyHistogram__Output | null);
  /**
   * The zone's endpoints, so zones on the same network can reach them directly.
   */
  'endpoints': (_meshfed_v1_Endpoint__Output)[];
}
