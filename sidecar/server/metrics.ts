// The sidecar's Prometheus metrics, and the recorder that counts tries, local failures and served answers into them.
import client from 'prom-client';
import { counter, gauge, histogram, LATENCY_BUCKETS, scrapedLabelledGauge, type Registry } from '../../common/metrics.ts';
import type { LocalFailureClass, TryOutcome } from '../types.ts';

/** Every metric the sidecar exports; names and labels are a public contract (dashboards match on them). */
export interface SidecarMetrics {
  readonly registry: Registry;
  readonly requests: client.Counter<'source_zone' | 'dest_zone' | 'dest_service' | 'code'>;
  readonly duration: client.Histogram<'source_zone' | 'dest_zone' | 'dest_service'>;
  readonly inbound: client.Counter<'service' | 'code'>;
  readonly retries: client.Counter<'dest_service'>;
  /** Retries the policy wanted but did not make, by why (budget-exhausted, attempts-exhausted, body-consumed, ...). */
  readonly retriesDenied: client.Counter<'dest_service' | 'reason'>;
  readonly ejections: client.Counter<'dest_service' | 'zone'>;
  readonly overflows: client.Counter<'dest_service'>;
  readonly faults: client.Counter<'kind'>;
  readonly refused: client.Counter<'listener' | 'reason'>;
  readonly authzDenied: client.Counter<'service'>;
  readonly configReloads: client.Counter<'result'>;
  /** Outbound requests whose answer came from an upstream failure; class is connect_failure, reset or timeout. */
  readonly upstreamFailures: client.Counter<'dest_service' | 'class'>;
  readonly inFlight: client.Gauge<'dest_service'>;
  /** ASKED, per try: the outcome of each try sent to a destination zone (retries count once per try). */
  readonly tries: client.Counter<'dest_service' | 'dest_zone' | 'outcome'>;
  /** ASKED, per try: time to the try's response headers. */
  readonly tryDuration: client.Histogram<'dest_service' | 'dest_zone'>;
  readonly triesInFlight: client.Gauge<'dest_service' | 'dest_zone'>;
  /** ASKED: requests the sidecar failed itself before any destination served them; dest_zone is '' when none was picked. */
  readonly localFailures: client.Counter<'dest_service' | 'dest_zone' | 'class'>;
  /** SERVED: what the inbound listener answered for the fronted service (the app's answers and inbound faults). */
  readonly served: client.Counter<'service' | 'outcome'>;
  readonly servedDuration: client.Histogram<'service'>;
  readonly servedInFlight: client.Gauge<'service'>;
  /**
   * ASKED gauges, read from the balancer at scrape time: per destination service and zone, the endpoints this sidecar
   * knows (state="known") and those its outlier detection ejected or found unreachable (state="ejected").
   */
  readonly zoneEndpoints: client.Gauge<'dest_service' | 'dest_zone' | 'state'>;
  /**
   * Ejections ended early because the zone agent's active health check found the endpoint ready again (reason
   * "health_check"), per destination service and zone; read from the balancer at scrape time, like zoneEndpoints.
   */
  readonly unejections: client.Counter<'dest_service' | 'zone' | 'reason'>;
  /** Sets what zoneEndpoints and unejections read (the sidecar's balancer); until set they have no series. */
  setZoneEndpointSource(read: () => Iterable<ZoneEndpoints>): void;
  /** Cached label series over the ASKED and SERVED metrics above, for the hot path. */
  readonly record: StatsRecorder;
}

/** One destination zone of one service as the balancer sees it now. */
export interface ZoneEndpoints {
  readonly service: string;
  readonly zone: string;
  readonly known: number;
  readonly ejected: number;
  /** Running total of ejections a passed health check ended; a row with known 0 carries only this. */
  readonly unejected?: number;
}

/** Counts into the ASKED and SERVED metrics with cached label series (prom-client hashes labels on every call). */
export interface StatsRecorder {
  tryStart(service: string, zone: string): void;
  tryEnd(service: string, zone: string, outcome: TryOutcome | undefined, ms: number): void;
  local(service: string, zone: string, cls: LocalFailureClass): void;
  servedStart(): void;
  /** `outcome` undefined: the caller went away, so the answer says nothing of the workload (in-flight only). */
  servedEnd(outcome: TryOutcome | undefined, ms: number): void;
}

/** Series caches stop growing past this many label sets (a bound against unbounded destination names). */
const SERIES_CAP = 10_000;

function cached<T>(make: (key: string) => T): (key: string) => T {
  const m = new Map<string, T>();
  return (key) => {
    let v = m.get(key);
    if (v === undefined) {
      v = make(key);
      if (m.size < SERIES_CAP) m.set(key, v);
    }
    return v;
  };
}

function statsRecorder(m: Omit<SidecarMetrics, 'record'>, service: string): StatsRecorder {
  const split = (key: string) => key.split('|') as [string, string, string];
  const tryFlight = cached((k) => { const [s, z] = split(k); return m.triesInFlight.labels({ dest_service: s, dest_zone: z }); });
  const tryCount = cached((k) => { const [s, z, o] = split(k); return m.tries.labels({ dest_service: s, dest_zone: z, outcome: o }); });
  const tryTime = cached((k) => { const [s, z] = split(k); return m.tryDuration.labels({ dest_service: s, dest_zone: z }); });
  const localCount = cached((k) => { const [s, z, c] = split(k); return m.localFailures.labels({ dest_service: s, dest_zone: z, class: c }); });
  const servedCount = cached((o) => m.served.labels({ service, outcome: o }));
  const servedTime = m.servedDuration.labels({ service });
  const servedFlight = m.servedInFlight.labels({ service });
  return {
    tryStart: (s, z) => tryFlight(`${s}|${z}`).inc(),
    tryEnd(s, z, outcome, ms) {
      tryFlight(`${s}|${z}`).dec();
      if (outcome === undefined) return;
      tryCount(`${s}|${z}|${outcome}`).inc();
      tryTime(`${s}|${z}`).observe(ms / 1000);
    },
    local: (s, z, cls) => localCount(`${s}|${z}|${cls}`).inc(),
    servedStart: () => servedFlight.inc(),
    servedEnd(outcome, ms) {
      servedFlight.dec();
      if (outcome === undefined) return;
      servedCount(outcome).inc();
      servedTime.observe(ms / 1000);
    },
  };
}

