// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/relay.proto

import type { Locality as _meshfed_v1_Locality, Locality__Output as _meshfed_v1_Locality__Output } from '../../meshfed/v1/Locality.ts';
import type { ZoneEntry as _meshfed_v1_ZoneEntry, ZoneEntry__Output as _meshfed_v1_ZoneEntry__Output } from '../../meshfed/v1/ZoneEntry.ts';
import type { WeightTable as _meshfed_v1_WeightTable, WeightTable__Output as _meshfed_v1_WeightTable__Output } from '../../meshfed/v1/WeightTable.ts';
import type { ServicePolicy as _meshfed_v1_ServicePolicy, ServicePolicy__Output as _meshfed_v1_ServicePolicy__Output } from '../../meshfed/v1/ServicePolicy.ts';
import type { TrustBundle as _meshfed_v1_TrustBundle, TrustBundle__Output as _meshfed_v1_TrustBundle__Output } from '../../meshfed/v1/TrustBundle.ts';
import type { Long } from '@grpc/proto-loader';

/**
 * Everything a sidecar needs to route, in one versioned snapshot. Always complete: it replaces the previous one.
 */
export interface RelayState {
  /**
   * A content hash; compared only for equality.
   */
  'version'?: (string);
  /**
   * The agent's zone (the source zone of weights).
   */
  'locality'?: (_meshfed_v1_Locality | null);
  'network'?: (string);
  /**
   * Every zone with its endpoints. For zones on another network than the agent's, gateway_address is the
   * east-west gateway to send through; for zones on the same network endpoints are reached directly.
   */
  'zones'?: (_meshfed_v1_ZoneEntry)[];
  /**
   * Weight tables for this zone as the source: each table holds only this zone's SourceWeights.
   */
  'weights'?: (_meshfed_v1_WeightTable)[];
  /**
   * Resilience policies per service, as JSON in the shape of the sidecar config's services.<svc>.policy.
   */
  'policies'?: (_meshfed_v1_ServicePolicy)[];
  /**
   * Fault settings as JSON in the shape of the sidecar config's `faults`; empty when none.
   */
  'faults_json'?: (string);
  'trust_bundle'?: (_meshfed_v1_TrustBundle | null);
  /**
   * True when global-lb is unreachable and the weights are the last good ones (fail-static).
   */
  'stale'?: (boolean);
  /**
   * When the weights were last received from global-lb (0 = never).
   */
  'weights_received_at_unix_ms'?: (number | string | Long);
}

/**
 * Everything a sidecar needs to route, in one versioned snapshot. Always complete: it replaces the previous one.
 */
export interface RelayState__Output {
  /**
   * A content hash; compared only for equality.
   */
  'version': (string);
  /**
   * The agent's zone (the source zone of weights).
   */
  'locality': (_meshfed_v1_Locality__Output | null);
  'network': (string);
  /**
   * Every zone with its endpoints. For zones on another network than the agent's, gateway_address is the
   * east-west gateway to send through; for zones on the same network endpoints are reached directly.
   */
  'zones': (_meshfed_v1_ZoneEntry__Output)[];
  /**
   * Weight tables for this zone as the source: each table holds only this zone's SourceWeights.
   */
  'weights': (_meshfed_v1_WeightTable__Output)[];
  /**
   * Resilience policies per service, as JSON in the shape of the sidecar config's services.<svc>.policy.
   */
  'policies': (_meshfed_v1_ServicePolicy__Output)[];
  /**
   * Fault settings as JSON in the shape of the sidecar config's `faults`; empty when none.
   */
  'faults_json': (string);
  'trust_bundle': (_meshfed_v1_TrustBundle__Output | null);
  /**
   * True when global-lb is unreachable and the weights are the last good ones (fail-static).
   */
  'stale': (boolean);
  /**
   * When the weights were last received from global-lb (0 = never).
   */
  'weights_received_at_unix_ms': (string);
}
