// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/relay.proto

import type { SubscribeRequest as _meshfed_v1_SubscribeRequest, SubscribeRequest__Output as _meshfed_v1_SubscribeRequest__Output } from '../../meshfed/v1/SubscribeRequest.ts';
import type { SidecarStats as _meshfed_v1_SidecarStats, SidecarStats__Output as _meshfed_v1_SidecarStats__Output } from '../../meshfed/v1/SidecarStats.ts';
import type { CertificateRequest as _meshfed_v1_CertificateRequest, CertificateRequest__Output as _meshfed_v1_CertificateRequest__Output } from '../../meshfed/v1/CertificateRequest.ts';

export interface SidecarMessage {
  'subscribe'?: (_meshfed_v1_SubscribeRequest | null);
  'stats'?: (_meshfed_v1_SidecarStats | null);
  'csr'?: (_meshfed_v1_CertificateRequest | null);
  'msg'?: "subscribe"|"stats"|"csr";
}

export interface SidecarMessage__Output {
  'subscribe'?: (_meshfed_v1_SubscribeRequest__Output | null);
  'stats'?: (_meshfed_v1_SidecarStats__Output | null);
  'csr'?: (_meshfed_v1_CertificateRequest__Output | null);
  'msg'?: "subscribe"|"stats"|"csr";
}
