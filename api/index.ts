// The public API of api/: config schemas and loaders, shared field schemas, localities, identities, histograms, wire types.

// Loading any user-written file.
export { formatIssue, formatPath, loadConfigFile, parseConfig, readConfigText, validateConfig } from './load.ts';
export {
  DURATION_HINT, dnsLabelSchema, durationBetween, durationSchema, formatDurationMs, formatHostPort, hostPortSchema, parseDurationMs,
  parseHostPortText, pathSchema, type HostPort,
} from './fields.ts';

// Config files.
export {
  DEFAULT_TOPOLOGY, findZone, loadTopologyFile, parseTopology, topologySchema, topologyZones, type Topology, type TopologyZone,
} from './topology.ts';
export { agentConfigSchema, loadAgentConfigFile, parseAgentConfig, type AgentConfig } from './agent-config.ts';
export { balancerConfigSchema, loadBalancerConfigFile, parseBalancerConfig, type BalancerConfig } from './balancer-config.ts';
export {
  defaultPolicy, loadPolicyFile, parseLocalityMatcher, parsePolicy, policyKey, policySchema, validatePolicy,
  type LocalityMatcher, type Policy, type PolicyInput,
} from './policy.ts';
// The sidecar file has a `policySchema` and `zoneSchema` of its own; only its entry points are re-exported here.
export {
  loadSidecarConfig, parseSidecarConfig, sidecarConfigSchema, type AuthzConfig, type FaultRule, type FaultSettings, type ServiceConfig,
  type SidecarConfig, type ZoneConfig,
} from './sidecar-config.ts';
export { loadStaticDiscovery, parseStaticDiscovery, staticDiscoverySchema, type StaticDiscovery, type StaticService } from './static-discovery.ts';
export { TrustBundleSchema, type TrustBundle } from './trust-bundle.ts';

// Shared domain types.
export { LOCALITY_LEVELS, formatLocality, isLocalitySegment, parseLocality, proximity, type Locality, type LocalityLevel } from './locality.ts';
export { globalLbId, isTrustDomain, parseSpiffeId, workloadId, zoneAgentId, type SpiffeId } from './identity.ts';
export {
  HistogramRecorder, LATENCY_BOUNDS_MS, bucketIndex, emptyHistogram, fromProto as histogramFromProto, mean as histogramMean, merge as mergeHistograms,
  mergeAll as mergeAllHistograms, quantile as histogramQuantile, record as recordLatency, toProto as histogramToProto,
  type Histogram, type HistogramProblem,
} from './histogram.ts';
export { API_CODES, type ApiCode } from './errors.ts';

// The wire: loaders and the message types components exchange (input and __Output shapes, as proto-loader generates them).
export { PROTO_LOADER_OPTIONS, federationProto, loadProto } from './proto.ts';
export { relayProto } from './relay.ts';
export type { RelayClient, RelayMessage, RelayMessage__Output, RelayState, SidecarMessage, SidecarMessage__Output } from './relay.ts';
export type { Ack, Ack__Output } from './generated/meshfed/v1/Ack.ts';
export type { AgentMessage, AgentMessage__Output } from './generated/meshfed/v1/AgentMessage.ts';
export type { BalancerMessage, BalancerMessage__Output } from './generated/meshfed/v1/BalancerMessage.ts';
export type { Directory, Directory__Output } from './generated/meshfed/v1/Directory.ts';
export type { Endpoint, Endpoint__Output } from './generated/meshfed/v1/Endpoint.ts';
export type { ErrorCounts, ErrorCounts__Output } from './generated/meshfed/v1/ErrorCounts.ts';
export type { FederationClient, FederationHandlers } from './generated/meshfed/v1/Federation.ts';
export type { Heartbeat, Heartbeat__Output } from './generated/meshfed/v1/Heartbeat.ts';
export type { Hello, Hello__Output } from './generated/meshfed/v1/Hello.ts';
export type { LatencyHistogram, LatencyHistogram__Output } from './generated/meshfed/v1/LatencyHistogram.ts';
export type { Locality as LocalityMessage, Locality__Output as LocalityMessage__Output } from './generated/meshfed/v1/Locality.ts';
export type { ServiceEndpoints, ServiceEndpoints__Output } from './generated/meshfed/v1/ServiceEndpoints.ts';
export type { ServiceReport, ServiceReport__Output } from './generated/meshfed/v1/ServiceReport.ts';
export type { SourceWeights, SourceWeights__Output } from './generated/meshfed/v1/SourceWeights.ts';
export type { StreamError, StreamError__Output } from './generated/meshfed/v1/StreamError.ts';
export type { TargetWeight, TargetWeight__Output } from './generated/meshfed/v1/TargetWeight.ts';
export type { TrustBundle as TrustBundleMessage, TrustBundle__Output as TrustBundleMessage__Output } from './generated/meshfed/v1/TrustBundle.ts';
export type { WeightTable, WeightTable__Output } from './generated/meshfed/v1/WeightTable.ts';
export type { WeightTables, WeightTables__Output } from './generated/meshfed/v1/WeightTables.ts';
export type { ZoneEntry, ZoneEntry__Output } from './generated/meshfed/v1/ZoneEntry.ts';
export type { ZoneReport, ZoneReport__Output } from './generated/meshfed/v1/ZoneReport.ts';
export type { ZoneRtt, ZoneRtt__Output } from './generated/meshfed/v1/ZoneRtt.ts';
