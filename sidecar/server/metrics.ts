// The sidecar's Prometheus metrics, and the counting of a finished request from its response flags.
import type client from 'prom-client';
import { counter, gauge, histogram, LATENCY_BUCKETS, type Registry } from '../../common/metrics.ts';

/** Every metric the sidecar exports; names and labels are a public contract (dashboards match on them). */
export interface SidecarMetrics {
  readonly registry: Registry;
  readonly requests: client.Counter<'source_zone' | 'dest_zone' | 'dest_service' | 'code'>;
  readonly duration: client.Histogram<'source_zone' | 'dest_zone' | 'dest_service'>;
  readonly inbound: client.Counter<'service' | 'code'>;
  readonly retries: client.Counter<'dest_service'>;
  readonly ejections: client.Counter<'dest_service' | 'zone'>;
  readonly overflows: client.Counter<'dest_service'>;
  readonly faults: client.Counter<'kind'>;
  readonly refused: client.Counter<'listener' | 'reason'>;
  readonly authzDenied: client.Counter<'service'>;
  readonly configReloads: client.Counter<'result'>;
  /** Outbound requests whose answer came from an upstream failure; class is connect_failure, reset or timeout. */
  readonly upstreamFailures: client.Counter<'dest_service' | 'class'>;
  readonly inFlight: client.Gauge<'dest_service'>;
}

export function createSidecarMetrics(registry: Registry): SidecarMetrics {
  return {
    registry,
    requests: counter(registry, 'meshfed_requests_total', 'Outbound requests by source zone, serving zone, destination service and status code', ['source_zone', 'dest_zone', 'dest_service', 'code']),
    duration: histogram(registry, 'meshfed_request_duration_seconds', 'Outbound request duration until response headers and body are sent', ['source_zone', 'dest_zone', 'dest_service'], LATENCY_BUCKETS),
    inbound: counter(registry, 'meshfed_inbound_requests_total', 'Inbound requests by own service and status code', ['service', 'code']),
    retries: counter(registry, 'meshfed_retries_total', 'Requests that needed at least one retry', ['dest_service']),
    ejections: counter(registry, 'meshfed_outlier_ejections_total', 'Endpoints ejected by local outlier detection', ['dest_service', 'zone']),
    overflows: counter(registry, 'meshfed_circuit_breaker_overflows_total', 'Requests refused by the circuit breaker', ['dest_service']),
    faults: counter(registry, 'meshfed_fault_injections_total', 'Faults injected, by kind', ['kind']),
    refused: counter(registry, 'meshfed_connections_refused_total', 'Connections or requests refused before reaching the stack', ['listener', 'reason']),
    authzDenied: counter(registry, 'meshfed_authz_denied_total', 'Inbound requests denied by identity-based authz', ['service']),
    configReloads: counter(registry, 'meshfed_config_reloads_total', 'Config applications by result', ['result']),
    upstreamFailures: counter(registry, 'meshfed_upstream_failures_total', 'Outbound requests answered from an upstream failure, by class (connect_failure, reset, timeout)', ['dest_service', 'class']),
    inFlight: gauge(registry, 'meshfed_requests_in_flight', 'Outbound requests in flight', ['dest_service']),
  };
}
