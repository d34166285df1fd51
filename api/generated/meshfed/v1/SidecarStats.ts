// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/relay.proto

import type { ServiceStats as _meshfed_v1_ServiceStats, ServiceStats__Output as _meshfed_v1_ServiceStats__Output } from '../../meshfed/v1/ServiceStats.ts';

/**
 * What this sidecar saw over the last window. Counters cover the window only.
 * `services` is ASKED (outbound): what the workload's clients sent, one entry per destination service and
 * destination zone, so the agent can charge each outcome to the zone that served it. `served` is SERVED (inbound):
 * what this workload itself answered, for the service it fronts.
 */
export interface SidecarStats {
  'window_ms'?: (number);
  'services'?: (_meshfed_v1_ServiceStats)[];
  'served'?: (_meshfed_v1_ServiceStats)[];
}

/**
 * What this sidecar saw over the last window. Counters cover the window only.
 * `services` is ASKED (outbound): what the workload's clients sent, one entry per destination service and
 * destination zone, so the agent can charge each outcome to the zone that served it. `served` is SERVED (inbound):
 * what this workload itself answered, for the service it fronts.
 */
export interface SidecarStats__Output {
  'window_ms': (number);
  'services': (_meshfed_v1_ServiceStats__Output)[];
  'served': (_meshfed_v1_ServiceStats__Output)[];
}
