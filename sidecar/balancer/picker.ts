// The immutable picker: weighted zone choice with local failover, then power-of-two-choices least-request inside the zone.
import type { EndpointRef, Pick, PickExclude, PickFlag, Picker, PickRequest, Random } from '../types.ts';
import { anyEjected, isEjected, type OutlierState } from './outlier.ts';

/** Everything a picker is built from. The picker keeps references; callers must not mutate what they pass. */
export interface PickerInput {
  /** The destination's endpoints per zone; subsets select from these by labels. */
  readonly endpointsByZone: ReadonlyMap<string, readonly EndpointRef[]>;
  /** This sidecar's weight row for the destination, in basis points. Zones with weight 0 are a last resort only. */
  readonly weights: Readonly<Record<string, number>>;
  /** Named label selectors. */
  readonly subsets?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly outlier?: OutlierState;
  /** Endpoints the I/O side knows cannot be reached right now (e.g. the pool reports them down). */
  readonly unreachable?: ReadonlySet<string>;
  /** Live count of requests in flight per endpoint id: read, never written, by the picker. */
  readonly inFlight: (endpointId: string) => number;
  readonly random: Random;
  /** The east-west SNI for a subset, so endpoints reached via a gateway name the subset picked. */
  readonly gatewaySni?: (subset: string) => string;
  /** False until the first endpoint set arrived: picks queue instead of failing. */
  readonly ready?: boolean;
}

/** Weighted random choice over `weights`, ignoring entries with weight ≤ 0; undefined when nothing has weight. */
export function weightedChoice<T>(items: readonly T[], weightOf: (item: T) => number, random: Random): T | undefined {
  let total = 0;
  for (const it of items) {
    const w = weightOf(it);
    if (w > 0) total += w;
  }
  if (total <= 0) return undefined;
  let r = random() * total;
  let last: T | undefined;
  for (const it of items) {
    const w = weightOf(it);
    if (w <= 0) continue;
    last = it;
    if (r < w) return it;
    r -= w;
  }
  return last;
}

/**
 * Power of two choices, least request: two distinct endpoints at random, the one with fewer requests in flight wins
 * (the first on a tie). One endpoint is returned as is.
 */
export function p2c(endpoints: readonly EndpointRef[], inFlight: (id: string) => number, random: Random): EndpointRef | undefined {
  const n = endpoints.length;
  if (n <= 1) return endpoints[0];
  const i = Math.min(n - 1, Math.floor(random() * n));
  let j = Math.min(n - 2, Math.floor(random() * (n - 1)));
  if (j >= i) j++;
  const a = endpoints[i] as EndpointRef;
  const b = endpoints[j] as EndpointRef;
  return inFlight(b.id) < inFlight(a.id) ? b : a;
}

function matchesSelector(ep: EndpointRef, selector: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(selector)) if (ep.labels?.[k] !== v) return false;
  return true;
}

const NO_EXCLUDE: PickExclude = { endpoints: new Set(), zones: new Set() };

/**
 * Builds a picker. Zone choice: weighted random over the zones that have an available endpoint (not ejected, not
 * unreachable, not excluded), so a zone whose endpoints are all out spills at once to the others in proportion to
 * their weights (local failover). Then, in order of relaxation when nothing is left:
 * zones with weight 0 ('unweighted-spill'); excluded zones and endpoints ('excluded-relaxed'); ejected endpoints
 * ('panic': every endpoint ejected means the detector, not the fleet, is more likely wrong).
 */
