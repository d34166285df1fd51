// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/federation.proto


export interface TargetWeight {
  'zone'?: (string);
  'basis_points'?: (number);
  /**
   * Failover priority; 0 is the nearest tier.
   */
  'tier'?: (number);
  /**
   * Why this zone got this share, in plain words.
   */
  'reason'?: (string);
}

export interface TargetWeight__Output {
  'zone': (string);
  'basis_points': (number);
  /**
   * Failover priority; 0 is the nearest tier.
   */
  'tier': (number);
  /**
   * Why this zone got this share, in plain words.
   */
  'reason': (string);
}
