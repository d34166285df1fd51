// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/federation.proto

import type { Hello as _meshfed_v1_Hello, Hello__Output as _meshfed_v1_Hello__Output } from '../../meshfed/v1/Hello.ts';
import type { ZoneReport as _meshfed_v1_ZoneReport, ZoneReport__Output as _meshfed_v1_ZoneReport__Output } from '../../meshfed/v1/ZoneReport.ts';
import type { Heartbeat as _meshfed_v1_Heartbeat, Heartbeat__Output as _meshfed_v1_Heartbeat__Output } from '../../meshfed/v1/Heartbeat.ts';

export interface AgentMessage {
  'hello'?: (_meshfed_v1_Hello | null);
  'report'?: (_meshfed_v1_ZoneReport | null);
  'heartbeat'?: (_meshfed_v1_Heartbeat | null);
  'msg'?: "hello"|"report"|"heartbeat";
}

export interface AgentMessage__Output {
  'hello'?: (_meshfed_v1_Hello__Output | null);
  'report'?: (_meshfed_v1_ZoneReport__Output | null);
  'heartbeat'?: (_meshfed_v1_Heartbeat__Output | null);
  'msg'?: "hello"|"report"|"heartbeat";
}
