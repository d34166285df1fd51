// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/federation.proto

import type { WeightTable as _meshfed_v1_WeightTable, WeightTable__Output as _meshfed_v1_WeightTable__Output } from '../../meshfed/v1/WeightTable.ts';

export interface WeightTables {
  'tables'?: (_meshfed_v1_WeightTable)[];
  /**
   * True when this message replaces every table the agent holds; false for an update of the listed ones.
   */
  'full'?: (boolean);
  /**
   * Tables deleted since the last update, as "namespace/name".
   */
  'removed'?: (string)[];
}

export interface WeightTables__Output {
  'tables': (_meshfed_v1_WeightTable__Output)[];
  /**
   * True when this message replaces every table the agent holds; false for an update of the listed ones.
   */
  'full': (boolean);
  /**
   * Tables deleted since the last update, as "namespace/name".
   */
  'removed': (string)[];
}
