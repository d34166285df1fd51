// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/federation.proto

import type { Long } from '@grpc/proto-loader';

export interface ErrorCounts {
  'http_5xx'?: (number | string | Long);
  'connect_failure'?: (number | string | Long);
  'timeout'?: (number | string | Long);
  'reset'?: (number | string | Long);
}

export interface ErrorCounts__Output {
  'http_5xx': (string);
  'connect_failure': (string);
  'timeout': (string);
  'reset': (string);
}
