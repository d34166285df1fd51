// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/federation.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AgentMessage as _meshfed_v1_AgentMessage, AgentMessage__Output as _meshfed_v1_AgentMessage__Output } from '../../meshfed/v1/AgentMessage.ts';
import type { BalancerMessage as _meshfed_v1_BalancerMessage, BalancerMessage__Output as _meshfed_v1_BalancerMessage__Output } from '../../meshfed/v1/BalancerMessage.ts';

/**
 * Federation is served by every global-lb replica.
 */
export interface FederationClient extends grpc.Client {
  /**
   * Connect opens an agent's stream. The agent's first message must be a Hello; then it sends
   * ZoneReports (each doubles as a heartbeat) and Heartbeats between reports. The balancer answers
   * with an Ack per report, and pushes Directory, WeightTables and TrustBundle updates as they change.
   */
  Connect(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_meshfed_v1_AgentMessage, _meshfed_v1_BalancerMessage__Output>;
  Connect(options?: grpc.CallOptions): grpc.ClientDuplexStream<_meshfed_v1_AgentMessage, _meshfed_v1_BalancerMessage__Output>;
  /**
   * Connect opens an agent's stream. The agent's first message must be a Hello; then it sends
   * ZoneReports (each doubles as a heartbeat) and Heartbeats between reports. The balancer answers
   * with an Ack per report, and pushes Directory, WeightTables and TrustBundle updates as they change.
   */
  connect(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_meshfed_v1_AgentMessage, _meshfed_v1_BalancerMessage__Output>;
  connect(options?: grpc.CallOptions): grpc.ClientDuplexStream<_meshfed_v1_AgentMessage, _meshfed_v1_BalancerMessage__Output>;
  
}

/**
 * Federation is served by every global-lb replica.
 */
export interface FederationHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Connect opens an agent's stream. The agent's first message must be a Hello; then it sends
   * ZoneReports (each doubles as a heartbeat) and Heartbeats between reports. The balancer answers
   * with an Ack per report, and pushes Directory, WeightTables and TrustBundle updates as they change.
   */
  Connect: grpc.handleBidiStreamingCall<_meshfed_v1_AgentMessage__Output, _meshfed_v1_BalancerMessage>;
  
}

export interface FederationDefinition extends grpc.ServiceDefinition {
  Connect: MethodDefinition<_meshfed_v1_AgentMessage, _meshfed_v1_BalancerMessage, _meshfed_v1_AgentMessage__Output, _meshfed_v1_BalancerMessage__Output>
}
