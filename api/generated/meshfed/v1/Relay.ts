// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/relay.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { RelayMessage as _meshfed_v1_RelayMessage, RelayMessage__Output as _meshfed_v1_RelayMessage__Output } from '../../meshfed/v1/RelayMessage.ts';
import type { SidecarMessage as _meshfed_v1_SidecarMessage, SidecarMessage__Output as _meshfed_v1_SidecarMessage__Output } from '../../meshfed/v1/SidecarMessage.ts';

/**
 * Relay is served by every zone agent on a local port.
 */
export interface RelayClient extends grpc.Client {
  /**
   * Subscribe opens a sidecar's stream. The sidecar's first message must be a Subscribe; afterwards it sends
   * SidecarStats each window and a CertificateRequest whenever it holds a new key. The agent answers with the
   * full RelayState at once and again whenever any part changes, and with a Certificate per request.
   * A gateway subscription (SubscribeRequest.gateway) sends nothing after its Subscribe and gets states only.
   */
  Subscribe(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_meshfed_v1_SidecarMessage, _meshfed_v1_RelayMessage__Output>;
  Subscribe(options?: grpc.CallOptions): grpc.ClientDuplexStream<_meshfed_v1_SidecarMessage, _meshfed_v1_RelayMessage__Output>;
  /**
   * Subscribe opens a sidecar's stream. The sidecar's first message must be a Subscribe; afterwards it sends
   * SidecarStats each window and a CertificateRequest whenever it holds a new key. The agent answers with the
   * full RelayState at once and again whenever any part changes, and with a Certificate per request.
   * A gateway subscription (SubscribeRequest.gateway) sends nothing after its Subscribe and gets states only.
   */
  subscribe(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_meshfed_v1_SidecarMessage, _meshfed_v1_RelayMessage__Output>;
  subscribe(options?: grpc.CallOptions): grpc.ClientDuplexStream<_meshfed_v1_SidecarMessage, _meshfed_v1_RelayMessage__Output>;
  
}

/**
 * Relay is served by every zone agent on a local port.
 */
export interface RelayHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Subscribe opens a sidecar's stream. The sidecar's first message must be a Subscribe; afterwards it sends
   * SidecarStats each window and a CertificateRequest whenever it holds a new key. The agent answers with the
   * full RelayState at once and again whenever any part changes, and with a Certificate per request.
   * A gateway subscription (SubscribeRequest.gateway) sends nothing after its Subscribe and gets states only.
   */
  Subscribe: grpc.handleBidiStreamingCall<_meshfed_v1_SidecarMessage__Output, _meshfed_v1_RelayMessage>;
  
}

export interface RelayDefinition extends grpc.ServiceDefinition {
  Subscribe: MethodDefinition<_meshfed_v1_SidecarMessage, _meshfed_v1_RelayMessage, _meshfed_v1_SidecarMessage__Output, _meshfed_v1_RelayMessage__Output>
}
