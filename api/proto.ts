// Loads the meshfed protos at run time with the same options the generated types assume.
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as FederationGrpc } from './generated/federation.ts';

/** The options the generated types in api/generated/ were made with; loading must match them. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = Object.freeze({
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [import.meta.dirname],
});

/** Loads one proto file (relative to api/) into a grpc-js package object. */
export function loadProto<T>(file: string): T {
  const definition = protoLoader.loadSync(join(import.meta.dirname, file), PROTO_LOADER_OPTIONS);
  return grpc.loadPackageDefinition(definition) as unknown as T;
}

let federation: FederationGrpc | undefined;

/** The Federation service and its messages. */
export function federationProto(): FederationGrpc {
  federation ??= loadProto<FederationGrpc>('meshfed/v1/federation.proto');
  return federation;
}
