// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/relay.proto

import type { RelayState as _meshfed_v1_RelayState, RelayState__Output as _meshfed_v1_RelayState__Output } from '../../meshfed/v1/RelayState.ts';
import type { Certificate as _meshfed_v1_Certificate, Certificate__Output as _meshfed_v1_Certificate__Output } from '../../meshfed/v1/Certificate.ts';
import type { StreamError as _meshfed_v1_StreamError, StreamError__Output as _meshfed_v1_StreamError__Output } from '../../meshfed/v1/StreamError.ts';
import type { RotateCertificate as _meshfed_v1_RotateCertificate, RotateCertificate__Output as _meshfed_v1_RotateCertificate__Output } from '../../meshfed/v1/RotateCertificate.ts';

export interface RelayMessage {
  'state'?: (_meshfed_v1_RelayState | null);
  'certificate'?: (_meshfed_v1_Certificate | null);
  'error'?: (_meshfed_v1_StreamError | null);
  'rotate'?: (_meshfed_v1_RotateCertificate | null);
  'msg'?: "state"|"certificate"|"error"|"rotate";
}

export interface RelayMessage__Output {
  'state'?: (_meshfed_v1_RelayState__Output | null);
  'certificate'?: (_meshfed_v1_Certificate__Output | null);
  'error'?: (_meshfed_v1_StreamError__Output | null);
  'rotate'?: (_meshfed_v1_RotateCertificate__Output | null);
  'msg'?: "state"|"certificate"|"error"|"rotate";
}
