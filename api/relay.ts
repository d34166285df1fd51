// Loads the Relay service (agent <-> sidecar stream) at run time with the options the generated types assume.
import type { ProtoGrpcType as RelayGrpc } from './generated/relay.ts';
import { loadProto } from './proto.ts';

export type { RelayState } from './generated/meshfed/v1/RelayState.ts';
export type { RelayMessage, RelayMessage__Output } from './generated/meshfed/v1/RelayMessage.ts';
export type { SidecarMessage, SidecarMessage__Output } from './generated/meshfed/v1/SidecarMessage.ts';
export type { RelayClient } from './generated/meshfed/v1/Relay.ts';

let relay: RelayGrpc | undefined;

/** The Relay service and its messages (federation.proto types included, as relay.proto imports them). */
export function relayProto(): RelayGrpc {
  relay ??= loadProto<RelayGrpc>('meshfed/v1/relay.proto');
  return relay;
}