/** Creates the sidecar's metrics in `registry`; `service` is the fronted service (the SERVED series' label). */
export function createSidecarMetrics(registry: Registry, service = ''): SidecarMetrics {
  let zoneSource: () => Iterable<ZoneEndpoints> = () => [];
  const m: Omit<SidecarMetrics, 'record'> = {
    registry,
    requests: counter(registry, 'meshfed_requests_total', 'Outbound requests by source zone, serving zone, destination service and status code', ['source_zone', 'dest_zone', 'dest_service', 'code']),
    duration: histogram(registry, 'meshfed_request_duration_seconds', 'Outbound request duration until response headers and body are sent', ['source_zone', 'dest_zone', 'dest_service'], LATENCY_BUCKETS),
    inbound: counter(registry, 'meshfed_inbound_requests_total', 'Inbound requests by own service and status code', ['service', 'code']),
    retries: counter(registry, 'meshfed_retries_total', 'Requests that needed at least one retry', ['dest_service']),
    retriesDenied: counter(registry, 'meshfed_retries_denied_total', 'Failed tries that were not retried, by reason', ['dest_service', 'reason']),
    ejections: counter(registry, 'meshfed_outlier_ejections_total', 'Endpoints ejected by local outlier detection', ['dest_service', 'zone']),
    overflows: counter(registry, 'meshfed_circuit_breaker_overflows_total', 'Requests refused by the circuit breaker', ['dest_service']),
    faults: counter(registry, 'meshfed_fault_injections_total', 'Faults injected, by kind', ['kind']),
    refused: counter(registry, 'meshfed_connections_refused_total', 'Connections or requests refused before reaching the stack', ['listener', 'reason']),
    authzDenied: counter(registry, 'meshfed_authz_denied_total', 'Inbound requests denied by identity-based authz', ['service']),
    configReloads: counter(registry, 'meshfed_config_reloads_total', 'Config applications by result', ['result']),
    upstreamFailures: counter(registry, 'meshfed_upstream_failures_total', 'Outbound requests answered from an upstream failure, by class (connect_failure, reset, timeout)', ['dest_service', 'class']),
    inFlight: gauge(registry, 'meshfed_requests_in_flight', 'Outbound requests in flight', ['dest_service']),
    tries: counter(registry, 'meshfed_upstream_tries_total', 'Outbound tries by destination service, destination zone and outcome (success, http_5xx, connect_failure, reset, timeout)', ['dest_service', 'dest_zone', 'outcome']),
    tryDuration: histogram(registry, 'meshfed_upstream_try_duration_seconds', 'Outbound try duration until response headers, by destination zone', ['dest_service', 'dest_zone'], LATENCY_BUCKETS),
    triesInFlight: gauge(registry, 'meshfed_upstream_tries_in_flight', 'Outbound tries in flight by destination zone', ['dest_service', 'dest_zone']),
    localFailures: counter(registry, 'meshfed_local_failures_total', 'Outbound requests the sidecar failed itself (fault_injected, overflow, denied, no_endpoint, timeout)', ['dest_service', 'dest_zone', 'class']),
    served: counter(registry, 'meshfed_inbound_outcomes_total', 'Inbound answers for the fronted service by outcome (success, http_5xx, connect_failure, reset, timeout)', ['service', 'outcome']),
    servedDuration: histogram(registry, 'meshfed_inbound_request_duration_seconds', 'Inbound request duration until the answer is written', ['service'], LATENCY_BUCKETS),
    servedInFlight: gauge(registry, 'meshfed_inbound_requests_in_flight', 'Inbound requests in flight', ['service']),
    zoneEndpoints: scrapedLabelledGauge(registry, 'meshfed_outbound_zone_endpoints', 'Endpoints of each destination zone this sidecar knows (state=known) and has ejected or found unreachable (state=ejected)', ['dest_service', 'dest_zone', 'state'], function* () {
      for (const z of zoneSource()) {
        if (z.known <= 0) continue;
        yield { labels: { dest_service: z.service, dest_zone: z.zone, state: 'known' }, value: z.known };
        yield { labels: { dest_service: z.service, dest_zone: z.zone, state: 'ejected' }, value: z.ejected };
      }
    }),
    unejections: new client.Counter({
      name: 'meshfed_outlier_unejections_total',
      help: 'Outlier ejections ended early because the zone agent\'s active health check found the endpoint ready again (reason=health_check)',
      labelNames: ['dest_service', 'zone', 'reason'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const z of zoneSource()) if ((z.unejected ?? 0) > 0) this.inc({ dest_service: z.service, zone: z.zone, reason: 'health_check' }, z.unejected);
      },
    }),
    setZoneEndpointSource(read) {
      zoneSource = read;
    },
  };
  return { ...m, record: statsRecorder(m, service) };
}
