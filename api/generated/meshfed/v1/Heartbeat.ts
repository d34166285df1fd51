// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/federation.proto

import type { Long } from '@grpc/proto-loader';

export interface Heartbeat {
  'sent_at_unix_ms'?: (number | string | Long);
}

export interface Heartbeat__Output {
  'sent_at_unix_ms': (string);
}