export function buildPicker(input: PickerInput): Picker {
  const zones = [...input.endpointsByZone.keys()].sort();
  const bySubset = new Map<string, ReadonlyMap<string, readonly EndpointRef[]>>();
  bySubset.set('', input.endpointsByZone);
  for (const [name, selector] of Object.entries(input.subsets ?? {})) {
    const m = new Map<string, readonly EndpointRef[]>();
    const sni = input.gatewaySni?.(name);
    for (const [zone, eps] of input.endpointsByZone) {
      m.set(zone, eps.filter((e) => matchesSelector(e, selector)).map((e) => (e.viaGateway && sni !== undefined ? { ...e, viaGateway: { ...e.viaGateway, sni } } : e)));
    }
    bySubset.set(name, m);
  }
  const weightOf = (zone: string): number => input.weights[zone] ?? 0;
  const ready = input.ready ?? true;
  // The common case (nothing ejected, excluded or unreachable) needs no filtering: its zone lists are precomputed.
  const fastZones = new Map<string, string[]>();
  for (const [name, table] of bySubset) fastZones.set(name, zones.filter((z) => weightOf(z) > 0 && (table.get(z)?.length ?? 0) > 0));

  return {
    pick(request: PickRequest, exclude: PickExclude = NO_EXCLUDE): Pick {
      if (!ready) return { kind: 'queue' };
      const table = bySubset.get(request.subset ?? '');
      if (!table) return { kind: 'unavailable', reason: `unknown subset "${request.subset}"` };
      const ejections = input.outlier !== undefined && anyEjected(input.outlier, request.now);
      const unreachable = input.unreachable;
      if (!ejections && !unreachable?.size && exclude.endpoints.size === 0 && exclude.zones.size === 0) {
        const fast = fastZones.get(request.subset ?? '') as string[];
        const zone = weightedChoice(fast, weightOf, input.random);
        if (zone !== undefined) return { kind: 'complete', endpoint: p2c(table.get(zone) as EndpointRef[], input.inFlight, input.random) as EndpointRef, zone };
      }

      const available = (zone: string, honourExclude: boolean, honourEjection: boolean): EndpointRef[] => {
        const eps = table.get(zone) ?? [];
        if (!honourExclude && (!honourEjection || !ejections) && !unreachable?.size) return eps as EndpointRef[];
        return eps.filter(
          (e) =>
            !(honourExclude && exclude.endpoints.has(e.id)) &&
            !(honourEjection && ejections && isEjected(input.outlier as OutlierState, e.id, request.now)) &&
            !unreachable?.has(e.id),
        );
      };

      // Tried in order; the first pass that finds a zone wins. Unreachable endpoints are never picked.
      const passes: { exclude: boolean; ejection: boolean; weighted: boolean; flag?: PickFlag }[] = [
        { exclude: true, ejection: true, weighted: true },
        { exclude: true, ejection: true, weighted: false, flag: 'unweighted-spill' },
        { exclude: false, ejection: true, weighted: true, flag: 'excluded-relaxed' },
        { exclude: false, ejection: true, weighted: false, flag: 'excluded-relaxed' },
        { exclude: false, ejection: false, weighted: true, flag: 'panic' },
        { exclude: false, ejection: false, weighted: false, flag: 'panic' },
      ];
      let total = 0;
      for (const z of zones) total += (table.get(z) ?? []).length;
      if (total === 0) return { kind: 'unavailable', reason: request.subset ? `no endpoints in subset "${request.subset}"` : 'no endpoints' };

      for (const pass of passes) {
        const candidates = new Map<string, EndpointRef[]>();
        for (const z of zones) {
          if (pass.exclude && exclude.zones.has(z)) continue;
          const eps = available(z, pass.exclude, pass.ejection);
          if (eps.length > 0) candidates.set(z, eps);
        }
        if (candidates.size === 0) continue;
        const names = [...candidates.keys()];
        let zone: string | undefined;
        if (pass.weighted) zone = weightedChoice(names, weightOf, input.random);
        // Unweighted passes spread evenly over zones nobody gave weight to.
        else zone = names.some((z) => weightOf(z) > 0) ? undefined : names[Math.min(names.length - 1, Math.floor(input.random() * names.length))];
        if (zone === undefined) continue;
        const endpoint = p2c(candidates.get(zone) as EndpointRef[], input.inFlight, input.random) as EndpointRef;
        const flags: PickFlag[] = [];
        if (pass.flag) flags.push(pass.flag);
        // Failover: the zone weighted choice would have reached includes zones that had nothing to offer.
        if (zones.some((z) => weightOf(z) > 0 && !candidates.has(z))) flags.push('failover');
        return flags.length > 0 ? { kind: 'complete', endpoint, zone, flags } : { kind: 'complete', endpoint, zone };
      }
      return { kind: 'unavailable', reason: 'every endpoint is unreachable' };
    },
  };
}
