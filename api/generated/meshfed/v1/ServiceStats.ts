// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/relay.proto

import type { ErrorCounts as _meshfed_v1_ErrorCounts, ErrorCounts__Output as _meshfed_v1_ErrorCounts__Output } from '../../meshfed/v1/ErrorCounts.ts';
import type { LatencyHistogram as _meshfed_v1_LatencyHistogram, LatencyHistogram__Output as _meshfed_v1_LatencyHistogram__Output } from '../../meshfed/v1/LatencyHistogram.ts';
import type { LocalFailures as _meshfed_v1_LocalFailures, LocalFailures__Output as _meshfed_v1_LocalFailures__Output } from '../../meshfed/v1/LocalFailures.ts';
import type { Long } from '@grpc/proto-loader';

export interface ServiceStats {
  'namespace'?: (string);
  'name'?: (string);
  /**
   * Requests that reached the zone (ASKED) or were answered by this workload (SERVED). Not counting `local`.
   */
  'requests'?: (number | string | Long);
  'successes'?: (number | string | Long);
  'errors'?: (_meshfed_v1_ErrorCounts | null);
  'in_flight'?: (number);
  'latency'?: (_meshfed_v1_LatencyHistogram | null);
  /**
   * ASKED only: the zone that served these requests. Empty in an entry that carries only `local` failures.
   */
  'destination_zone'?: (string);
  /**
   * ASKED only: requests this sidecar failed itself before any destination served them.
   */
  'local'?: (_meshfed_v1_LocalFailures | null);
  /**
   * ASKED only, gauges at the window's end: how many of destination_zone's endpoints this sidecar knows, and how many
   * of them its outlier detection has ejected (or found unreachable). Sent even for a window without requests while
   * any is ejected, since a sidecar that ejected a zone stops sending it requests.
   */
  'endpoints_known'?: (number);
  'endpoints_ejected'?: (number);
}

export interface ServiceStats__Output {
  'namespace': (string);
  'name': (string);
  /**
   * Requests that reached the zone (ASKED) or were answered by this workload (SERVED). Not counting `local`.
   */
  'requests': (string);
  'successes': (string);
  'errors': (_meshfed_v1_ErrorCounts__Output | null);
  'in_flight': (number);
  'latency': (_meshfed_v1_LatencyHistogram__Output | null);
  /**
   * ASKED only: the zone that served these requests. Empty in an entry that carries only `local` failures.
   */
  'destination_zone': (string);
  /**
   * ASKED only: requests this sidecar failed itself before any destination served them.
   */
  'local': (_meshfed_v1_LocalFailures__Output | null);
  /**
   * ASKED only, gauges at the window's end: how many of destination_zone's endpoints this sidecar knows, and how many
   * of them its outlier detection has ejected (or found unreachable). Sent even for a window without requests while
   * any is ejected, since a sidecar that ejected a zone stops sending it requests.
   */
  'endpoints_known': (number);
  'endpoints_ejected': (number);
}
