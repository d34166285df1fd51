// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { Ack as _meshfed_v1_Ack, Ack__Output as _meshfed_v1_Ack__Output } from './meshfed/v1/Ack.ts';
import type { AgentMessage as _meshfed_v1_AgentMessage, AgentMessage__Output as _meshfed_v1_AgentMessage__Output } from './meshfed/v1/AgentMessage.ts';
import type { AskedReport as _meshfed_v1_AskedReport, AskedReport__Output as _meshfed_v1_AskedReport__Output } from './meshfed/v1/AskedReport.ts';
import type { BalancerMessage as _meshfed_v1_BalancerMessage, BalancerMessage__Output as _meshfed_v1_BalancerMessage__Output } from './meshfed/v1/BalancerMessage.ts';
import type { Certificate as _meshfed_v1_Certificate, Certificate__Output as _meshfed_v1_Certificate__Output } from './meshfed/v1/Certificate.ts';
import type { CertificateRequest as _meshfed_v1_CertificateRequest, CertificateRequest__Output as _meshfed_v1_CertificateRequest__Output } from './meshfed/v1/CertificateRequest.ts';
import type { DestinationOutcome as _meshfed_v1_DestinationOutcome, DestinationOutcome__Output as _meshfed_v1_DestinationOutcome__Output } from './meshfed/v1/DestinationOutcome.ts';
import type { Directory as _meshfed_v1_Directory, Directory__Output as _meshfed_v1_Directory__Output } from './meshfed/v1/Directory.ts';
import type { Endpoint as _meshfed_v1_Endpoint, Endpoint__Output as _meshfed_v1_Endpoint__Output } from './meshfed/v1/Endpoint.ts';
import type { ErrorCounts as _meshfed_v1_ErrorCounts, ErrorCounts__Output as _meshfed_v1_ErrorCounts__Output } from './meshfed/v1/ErrorCounts.ts';
import type { FederationClient as _meshfed_v1_FederationClient, FederationDefinition as _meshfed_v1_FederationDefinition } from './meshfed/v1/Federation.ts';
import type { Heartbeat as _meshfed_v1_Heartbeat, Heartbeat__Output as _meshfed_v1_Heartbeat__Output } from './meshfed/v1/Heartbeat.ts';
import type { Hello as _meshfed_v1_Hello, Hello__Output as _meshfed_v1_Hello__Output } from './meshfed/v1/Hello.ts';
import type { LatencyHistogram as _meshfed_v1_LatencyHistogram, LatencyHistogram__Output as _meshfed_v1_LatencyHistogram__Output } from './meshfed/v1/LatencyHistogram.ts';
import type { LocalFailures as _meshfed_v1_LocalFailures, LocalFailures__Output as _meshfed_v1_LocalFailures__Output } from './meshfed/v1/LocalFailures.ts';
import type { Locality as _meshfed_v1_Locality, Locality__Output as _meshfed_v1_Locality__Output } from './meshfed/v1/Locality.ts';
import type { RelayClient as _meshfed_v1_RelayClient, RelayDefinition as _meshfed_v1_RelayDefinition } from './meshfed/v1/Relay.ts';
import type { RelayMessage as _meshfed_v1_RelayMessage, RelayMessage__Output as _meshfed_v1_RelayMessage__Output } from './meshfed/v1/RelayMessage.ts';
import type { RelayState as _meshfed_v1_RelayState, RelayState__Output as _meshfed_v1_RelayState__Output } from './meshfed/v1/RelayState.ts';
import type { RotateCertificate as _meshfed_v1_RotateCertificate, RotateCertificate__Output as _meshfed_v1_RotateCertificate__Output } from './meshfed/v1/RotateCertificate.ts';
import type { ServiceEndpoints as _meshfed_v1_ServiceEndpoints, ServiceEndpoints__Output as _meshfed_v1_ServiceEndpoints__Output } from './meshfed/v1/ServiceEndpoints.ts';
import type { ServicePolicy as _meshfed_v1_ServicePolicy, ServicePolicy__Output as _meshfed_v1_ServicePolicy__Output } from './meshfed/v1/ServicePolicy.ts';
import type { ServiceReport as _meshfed_v1_ServiceReport, ServiceReport__Output as _meshfed_v1_ServiceReport__Output } from './meshfed/v1/ServiceReport.ts';
import type { ServiceStats as _meshfed_v1_ServiceStats, ServiceStats__Output as _meshfed_v1_ServiceStats__Output } from './meshfed/v1/ServiceStats.ts';
import type { SidecarMessage as _meshfed_v1_SidecarMessage, SidecarMessage__Output as _meshfed_v1_SidecarMessage__Output } from './meshfed/v1/SidecarMessage.ts';
import type { SidecarStats as _meshfed_v1_SidecarStats, SidecarStats__Output as _meshfed_v1_SidecarStats__Output } from './meshfed/v1/SidecarStats.ts';
import type { SourceWeights as _meshfed_v1_SourceWeights, SourceWeights__Output as _meshfed_v1_SourceWeights__Output } from './meshfed/v1/SourceWeights.ts';
import type { StreamError as _meshfed_v1_StreamError, StreamError__Output as _meshfed_v1_StreamError__Output } from './meshfed/v1/StreamError.ts';
import type { SubscribeRequest as _meshfed_v1_SubscribeRequest, SubscribeRequest__Output as _meshfed_v1_SubscribeRequest__Output } from './meshfed/v1/SubscribeRequest.ts';
import type { TargetWeight as _meshfed_v1_TargetWeight, TargetWeight__Output as _meshfed_v1_TargetWeight__Output } from './meshfed/v1/TargetWeight.ts';
import type { TrustBundle as _meshfed_v1_TrustBundle, TrustBundle__Output as _meshfed_v1_TrustBundle__Output } from './meshfed/v1/TrustBundle.ts';
import type { WeightTable as _meshfed_v1_WeightTable, WeightTable__Output as _meshfed_v1_WeightTable__Output } from './meshfed/v1/WeightTable.ts';
import type { WeightTables as _meshfed_v1_WeightTables, WeightTables__Output as _meshfed_v1_WeightTables__Output } from './meshfed/v1/WeightTables.ts';
import type { ZoneEntry as _meshfed_v1_ZoneEntry, ZoneEntry__Output as _meshfed_v1_ZoneEntry__Output } from './meshfed/v1/ZoneEntry.ts';
import type { ZoneReport as _meshfed_v1_ZoneReport, ZoneReport__Output as _meshfed_v1_ZoneReport__Output } from './meshfed/v1/ZoneReport.ts';
import type { ZoneRtt as _meshfed_v1_ZoneRtt, ZoneRtt__Output as _meshfed_v1_ZoneRtt__Output } from './meshfed/v1/ZoneRtt.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  meshfed: {
    v1: {
      Ack: MessageTypeDefinition<_meshfed_v1_Ack, _meshfed_v1_Ack__Output>
      AgentMessage: MessageTypeDefinition<_meshfed_v1_AgentMessage, _meshfed_v1_AgentMessage__Output>
      AskedReport: MessageTypeDefinition<_meshfed_v1_AskedReport, _meshfed_v1_AskedReport__Output>
      BalancerMessage: MessageTypeDefinition<_meshfed_v1_BalancerMessage, _meshfed_v1_BalancerMessage__Output>
      Certificate: MessageTypeDefinition<_meshfed_v1_Certificate, _meshfed_v1_Certificate__Output>
      CertificateRequest: MessageTypeDefinition<_meshfed_v1_CertificateRequest, _meshfed_v1_CertificateRequest__Output>
      DestinationOutcome: MessageTypeDefinition<_meshfed_v1_DestinationOutcome, _meshfed_v1_DestinationOutcome__Output>
      Directory: MessageTypeDefinition<_meshfed_v1_Directory, _meshfed_v1_Directory__Output>
      Endpoint: MessageTypeDefinition<_meshfed_v1_Endpoint, _meshfed_v1_Endpoint__Output>
      ErrorCounts: MessageTypeDefinition<_meshfed_v1_ErrorCounts, _meshfed_v1_ErrorCounts__Output>
      /**
       * Federation is served by every global-lb replica.
       */
      Federation: SubtypeConstructor<typeof grpc.Client, _meshfed_v1_FederationClient> & { service: _meshfed_v1_FederationDefinition }
      Heartbeat: MessageTypeDefinition<_meshfed_v1_Heartbeat, _meshfed_v1_Heartbeat__Output>
      Hello: MessageTypeDefinition<_meshfed_v1_Hello, _meshfed_v1_Hello__Output>
      LatencyHistogram: MessageTypeDefinition<_meshfed_v1_LatencyHistogram, _meshfed_v1_LatencyHistogram__Output>
      LocalFailures: MessageTypeDefinition<_meshfed_v1_LocalFailures, _meshfed_v1_LocalFailures__Output>
      Locality: MessageTypeDefinition<_meshfed_v1_Locality, _meshfed_v1_Locality__Output>
      /**
       * Relay is served by every zone agent on a local port.
       */
      Relay: SubtypeConstructor<typeof grpc.Client, _meshfed_v1_RelayClient> & { service: _meshfed_v1_RelayDefinition }
      RelayMessage: MessageTypeDefinition<_meshfed_v1_RelayMessage, _meshfed_v1_RelayMessage__Output>
      RelayState: MessageTypeDefinition<_meshfed_v1_RelayState, _meshfed_v1_RelayState__Output>
      RotateCertificate: MessageTypeDefinition<_meshfed_v1_RotateCertificate, _meshfed_v1_RotateCertificate__Output>
      ServiceEndpoints: MessageTypeDefinition<_meshfed_v1_ServiceEndpoints, _meshfed_v1_ServiceEndpoints__Output>
      ServicePolicy: MessageTypeDefinition<_meshfed_v1_ServicePolicy, _meshfed_v1_ServicePolicy__Output>
      ServiceReport: MessageTypeDefinition<_meshfed_v1_ServiceReport, _meshfed_v1_ServiceReport__Output>
      ServiceStats: MessageTypeDefinition<_meshfed_v1_ServiceStats, _meshfed_v1_ServiceStats__Output>
      SidecarMessage: MessageTypeDefinition<_meshfed_v1_SidecarMessage, _meshfed_v1_SidecarMessage__Output>
      SidecarStats: MessageTypeDefinition<_meshfed_v1_SidecarStats, _meshfed_v1_SidecarStats__Output>
      SourceWeights: MessageTypeDefinition<_meshfed_v1_SourceWeights, _meshfed_v1_SourceWeights__Output>
      StreamError: MessageTypeDefinition<_meshfed_v1_StreamError, _meshfed_v1_StreamError__Output>
      SubscribeRequest: MessageTypeDefinition<_meshfed_v1_SubscribeRequest, _meshfed_v1_SubscribeRequest__Output>
      TargetWeight: MessageTypeDefinition<_meshfed_v1_TargetWeight, _meshfed_v1_TargetWeight__Output>
      TrustBundle: MessageTypeDefinition<_meshfed_v1_TrustBundle, _meshfed_v1_TrustBundle__Output>
      WeightTable: MessageTypeDefinition<_meshfed_v1_WeightTable, _meshfed_v1_WeightTable__Output>
      WeightTables: MessageTypeDefinition<_meshfed_v1_WeightTables, _meshfed_v1_WeightTables__Output>
      ZoneEntry: MessageTypeDefinition<_meshfed_v1_ZoneEntry, _meshfed_v1_ZoneEntry__Output>
      ZoneReport: MessageTypeDefinition<_meshfed_v1_ZoneReport, _meshfed_v1_ZoneReport__Output>
      ZoneRtt: MessageTypeDefinition<_meshfed_v1_ZoneRtt, _meshfed_v1_ZoneRtt__Output>
    }
  }
}

