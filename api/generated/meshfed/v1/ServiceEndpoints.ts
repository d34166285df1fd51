// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/federation.proto

import type { Endpoint as _meshfed_v1_Endpoint, Endpoint__Output as _meshfed_v1_Endpoint__Output } from '../../meshfed/v1/Endpoint.ts';

export interface ServiceEndpoints {
  'namespace'?: (string);
  'name'?: (string);
  'endpoints'?: (_meshfed_v1_Endpoint)[];
}

export interface ServiceEndpoints__Output {
  'namespace': (string);
  'name': (string);
  'endpoints': (_meshfed_v1_Endpoint__Output)[];
}
