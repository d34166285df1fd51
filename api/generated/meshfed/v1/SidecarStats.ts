// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/relay.proto

import type { ServiceStats as _meshfed_v1_ServiceStats, ServiceStats__Output as _meshfed_v1_ServiceStats__Output } from '../../meshfed/v1/ServiceStats.ts';

/**
 * Outbound traffic this sidecar saw over the last window, per destination service. Counters cover the window only.
 */
export interface SidecarStats {
  'window_ms'?: (number);
  'services'?: (_meshfed_v1_ServiceStats)[];
}

/**
 * Outbound traffic this sidecar saw over the last window, per destination service. Counters cover the window only.
 */
export interface SidecarStats__Output {
  'window_ms': (number);
  'services': (_meshfed_v1_ServiceStats__Output)[];
}
