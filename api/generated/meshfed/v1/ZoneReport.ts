// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/federation.proto

import type { ServiceReport as _meshfed_v1_ServiceReport, ServiceReport__Output as _meshfed_v1_ServiceReport__Output } from '../../meshfed/v1/ServiceReport.ts';
import type { ZoneRtt as _meshfed_v1_ZoneRtt, ZoneRtt__Output as _meshfed_v1_ZoneRtt__Output } from '../../meshfed/v1/ZoneRtt.ts';
import type { Long } from '@grpc/proto-loader';

/**
 * A zone's state over the last window. Counters are for the window only, not cumulative.
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
}

/**
 * A zone's state over the last window. Counters are for the window only, not cumulative.
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
}
