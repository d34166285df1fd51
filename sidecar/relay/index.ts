// Public API of the sidecar's relay client: subscribe a sidecar or a gateway to its zone agent.
export { AgentRelayClient, reconnectDelay, DEFAULT_RELAY_BACKOFF, type RelayClientOptions, type WorkloadSubscription, type GatewaySubscription, type RelayBackoff, type IssuedCertificate } from './client.ts';
export {
  startRelayedSidecar, startRelayedGateway,
  type RelayedSidecar, type RelayedSidecarOptions, type RelayIntake, type RelayedGateway, type GatewaySubscriptionOptions, type GatewayIntake,
} from './relayed.ts';
export { relayStateToConfig, normaliseRow, type RelayOverlay } from './translate.ts';
export { totalsFrom, windowStats, NO_TOTALS, type Totals, type ServiceTotals, type LocalTotals, type StatsSamples, type PromSample } from './stats.ts';
export { windowReader, statsSamples, type StatsWindow } from './stats-reader.ts';
