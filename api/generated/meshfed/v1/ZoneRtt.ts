// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/federation.proto


export interface ZoneRtt {
  'zone'?: (string);
  'rtt_ms'?: (number | string);
}

export interface ZoneRtt__Output {
  'zone': (string);
  'rtt_ms': (number);
}
