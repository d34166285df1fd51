// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/federation.proto

import type { Long } from '@grpc/proto-loader';

export interface Ack {
  'sequence'?: (number | string | Long);
  'replica_id'?: (string);
}

export interface Ack__Output {
  'sequence': (string);
  'replica_id': (string);
}
