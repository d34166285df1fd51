// The zone agent's public API: start an agent, its discovery sources, relay state and error codes.
export { startZoneAgent, AGENT_VERSION } from './agent.ts';
export type { ZoneAgent, ZoneAgentOptions, AgentStatus, DiscoverySpec } from './agent.ts';
// KubernetesDiscovery is not re-exported: it pulls in the Kubernetes client; import ./discovery/kubernetes.ts directly.
export type { KubernetesDiscoveryOptions } from './discovery/kubernetes.ts';
export { StaticFileDiscovery, staticServices } from './discovery/static.ts';
export type { Discovery, LocalService, LocalEndpoint } from './discovery/model.ts';
export { buildRelayState, applyWeights } from './relay/state.ts';
export type { BalancerState, RelayInputs } from './relay/state.ts';
export { RelayServer } from './relay/server.ts';
export type { CsrSigner, SignedCertificate } from './relay/server.ts';
export { backoffDelay, nextAddressIndex, DEFAULT_BACKOFF } from './report/backoff.ts';
export type { BackoffPolicy } from './report/backoff.ts';
export { ZONE_AGENT_CODES } from './errors.ts';
export type { ZoneAgentCode } from './errors.ts';
