// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/federation.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Failures a client's own sidecar made; they say nothing about any destination's health.
 */
export interface LocalFailures {
  /**
   * An injected outbound fault (abort) answered the request.
   */
  'fault_injected'?: (number | string | Long);
  /**
   * The local circuit breaker refused it (overflow).
   */
  'overflow'?: (number | string | Long);
  /**
   * Local policy refused it (authz, rate limit).
   */
  'denied'?: (number | string | Long);
  /**
   * No endpoint could be picked (none known, or every one ejected), so nothing was sent.
   */
  'no_endpoint'?: (number | string | Long);
  /**
   * The request's deadline passed before any byte was sent upstream.
   */
  'timeout'?: (number | string | Long);
}

/**
 * Failures a client's own sidecar made; they say nothing about any destination's health.
 */
export interface LocalFailures__Output {
  /**
   * An injected outbound fault (abort) answered the request.
   */
  'fault_injected': (string);
  /**
   * The local circuit breaker refused it (overflow).
   */
  'overflow': (string);
  /**
   * Local policy refused it (authz, rate limit).
   */
  'denied': (string);
  /**
   * No endpoint could be picked (none known, or every one ejected), so nothing was sent.
   */
  'no_endpoint': (string);
  /**
   * The request's deadline passed before any byte was sent upstream.
   */
  'timeout': (string);
}
