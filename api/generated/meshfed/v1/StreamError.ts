// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/federation.proto


/**
 * Sent before the balancer closes a stream for a protocol violation.
 */
export interface StreamError {
  'code'?: (string);
  'message'?: (string);
}

/**
 * Sent before the balancer closes a stream for a protocol violation.
 */
export interface StreamError__Output {
  'code': (string);
  'message': (string);
}
