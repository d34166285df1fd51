// Pure construction of a ZoneReport from discovery, health checks, merged sidecar stats and RTTs.
import { toProto } from '../../api/histogram.ts';
import type { ZoneReport } from '../../api/generated/meshfed/v1/ZoneReport.ts';
import type { LocalService } from '../discovery/model.ts';
import { inFlightOf, type WindowTotals } from '../telemetry/merge.ts';

/** The inputs of one report. */
export interface ReportInputs {
  readonly zone: string;
  readonly sequence: number;
  readonly nowMs: number;
  readonly windowMs: number;
  readonly services: readonly LocalService[];
  readonly window: WindowTotals;
  readonly rttsMs: Readonly<Record<string, number>>;
}

/**
 * One report. Counters cover the window only. An endpoint counts as healthy when discovery says so (ready and
 * not terminating; the health checker overlays its verdict before this point).
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
      const w = r.window.services[key];
      return {
        namespace: s.namespace,
        name: s.name,
        healthy_endpoints: s.endpoints.filter((e) => e.healthy).length,
        total_endpoints: s.endpoints.length,
        capacity_rps: s.capacityRps,
        rps: w ? w.requests / seconds : 0,
        in_flight: inFlightOf(r.window, key),
        successes: String(w?.successes ?? 0),
        errors: {
          http_5xx: String(w?.errors.http_5xx ?? 0),
          connect_failure: String(w?.errors.connect_failure ?? 0),
          timeout: String(w?.errors.timeout ?? 0),
          reset: String(w?.errors.reset ?? 0),
        },
        ...(w ? { latency: toProto(w.latency) } : {}),
        endpoints: s.endpoints.map((e) => ({ address: e.address, port: e.port, healthy: e.healthy, labels: { ...e.labels } })),
      };
    }),
    rtts: Object.keys(r.rttsMs).sort().map((zone) => ({ zone, rtt_ms: r.rttsMs[zone] as number })),
  };
}
