// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/federation.proto

import type { ZoneEntry as _meshfed_v1_ZoneEntry, ZoneEntry__Output as _meshfed_v1_ZoneEntry__Output } from '../../meshfed/v1/ZoneEntry.ts';

/**
 * Every zone in the federation and how to reach its services.
 */
export interface Directory {
  'zones'?: (_meshfed_v1_ZoneEntry)[];
  'version'?: (string);
}

/**
 * Every zone in the federation and how to reach its services.
 */
export interface Directory__Output {
  'zones': (_meshfed_v1_ZoneEntry__Output)[];
  'version': (string);
}
