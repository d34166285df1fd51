// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/federation.proto

import type { Ack as _meshfed_v1_Ack, Ack__Output as _meshfed_v1_Ack__Output } from '../../meshfed/v1/Ack.ts';
import type { WeightTables as _meshfed_v1_WeightTables, WeightTables__Output as _meshfed_v1_WeightTables__Output } from '../../meshfed/v1/WeightTables.ts';
import type { TrustBundle as _meshfed_v1_TrustBundle, TrustBundle__Output as _meshfed_v1_TrustBundle__Output } from '../../meshfed/v1/TrustBundle.ts';
import type { Directory as _meshfed_v1_Directory, Directory__Output as _meshfed_v1_Directory__Output } from '../../meshfed/v1/Directory.ts';
import type { StreamError as _meshfed_v1_StreamError, StreamError__Output as _meshfed_v1_StreamError__Output } from '../../meshfed/v1/StreamError.ts';

export interface BalancerMessage {
  'ack'?: (_meshfed_v1_Ack | null);
  'weights'?: (_meshfed_v1_WeightTables | null);
  'trust_bundle'?: (_meshfed_v1_TrustBundle | null);
  'directory'?: (_meshfed_v1_Directory | null);
  'error'?: (_meshfed_v1_StreamError | null);
  'msg'?: "ack"|"weights"|"trust_bundle"|"directory"|"error";
}

export interface BalancerMessage__Output {
  'ack'?: (_meshfed_v1_Ack__Output | null);
  'weights'?: (_meshfed_v1_WeightTables__Output | null);
  'trust_bundle'?: (_meshfed_v1_TrustBundle__Output | null);
  'directory'?: (_meshfed_v1_Directory__Output | null);
  'error'?: (_meshfed_v1_StreamError__Output | null);
  'msg'?: "ack"|"weights"|"trust_bundle"|"directory"|"error";
}
