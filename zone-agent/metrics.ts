// The zone agent's Prometheus metrics, on its own registry (served at /metrics on the admin port).
import { counter, createRegistry, gauge, scrapedGauge, type Registry } from '../common/metrics.ts';

/** Every metric the agent exports. */
export interface AgentMetrics {
  readonly registry: Registry;
  readonly balancerConnected: ReturnType<typeof gauge>;
  readonly reportsSent: ReturnType<typeof counter>;
  readonly relaySubscribers: ReturnType<typeof gauge>;
  readonly relayPushes: ReturnType<typeof counter>;
  readonly relayProtocolErrors: ReturnType<typeof counter>;
  readonly relaySkipped: ReturnType<typeof counter>;
  readonly certificatesIssued: ReturnType<typeof counter>;
  readonly malformedObjects: ReturnType<typeof counter<'kind'>>;
  readonly watchErrors: ReturnType<typeof counter<'resource'>>;
  readonly staticInvalid: ReturnType<typeof counter>;
  readonly failstaticWriteErrors: ReturnType<typeof counter>;
  readonly identityRotations: ReturnType<typeof counter>;
  readonly bundlesAccepted: ReturnType<typeof counter>;
  readonly bundlesRefused: ReturnType<typeof counter<'code'>>;
}

/**
 * Creates the metrics. `weightsReceivedAtMs` is read at scrape time, so `meshfed_weights_age_seconds` is always
 * current; it is -1 while no weights were ever received (nothing persisted, balancer never reached).
 */
export function createAgentMetrics(
  weightsReceivedAtMs: () => number,
  options: { processMetrics?: boolean; identityNotAfterMs?: () => number | undefined } = {},
): AgentMetrics {
  const registry = createRegistry({ processMetrics: options.processMetrics ?? true });
  const identityNotAfterMs = options.identityNotAfterMs;
  // Only an agent with an identity (not --insecure) exports it: a constant 0 would read as "expired now".
  if (identityNotAfterMs) {
    scrapedGauge(registry, 'meshfed_agent_identity_expiry_seconds', 'Seconds until the agent\'s own zone certificate (Federation mTLS) expires; it is renewed at about half its life', () => {
      const at = identityNotAfterMs();
      return at !== undefined ? (at - Date.now()) / 1000 : undefined;
    });
  }
  scrapedGauge(registry, 'meshfed_weights_age_seconds', 'Seconds since the weights this agent serves were received from global-lb (-1: never)', () => {
    const at = weightsReceivedAtMs();
    return at > 0 ? Math.max(0, (Date.now() - at) / 1000) : -1;
  });
  return {
    registry,
    balancerConnected: gauge(registry, 'meshfed_agent_balancer_connected', '1 while a Federation stream to global-lb is open and answered'),
    reportsSent: counter(registry, 'meshfed_agent_reports_sent_total', 'Zone reports sent to global-lb'),
    relaySubscribers: gauge(registry, 'meshfed_agent_relay_subscribers', 'Sidecar streams currently subscribed to the relay'),
    relayPushes: counter(registry, 'meshfed_agent_relay_pushes_total', 'New relay state versions pushed to sidecars'),
    relayProtocolErrors: counter(registry, 'meshfed_agent_relay_protocol_errors_total', 'Sidecar streams closed for breaking the relay protocol'),
    relaySkipped: counter(registry, 'meshfed_agent_relay_skipped_total', 'State versions not sent to a sidecar that was not reading; it gets the newest one when it drains'),
    certificatesIssued: counter(registry, 'meshfed_agent_certificates_issued_total', 'Sidecar certificates signed'),
    malformedObjects: counter(registry, 'meshfed_agent_discovery_malformed_total', 'Kubernetes objects skipped as malformed', ['kind']),
    watchErrors: counter(registry, 'meshfed_agent_discovery_watch_errors_total', 'Failed Kubernetes list/watch attempts (each is retried)', ['resource']),
    staticInvalid: counter(registry, 'meshfed_agent_static_invalid_total', 'Static discovery file edits refused as invalid'),
    failstaticWriteErrors: counter(registry, 'meshfed_agent_failstatic_write_errors_total', 'Failed writes of the fail-static state'),
    identityRotations: counter(registry, 'meshfed_agent_identity_rotations_total', 'Times the agent renewed its own zone certificate'),
    bundlesAccepted: counter(registry, 'meshfed_agent_trust_bundles_accepted_total', 'Trust bundles from global-lb that took effect (signed by a key this agent trusts)'),
    bundlesRefused: counter(registry, 'meshfed_agent_trust_bundles_refused_total', 'Trust bundles from global-lb refused, by code (unsigned, unknown signer, bad signature, no roots, stale, invalid)', ['code']),
  };
}
