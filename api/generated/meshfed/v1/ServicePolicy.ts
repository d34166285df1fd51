// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/relay.proto


export interface ServicePolicy {
  'namespace'?: (string);
  'name'?: (string);
  'policy_json'?: (string);
}

export interface ServicePolicy__Output {
  'namespace': (string);
  'name': (string);
  'policy_json': (string);
}
