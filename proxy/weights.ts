// Pure mapping of meshfed's basis points (zone shares) times endpoint shares onto HAProxy's integer server weights 0..256.

/** HAProxy's largest server weight. */
export const HAPROXY_MAX_WEIGHT = 256;

/**
 * Integer weights whose ratios follow `shares` (any non-negative numbers, e.g. zone basis points / endpoints of the
 * zone). The largest share gets `max`; the others are scaled the same way and rounded by largest remainder, so the
 * rounded total equals the exact total (rounded) and each weight is within 1 of its exact value. A share > 0 never
 * becomes 0 (a 0.01% zone keeps a trickle, as the Node sidecar's picker gives it), and a share of 0 stays 0.
 *
 * Error bound: the exact total E is at least `max` (the largest share alone is `max`), so each server's traffic share
 * is off by less than 1/E ≤ 1/256 ≈ 0.39 percentage points, and a zone of n servers by less than n/E (in practice much
 * less: remainders go to the largest fractions first). Example: rows 9900/100 bp over one server each → weights
 * 256 and 3 → 98.8% and 1.16%.
 */
export function haproxyWeights(shares: readonly number[], max = HAPROXY_MAX_WEIGHT): number[] {
  const top = Math.max(0, ...shares);
  if (top <= 0) return shares.map(() => 0);
  const exact = shares.map((s) => (s > 0 ? (s * max) / top : 0));
  const out = exact.map((x) => Math.floor(x));
  const target = Math.round(exact.reduce((a, b) => a + b, 0));
  let given = out.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).filter((x) => x.r > 0).sort((a, b) => b.r - a.r || a.i - b.i);
  for (let k = 0; given < target && k < order.length; k++, given++) out[order[k]!.i]! += 1;
  return out.map((w, i) => ((shares[i] as number) > 0 ? Math.min(max, Math.max(1, w)) : 0));
}

/** The traffic share (0..1) each weight gets under weighted round robin. */
export function sharesOf(weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => (sum > 0 ? w / sum : 0));
}
