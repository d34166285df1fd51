// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/federation.proto

import type { ServiceReport as _meshfed_v1_ServiceReport, ServiceReport__Output as _meshfed_v1_ServiceReport__Output } from '../../meshfed/v1/ServiceReport.ts';
import type { ZoneRtt as _meshfed_v1_ZoneRtt, ZoneRtt__Output as _meshfed_v1_ZoneRtt__Output } from '../../meshfed/v1/ZoneRtt.ts';
import type { AskedReport as _meshfed_v1_AskedReport, AskedReport__Output as _meshfed_v1_AskedReport__Output } from '../../meshfed/v1/AskedReport.ts';
import type { Long } from '@grpc/proto-loader';

/**
 * A zone's state over the last window. Counters are for the window only, not cumulative.
 * 
 * Every number says whose it is. ServiceReport holds what this zone's OWN endpoints SERVED (inbound): that is
 * this zone's health and load for the service. AskedReport holds what this zone's CLIENTS ASKED of a service
 * (outbound), with the outcome per destination zone: that is this zone's demand, and evidence about each
 * destination zone. A failure a client saw belongs to the destination zone that served it; a failure the
 * client's own sidecar made (injected fault, local overflow, authz refusal, no endpoint) belongs to nobody's
 * health and is counted in AskedReport.local.
 */
export interface ZoneReport {
  'zone'?: (string);
  /**
   * Increases by one per report on a stream; the Ack echoes it.
   */
  'sequence'?: (number | string | Long);
  'sent_at_unix_ms'?: (number | string | Long);
  /**
   * The length of the window the counters cover.
   */
  'window_ms'?: (number);
  'services'?: (_meshfed_v1_ServiceReport)[];
  /**
   * Measured round-trip time from this zone to other zones' gateways.
   */
  'rtts'?: (_meshfed_v1_ZoneRtt)[];
  /**
   * What this zone's clients asked of each service (outbound), per destination zone. A zone lists a service here
   * whether or not it hosts a copy of it.
   */
  'asked'?: (_meshfed_v1_AskedReport)[];
}

/**
 * A zone's state over the last window. Counters are for the window only, not cumulative.
 * 
 * Every number says whose it is. ServiceReport holds what this zone's OWN endpoints SERVED (inbound): that is
 * this zone's health and load for the service. AskedReport holds what this zone's CLIENTS ASKED of a service
 * (outbound), with the outcome per destination zone: that is this zone's demand, and evidence about each
 * destination zone. A failure a client saw belongs to the destination zone that served it; a failure the
 * client's own sidecar made (injected fault, local overflow, authz refusal, no endpoint) belongs to nobody's
 * health and is counted in AskedReport.local.
 */
export interface ZoneReport__Output {
  'zone': (string);
  /**
   * Increases by one per report on a stream; the Ack echoes it.
   */
  'sequence': (string);
  'sent_at_unix_ms': (string);
  /**
   * The length of the window the counters cover.
   */
  'window_ms': (number);
  'services': (_meshfed_v1_ServiceReport__Output)[];
  /**
   * Measured round-trip time from this zone to other zones' gateways.
   */
  'rtts': (_meshfed_v1_ZoneRtt__Output)[];
  /**
   * What this zone's clients asked of each service (outbound), per destination zone. A zone lists a service here
   * whether or not it hosts a copy of it.
   */
  'asked': (_meshfed_v1_AskedReport__Output)[];
}
