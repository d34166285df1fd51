// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.
// Original file: api/meshfed/v1/relay.proto


export interface CertificateRequest {
  'csr_pem'?: (string);
}

export interface CertificateRequest__Output {
  'csr_pem': (string);
}
