// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/federation.proto


export interface Endpoint {
  'address'?: (string);
  'port'?: (number);
  'healthy'?: (boolean);
  'labels'?: ({[key: string]: string});
}

export interface Endpoint__Output {
  'address': (string);
  'port': (number);
  'healthy': (boolean);
  'labels': ({[key: string]: string});
}
