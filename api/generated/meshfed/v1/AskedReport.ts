// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/federation.proto

import type { DestinationOutcome as _meshfed_v1_DestinationOutcome, DestinationOutcome__Output as _meshfed_v1_DestinationOutcome__Output } from '../../meshfed/v1/DestinationOutcome.ts';
import type { LocalFailures as _meshfed_v1_LocalFailures, LocalFailures__Output as _meshfed_v1_LocalFailures__Output } from '../../meshfed/v1/LocalFailures.ts';

/**
 * ASKED: what one zone's clients sent to one service over the window, and what came of it per destination zone.
 */
export interface AskedReport {
  'namespace'?: (string);
  'name'?: (string);
  /**
   * Requests per second this zone's clients sent that reached a destination zone (the sum over destinations):
   * the zone's demand for the service. Requests its own sidecars failed locally are not in it.
   */
  'rps'?: (number | string);
  /**
   * Outcome per destination zone; a failure here counts against that destination zone.
   */
  'destinations'?: (_meshfed_v1_DestinationOutcome)[];
  /**
   * Requests the clients' own sidecars failed before any destination served them; they count against nobody.
   */
  'local'?: (_meshfed_v1_LocalFailures | null);
  /**
   * Requests in flight from this zone's clients to the service when the window closed.
   */
  'in_flight'?: (number);
}

/**
 * ASKED: what one zone's clients sent to one service over the window, and what came of it per destination zone.
 */
export interface AskedReport__Output {
  'namespace': (string);
  'name': (string);
  /**
   * Requests per second this zone's clients sent that reached a destination zone (the sum over destinations):
   * the zone's demand for the service. Requests its own sidecars failed locally are not in it.
   */
  'rps': (number);
  /**
   * Outcome per destination zone; a failure here counts against that destination zone.
   */
  'destinations': (_meshfed_v1_DestinationOutcome__Output)[];
  /**
   * Requests the clients' own sidecars failed before any destination served them; they count against nobody.
   */
  'local': (_meshfed_v1_LocalFailures__Output | null);
  /**
   * Requests in flight from this zone's clients to the service when the window closed.
   */
  'in_flight': (number);
}
