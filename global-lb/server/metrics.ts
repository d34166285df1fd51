// The balancer's Prometheus metrics, on one registry per replica.
import type client from 'prom-client';
import { counter, createRegistry, gauge, histogram, type Registry } from '../../common/metrics.ts';

/** Every metric a replica exports; names are part of the operations contract (docs/global-lb.md). */
export interface ServerMetrics {
  readonly registry: Registry;
  readonly weightBasisPoints: client.Gauge<'service' | 'source_zone' | 'target_zone'>;
  readonly zoneEligible: client.Gauge<'zone'>;
  readonly computeDuration: client.Histogram<string>;
  readonly isLeader: client.Gauge<string>;
  readonly agentStreams: client.Gauge<string>;
  readonly reportAge: client.Gauge<'zone'>;
  readonly reports: client.Counter<string>;
  readonly streamRefusals: client.Counter<'code'>;
  readonly storeErrors: client.Counter<'op'>;
  readonly watchRelists: client.Counter<string>;
  readonly tablesWritten: client.Counter<string>;
  readonly fencedWrites: client.Counter<string>;
}

export function createServerMetrics(options: { processMetrics?: boolean } = {}): ServerMetrics {
  const registry = createRegistry({ processMetrics: options.processMetrics ?? true });
  return {
    registry,
    weightBasisPoints: gauge(registry, 'meshfed_weight_basis_points', 'Share of a service\'s requests from a source zone sent to a target zone, in basis points', ['service', 'source_zone', 'target_zone']),
    zoneEligible: gauge(registry, 'meshfed_zone_eligible', '1 when the zone receives traffic (alive, not drained, and eligible for at least one service)', ['zone']),
    computeDuration: histogram(registry, 'meshfed_compute_duration_seconds', 'Duration of one full weight recompute on the leader', [], [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]),
    isLeader: gauge(registry, 'meshfed_is_leader', '1 while this replica is the leader'),
    agentStreams: gauge(registry, 'meshfed_agent_streams', 'Agent streams connected to this replica'),
    reportAge: gauge(registry, 'meshfed_report_age_seconds', 'Age of each zone\'s latest stored report', ['zone']),
    reports: counter(registry, 'meshfed_reports_total', 'Zone reports accepted by this replica'),
    streamRefusals: counter(registry, 'meshfed_stream_refusals_total', 'Agent streams closed for a protocol violation, by error code', ['code']),
    storeErrors: counter(registry, 'meshfed_store_errors_total', 'Store operations that failed, by operation', ['op']),
    watchRelists: counter(registry, 'meshfed_store_watch_relists_total', 'Times the replica\'s store watch could not resume (compacted, cancelled, or stuck ending without progress) and the view relisted'),
    tablesWritten: counter(registry, 'meshfed_weight_tables_written_total', 'Weight tables the leader wrote because their version changed'),
    fencedWrites: counter(registry, 'meshfed_fenced_writes_refused_total', 'Table writes the store refused because this replica no longer led (then it stepped down)'),
  };
}
