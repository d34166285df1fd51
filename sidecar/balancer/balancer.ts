// The picker source: holds per-service endpoints, weights, outlier state and in-flight counts, and republishes pickers on change.
import type { SidecarConfig } from '../../api/sidecar-config.ts';
import type { EndpointRef, Outcome, Picker, Random } from '../types.ts';
import { endpointsFor, rowFor, sniFor, type ServiceRow } from './endpoints.ts';
import { createOutlierState, isEjected, nextUnejection, recordOutcome, rejoining, unejectRecovered, withEndpoints, type OutlierEvent, type OutlierState } from './outlier.ts';
import { buildPicker } from './picker.ts';

/** What the balancer layer needs: a current picker per service, and a place to report attempts. */
export interface PickerSource {
  /** The current immutable picker for a destination service, or undefined for an unknown service. */
  picker(service: string): Picker | undefined;
  /** An attempt to `endpoint` starts (counts toward least-request). */
  begin(endpoint: EndpointRef): void;
  /** The attempt ended; feeds outlier detection. Returns what the detector did, for metrics. */
  end(service: string, endpoint: EndpointRef, outcome: Outcome, now: number): OutlierEvent | undefined;
}

/** The picker source the sidecar uses, fed by config (file or zone-agent stream). */
export interface Balancer extends PickerSource {
  /**
   * Applies a new config; outlier history of endpoints that remain is kept. An endpoint that comes back into the set
   * (the zone agent relays only endpoints its active health checks find ready, so it left as unhealthy and returns
   * healthy) is un-ejected at `now` (outlier.ts unejectRecovered), keeping its ejection multiplier.
   */
  update(config: SidecarConfig, now?: number): void;
  /** Marks endpoints the I/O side found unreachable (replaces the previous set for that service). */
  setUnreachable(service: string, ids: ReadonlySet<string>): void;
  /** Requests in flight to an endpoint. */
  inFlight(endpointId: string): number;
  /** The outlier state of a service (for /config_dump and /stats). */
  outlier(service: string): OutlierState | undefined;
  /**
   * Per service and destination zone: endpoints known, and ejected by outlier detection or unreachable, at `now`;
   * and how many ejections a passed health check ended so far (`unejected`, a running total). A zone with no endpoint
   * now is listed (known 0) only while it has such a total, so that counter's series does not come and go.
   */
  zoneEndpoints(now: number): { service: string; zone: string; known: number; ejected: number; unejected: number }[];
  /** When the next ejection ends, if any (informational: pickers need no republish for it, they read `now`). */
  nextUnejection(now: number): number | undefined;
}

interface ServiceSlot {
  endpoints: Map<string, EndpointRef[]>;
  row: ServiceRow;
  subsets: Readonly<Record<string, Readonly<Record<string, string>>>>;
  sni: (subset: string) => string;
  outlier: OutlierState;
  unreachable: ReadonlySet<string>;
  picker: Picker | undefined;
}

/** Creates the balancer for a sidecar in `zone`. `random` drives zone and endpoint choice. */
export function createBalancer(options: { zone: string; random: Random; config?: SidecarConfig }): Balancer {
  const slots = new Map<string, ServiceSlot>();
  const counts = new Map<string, number>();
  // service -> zone -> ejections ended by a passed health check (a running total: never reset, never dropped).
  const unejected = new Map<string, Map<string, number>>();
  const inFlight = (id: string): number => counts.get(id) ?? 0;

  const rebuild = (slot: ServiceSlot): Picker => {
    const p = buildPicker({
      endpointsByZone: slot.endpoints,
      weights: slot.row.weights,
      ...(slot.row.tiers ? { tiers: slot.row.tiers } : {}),
      exclusive: slot.row.exclusive,
      ...(slot.row.unavailableReason !== undefined ? { unavailableReason: slot.row.unavailableReason } : {}),
      subsets: slot.subsets,
      outlier: slot.outlier,
      unreachable: slot.unreachable,
      inFlight,
      random: options.random,
      gatewaySni: slot.sni,
    });
    slot.picker = p;
    return p;
  };

  const balancer: Balancer = {
    update(config, now = Date.now()) {
      const seen = new Set<string>();
      for (const [name, svc] of Object.entries(config.services)) {
        seen.add(name);
        const endpoints = endpointsFor(config, name, options.zone);
        const all = [...endpoints.values()].flat();
        const od = svc.policy.outlierDetection;
        const old = slots.get(name);
        let outlier = old ? withEndpoints(old.outlier, all, od) : createOutlierState(od, all);
        if (old) {
          const r = unejectRecovered(outlier, rejoining(old.outlier, all), now);
          outlier = r.state;
          for (const u of r.unejected) {
            const zones = unejected.get(name) ?? new Map<string, number>();
            zones.set(u.zone, (zones.get(u.zone) ?? 0) + 1);
            unejected.set(name, zones);
          }
        }
        slots.set(name, {
          endpoints,
          row: rowFor(svc),
          subsets: svc.subsets,
          sni: sniFor(name, svc.port),
          outlier,
          unreachable: old?.unreachable ?? new Set(),
          picker: undefined,
        });
      }
      for (const name of [...slots.keys()]) if (!seen.has(name)) slots.delete(name);
    },
    setUnreachable(service, ids) {
      const slot = slots.get(service);
      if (!slot) return;
      slot.unreachable = ids;
      slot.picker = undefined;
    },
    picker(service) {
      const slot = slots.get(service);
      if (!slot) return undefined;
      return slot.picker ?? rebuild(slot);
    },
    begin(endpoint) {
      counts.set(endpoint.id, inFlight(endpoint.id) + 1);
    },
    end(service, endpoint, outcome, now) {
      const n = inFlight(endpoint.id) - 1;
      if (n > 0) counts.set(endpoint.id, n);
      else counts.delete(endpoint.id);
      const slot = slots.get(service);
      if (!slot) return undefined;
      const r = recordOutcome(slot.outlier, endpoint.id, outcome, now);
      if (r.state !== slot.outlier) {
        // Counters changing do not change picks; only a new ejection does, so only then is a new picker published.
        slot.outlier = r.state;
        if (r.event?.kind === 'ejected') slot.picker = undefined;
      }
      return r.event;
    },
    inFlight,
    outlier: (service) => slots.get(service)?.outlier,
    zoneEndpoints(now) {
      const out: { service: string; zone: string; known: number; ejected: number; unejected: number }[] = [];
      for (const [service, slot] of slots) {
        const totals = unejected.get(service);
        for (const [zone, eps] of slot.endpoints) {
          if (eps.length === 0) continue;
          const ejected = eps.filter((e) => isEjected(slot.outlier, e.id, now) || slot.unreachable.has(e.id)).length;
          out.push({ service, zone, known: eps.length, ejected, unejected: totals?.get(zone) ?? 0 });
        }
      }
      for (const [service, zones] of unejected) {
        for (const [zone, n] of zones) {
          if ((slots.get(service)?.endpoints.get(zone)?.length ?? 0) === 0) out.push({ service, zone, known: 0, ejected: 0, unejected: n });
        }
      }
      return out;
    },
    nextUnejection(now) {
      let min: number | undefined;
      for (const s of slots.values()) {
        const t = nextUnejection(s.outlier, now);
        if (t !== undefined && (min === undefined || t < min)) min = t;
      }
      return min;
    },
  };
  if (options.config) balancer.update(options.config);
  return balancer;
}
