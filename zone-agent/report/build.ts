// Pure construction of a ZoneReport from discovery, health checks, merged sidecar stats (served and asked) and RTTs.
import { toProto } from '../../api/histogram.ts';
import type { ZoneReport } from '../../api/generated/meshfed/v1/ZoneReport.ts';
import type { LocalService } from '../discovery/model.ts';
import { askedInFlightOf, EMPTY_LOCAL, EMPTY_OUTCOME, ejectionsOf, inFlightOf, parseEjectionKey, type OutcomeWindow, type WindowTotals } from '../telemetry/merge.ts';
import type { ErrorCounts } from '../../api/generated/meshfed/v1/ErrorCounts.ts';

/** The inputs of one report. */
export interface ReportInputs {
  readonly zone: string;
  readonly sequence: number;
  readonly nowMs: number;
  /** The span the window's counters cover (the evidence window: several report intervals). */
  readonly windowMs: number;
  readonly services: readonly LocalService[];
  readonly window: WindowTotals;
  readonly rttsMs: Readonly<Record<string, number>>;
}

/** Services the zone's clients asked of in the window, or whose endpoints they know (ejection gauges), sorted. */
function askedServices(w: WindowTotals): string[] {
  const keys = new Set(Object.keys(w.asked));
  for (const k of Object.keys(w.ejections)) keys.add(parseEjectionKey(k).service);
  return [...keys].sort();
}

/** Destination zones of a service that some caller sidecar of the zone has ejected endpoints of. */
function ejectedZones(w: WindowTotals, service: string): string[] {
  const out: string[] = [];
  for (const [k, per] of Object.entries(w.ejections)) {
    const at = parseEjectionKey(k);
    if (at.service === service && Object.values(per).some((g) => g.ejected > 0)) out.push(at.zone);
  }
  return out;
}

function errorsOf(o: OutcomeWindow | undefined): ErrorCounts {
  return {
    http_5xx: String(o?.errors.http_5xx ?? 0),
    connect_failure: String(o?.errors.connect_failure ?? 0),
    timeout: String(o?.errors.timeout ?? 0),
    reset: String(o?.errors.reset ?? 0),
  };
}

/**
 * One report. Counters cover the window only. Each local service carries what the zone's own workloads SERVED;
 * `asked` carries what the zone's clients sent to each service, per destination zone, hosted here or not. An endpoint
 * counts as healthy when discovery says so (ready and not terminating; the health checker overlays its verdict first).
 */
export function buildReport(r: ReportInputs): ZoneReport {
  const seconds = Math.max(r.windowMs, 1) / 1000;
  return {
    zone: r.zone,
    sequence: String(r.sequence),
    sent_at_unix_ms: String(r.nowMs),
    window_ms: Math.round(r.windowMs),
    services: r.services.map((s) => {
      const key = `${s.namespace}/${s.name}`;
      const w = r.window.served[key];
      return {
        namespace: s.namespace,
        name: s.name,
        healthy_endpoints: s.endpoints.filter((e) => e.healthy).length,
        total_endpoints: s.endpoints.length,
        capacity_rps: s.capacityRps,
        rps: w ? w.requests / seconds : 0,
        in_flight: inFlightOf(r.window, key),
        successes: String(w?.successes ?? 0),
        errors: errorsOf(w),
        ...(w ? { latency: toProto(w.latency) } : {}),
        endpoints: s.endpoints.map((e) => ({ address: e.address, port: e.port, healthy: e.healthy, labels: { ...e.labels } })),
      };
    }),
    rtts: Object.keys(r.rttsMs).sort().map((zone) => ({ zone, rtt_ms: r.rttsMs[zone] as number })),
    asked: askedServices(r.window).map((key) => {
      const a = r.window.asked[key] ?? { destinations: {}, local: EMPTY_LOCAL };
      const [namespace, name] = key.split('/') as [string, string];
      const zones = [...new Set([...Object.keys(a.destinations), ...ejectedZones(r.window, key)])].sort();
      const sent = zones.reduce((sum, z) => sum + (a.destinations[z]?.requests ?? 0), 0);
      return {
        namespace,
        name,
        rps: sent / seconds,
        destinations: zones.map((zone) => {
          const o = a.destinations[zone] ?? EMPTY_OUTCOME;
          const e = ejectionsOf(r.window, key, zone);
          return {
            zone, requests: String(o.requests), successes: String(o.successes), errors: errorsOf(o), latency: toProto(o.latency),
            sidecars_knowing: e.knowing, sidecars_ejecting_all: e.ejectingAll,
          };
        }),
        local: {
          fault_injected: String(a.local.fault_injected),
          overflow: String(a.local.overflow),
          denied: String(a.local.denied),
          no_endpoint: String(a.local.no_endpoint),
          timeout: String(a.local.timeout),
        },
        in_flight: askedInFlightOf(r.window, key),
      };
    }),
  };
}
