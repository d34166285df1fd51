// The immutable picker: weighted zone choice with local failover, then power-of-two-choices least-request inside the zone.
import type { EndpointRef, Pick, PickExclude, PickFlag, Picker, PickRequest, Random } from '../types.ts';
import { anyEjected, isEjected, type OutlierState } from './outlier.ts';
import { failoverShares, listedZones, rowTotal, type ZoneRow, type ZoneShares } from './failover.ts';

/** Everything a picker is built from. The picker keeps references; callers must not mutate what they pass. */
export interface PickerInput {
  /** The destination's endpoints per zone; subsets select from these by labels. */
  readonly endpointsByZone: ReadonlyMap<string, readonly EndpointRef[]>;
  /** This sidecar's weight row for the destination, in basis points. Zones with weight 0 are standby targets. */
  readonly weights: Readonly<Record<string, number>>;
  /** Failover tier per zone of the row (0 nearest); absent: every zone of `weights` is tier 0. */
  readonly tiers?: Readonly<Record<string, number>>;
  /** Residency: never pick a zone outside `weights`/`tiers`; when none can serve, answer MESHFED_E_NO_ALLOWED_ZONE. */
  readonly exclusive?: boolean;
  /** Why the row gives no zone a share; a row whose shares sum to 0 with a reason is unavailable with it. */
  readonly unavailableReason?: string;
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

/** One zone drawn from shares (a failoverShares result). */
function drawZone(shares: ZoneShares, random: Random): string | undefined {
  const n = shares.zones.length;
  if (n <= 1) return shares.zones[0];
  let total = 0;
  for (let i = 0; i < n; i++) total += shares.shares[i] as number;
  let r = random() * total;
  for (let i = 0; i < n - 1; i++) {
    r -= shares.shares[i] as number;
    if (r < 0) return shares.zones[i];
  }
  return shares.zones[n - 1];
}

/** The flags of a pick from `shares` in a pass (the pass's own flag first, as the access log has always shown them). */
function flagsOf(shares: ZoneShares, passFlag: PickFlag | undefined): PickFlag[] {
  const flags: PickFlag[] = [];
  if (passFlag) flags.push(passFlag);
  if (shares.unlisted) flags.push('unweighted-spill');
  if (shares.failover) flags.push('failover');
  return flags;
}

/**
 * Builds a picker. Zone choice: weighted random over the shares failoverShares (failover.ts) gives for the zones
 * that have an available endpoint (not ejected, not unreachable, not excluded): a zone whose endpoints are all out
 * hands its share at once to the nearest tier that can serve ('failover'), then to zones outside the row
 * ('unweighted-spill', never when exclusive). When nothing is left, in order of relaxation: excluded zones and
 * endpoints ('excluded-relaxed'); ejected endpoints ('panic': every endpoint ejected means the detector, not the
 * fleet, is more likely wrong). Unreachable endpoints are never picked. An exclusive row that cannot be served is
 * unavailable with code MESHFED_E_NO_ALLOWED_ZONE.
 */
export function buildPicker(input: PickerInput): Picker {
  const row: ZoneRow = { weights: input.weights, ...(input.tiers ? { tiers: input.tiers } : {}), ...(input.exclusive ? { exclusive: true } : {}) };
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
  const ready = input.ready ?? true;
  const noShare = input.unavailableReason !== undefined && listedZones(row).length > 0 && rowTotal(row) === 0;
  const unavailable = (reason: string): Pick => (input.exclusive
    ? { kind: 'unavailable', reason: input.unavailableReason ?? `no zone this source may use (${listedZones(row).join(', ') || 'none'}) can serve: ${reason}`, code: 'MESHFED_E_NO_ALLOWED_ZONE' }
    : { kind: 'unavailable', reason: input.unavailableReason !== undefined ? `${reason} (${input.unavailableReason})` : reason });
  // The common case (nothing ejected, excluded or unreachable) needs no filtering: its shares are precomputed.
  const fast = new Map<string, { shares: ZoneShares; flags: PickFlag[] } | undefined>();
  for (const [name, table] of bySubset) {
    const shares = failoverShares(row, zones.filter((z) => (table.get(z)?.length ?? 0) > 0));
    fast.set(name, shares && { shares, flags: flagsOf(shares, undefined) });
  }

  return {
    pick(request: PickRequest, exclude: PickExclude = NO_EXCLUDE): Pick {
      if (!ready) return { kind: 'queue' };
      if (noShare) return input.exclusive
        ? { kind: 'unavailable', reason: input.unavailableReason as string, code: 'MESHFED_E_NO_ALLOWED_ZONE' }
        : { kind: 'unavailable', reason: input.unavailableReason as string };
      const table = bySubset.get(request.subset ?? '');
      if (!table) return { kind: 'unavailable', reason: `unknown subset "${request.subset}"` };
      const ejections = input.outlier !== undefined && anyEjected(input.outlier, request.now);
      const unreachable = input.unreachable;
      if (!ejections && !unreachable?.size && exclude.endpoints.size === 0 && exclude.zones.size === 0) {
        const f = fast.get(request.subset ?? '');
        const zone = f && drawZone(f.shares, input.random);
        if (f && zone !== undefined) {
          const endpoint = p2c(table.get(zone) as EndpointRef[], input.inFlight, input.random) as EndpointRef;
          return f.flags.length > 0 ? { kind: 'complete', endpoint, zone, flags: f.flags } : { kind: 'complete', endpoint, zone };
        }
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

      let total = 0;
      for (const z of zones) total += (table.get(z) ?? []).length;
      if (total === 0) return unavailable(request.subset ? `no endpoints in subset "${request.subset}"` : 'no endpoints');
      // Tried in order; the first pass whose shares name a zone wins.
      const passes: { exclude: boolean; ejection: boolean; flag?: PickFlag }[] = [
        { exclude: true, ejection: true },
        { exclude: false, ejection: true, flag: 'excluded-relaxed' },
        { exclude: false, ejection: false, flag: 'panic' },
      ];
      for (const pass of passes) {
        const candidates = new Map<string, EndpointRef[]>();
        for (const z of zones) {
          if (pass.exclude && exclude.zones.has(z)) continue;
          const eps = available(z, pass.exclude, pass.ejection);
          if (eps.length > 0) candidates.set(z, eps);
        }
        if (candidates.size === 0) continue;
        const shares = failoverShares(row, [...candidates.keys()]);
        const zone = shares && drawZone(shares, input.random);
        if (!shares || zone === undefined) continue;
        const endpoint = p2c(candidates.get(zone) as EndpointRef[], input.inFlight, input.random) as EndpointRef;
        const flags = flagsOf(shares, pass.flag);
        return flags.length > 0 ? { kind: 'complete', endpoint, zone, flags } : { kind: 'complete', endpoint, zone };
      }
      return unavailable('every endpoint is unreachable');
    },
  };
}
