// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/federation.proto


/**
 * Where a zone sits. The zone name is unique across a federation.
 */
export interface Locality {
  'cloud'?: (string);
  'region'?: (string);
  'zone'?: (string);
}

/**
 * Where a zone sits. The zone name is unique across a federation.
 */
export interface Locality__Output {
  'cloud': (string);
  'region': (string);
  'zone': (string);
}
