// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/federation.proto

import type { Locality as _meshfed_v1_Locality, Locality__Output as _meshfed_v1_Locality__Output } from '../../meshfed/v1/Locality.ts';
import type { ServiceEndpoints as _meshfed_v1_ServiceEndpoints, ServiceEndpoints__Output as _meshfed_v1_ServiceEndpoints__Output } from '../../meshfed/v1/ServiceEndpoints.ts';

export interface ZoneEntry {
  'locality'?: (_meshfed_v1_Locality | null);
  'cluster'?: (string);
  'network'?: (string);
  'gateway_address'?: (string);
  'services'?: (_meshfed_v1_ServiceEndpoints)[];
}

export interface ZoneEntry__Output {
  'locality': (_meshfed_v1_Locality__Output | null);
  'cluster': (string);
  'network': (string);
  'gateway_address': (string);
  'services': (_meshfed_v1_ServiceEndpoints__Output)[];
}
