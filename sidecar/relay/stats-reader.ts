// Reads a running sidecar's metrics into per-window SidecarStats lists (the I/O edge of stats.ts).
import type { SidecarMetrics } from '../server/metrics.ts';
import type { ServiceStats } from '../../api/generated/meshfed/v1/ServiceStats.ts';
import { NO_TOTALS, totalsFrom, windowStats, type PromSample, type StatsSamples, type Totals } from './stats.ts';

/** The samples of every metric stats.ts reads, taken now. */
export async function statsSamples(m: SidecarMetrics): Promise<StatsSamples> {
  const [tries, tryDuration, tryInFlight, local, served, servedDuration, servedInFlight, zoneEndpoints] = await Promise.all(
    [m.tries, m.tryDuration, m.triesInFlight, m.localFailures, m.served, m.servedDuration, m.servedInFlight, m.zoneEndpoints].map(async (x) => (await x.get()).values as PromSample[]),
  );
  return { tries: tries!, tryDuration: tryDuration!, tryInFlight: tryInFlight!, local: local!, served: served!, servedDuration: servedDuration!, servedInFlight: servedInFlight!, zoneEndpoints: zoneEndpoints! };
}

/** What one call of a window reader returns: SidecarStats' `services` (ASKED) and `served` (SERVED). */
export interface StatsWindow {
  readonly services: ServiceStats[];
  readonly served: ServiceStats[];
}

/** A reader whose every call returns the window since its previous call (the first: since the sidecar started). */
export function windowReader(metrics: () => SidecarMetrics | undefined): () => Promise<StatsWindow> {
  let prev: Totals = NO_TOTALS;
  return async () => {
    const m = metrics();
    if (!m) return { services: [], served: [] };
    const cur = totalsFrom(await statsSamples(m));
    const out = windowStats(prev, cur);
    prev = cur;
    return out;
  };
}
