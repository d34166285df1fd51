// Pure: where a weight row's traffic goes once zones without a healthy endpoint are taken out, tier by tier (grpc-js-xds priority style).

/** A destination's weight row as this sidecar holds it (sidecar config `weights`, `tiers`, `exclusive`). */
export interface ZoneRow {
  /** Basis points per listed zone; 0 marks a standby zone. */
  readonly weights: Readonly<Record<string, number>>;
  /** Failover tier per listed zone, 0 nearest. A zone of `weights` missing here is tier 0; a zone only here is a standby. */
  readonly tiers?: Readonly<Record<string, number>>;
  /** Residency: zones outside the row may never be used. */
  readonly exclusive?: boolean;
}

/** The zones to pick from with their shares (parallel arrays, shares > 0), and how they differ from the row. */
export interface ZoneShares {
  readonly zones: readonly string[];
  readonly shares: readonly number[];
  /** A zone with a share could not serve, and its share moved to another zone. */
  readonly failover: boolean;
  /** Only zones outside the row could serve (never with `exclusive`). */
  readonly unlisted: boolean;
}

/** The zones a row lists: those of `weights` and of `tiers`, sorted. */
export function listedZones(row: ZoneRow): string[] {
  return [...new Set([...Object.keys(row.weights), ...Object.keys(row.tiers ?? {})])].sort();
}

/** The sum of the row's shares; 0 means the row gives no zone any traffic. */
export function rowTotal(row: ZoneRow): number {
  let total = 0;
  for (const v of Object.values(row.weights)) if (v > 0) total += v;
  return total;
}

/**
 * The shares to pick from when only the zones in `serving` (sorted; each has at least one endpoint it may use) can
 * take traffic. Rules, in order:
 * 1. A listed zone that serves keeps its share.
 * 2. The shares of listed zones that cannot serve (and the whole row when its shares sum to 0) go to the lowest tier
 *    that has a serving listed zone, so traffic never jumps to a farther tier (another region, another cloud) while
 *    a nearer one can serve. Inside that tier they are split by the zones' own shares, evenly when none has one.
 * 3. When no listed zone serves: zones outside the row, evenly ('unlisted'), unless the row is exclusive.
 * Undefined when nothing can take the traffic.
 */
export function failoverShares(row: ZoneRow, serving: readonly string[]): ZoneShares | undefined {
  const tiers = row.tiers ?? {};
  const listed = (z: string): boolean => row.weights[z] !== undefined || tiers[z] !== undefined;
  const share = (z: string): number => Math.max(0, row.weights[z] ?? 0);
  const tierOf = (z: string): number => tiers[z] ?? 0;
  const servingSet = new Set(serving);
  let total = 0;
  let orphan = 0;
  for (const z of listedZones(row)) {
    const s = share(z);
    total += s;
    if (!servingSet.has(z)) orphan += s;
  }
  if (total === 0) orphan = 1;
  const candidates = serving.filter(listed);
  if (candidates.length === 0) {
    if (row.exclusive) return undefined;
    const others = serving.filter((z) => !listed(z));
    if (others.length === 0) return undefined;
    return { zones: others, shares: others.map(() => 1), failover: total > 0, unlisted: true };
  }
  const out = new Map<string, number>();
  for (const z of candidates) out.set(z, share(z));
  if (orphan > 0) {
    let nearest = Infinity;
    for (const z of candidates) nearest = Math.min(nearest, tierOf(z));
    const tier = candidates.filter((z) => tierOf(z) === nearest);
    const tierShare = tier.reduce((s, z) => s + share(z), 0);
    for (const z of tier) out.set(z, (out.get(z) ?? 0) + (tierShare > 0 ? (orphan * share(z)) / tierShare : orphan / tier.length));
  }
  const zones = candidates.filter((z) => (out.get(z) ?? 0) > 0);
  return { zones, shares: zones.map((z) => out.get(z) as number), failover: total > 0 && orphan > 0, unlisted: false };
}
