// The fill rules both weight engines share: capacity-based spillover, the nearest-tier split and distribute overrides.
import { matches, EPS, zeros, type DistributeRule, type DistributeTarget } from './params.ts';
import type { Locality } from '../../api/locality.ts';

/** What the fill reads and writes of one source's plan. `lat` is the pair factor (0: residency forbids the zone). */
export interface FillPlan {
  readonly weights: number[];
  readonly tiers: number[];
  readonly lat: number[];
  overflow: number[] | undefined;
}

/** A plan with a distribute rule, as distributeInto reads it. */
export interface DistributePlan extends FillPlan {
  readonly demand: number;
  readonly rule: DistributeRule | undefined;
  failed: readonly DistributeTarget[];
  failover: number[] | undefined;
}

/**
 * Capacity-based fill with spillover, for several sources sharing zone capacity. Demand is placed tier by tier;
 * each zone grants requests up to its remaining offer, splitting it in proportion to what each source asked, and
 * what a tier cannot take spills to the next. Inside a tier a source asks each zone in proportion to its remaining
 * offer × latency factor. Demand left after the last tier (everything is at target utilisation) overflows over
 * every eligible zone in proportion to capacity × latency factor. Mutates `remaining` and each plan's arrays.
 */
export function fill(demands: readonly number[], plans: readonly FillPlan[], remaining: number[], caps: number[]): number[][] {
  const n = remaining.length;
  const left = demands.slice();
  const alloc = plans.map(() => zeros(n));
  let maxTier = 0;
  for (const p of plans) for (let e = 0; e < n; e++) maxTier = Math.max(maxTier, p.tiers[e]!);
  const req = plans.map(() => zeros(n));
  const asked = zeros(n);
  for (let k = 0; k <= maxTier; k++) {
    // A few passes let demand that one saturated zone refused reach its tier-mates that still have room.
    for (let pass = 0; pass < 4; pass++) {
      asked.fill(0);
      let any = false;
      for (let s = 0; s < plans.length; s++) {
        if (left[s]! <= EPS) continue;
        const { tiers, lat } = plans[s]!;
        let wsum = 0;
        for (let e = 0; e < n; e++) if (tiers[e] === k && remaining[e]! > EPS) wsum += remaining[e]! * lat[e]!;
        const r = req[s]!;
        if (wsum <= 0) {
          r.fill(0);
          continue;
        }
        any = true;
        for (let e = 0; e < n; e++) {
          const q = tiers[e] === k && remaining[e]! > EPS ? (left[s]! * remaining[e]! * lat[e]!) / wsum : 0;
          r[e] = q;
          asked[e] += q;
        }
      }
      if (!any) break;
      let granted = 0;
      for (let s = 0; s < plans.length; s++) {
        if (left[s]! <= EPS) continue;
        const r = req[s]!;
        const a = alloc[s]!;
        for (let e = 0; e < n; e++) {
          if (r[e]! <= 0) continue;
          const g = asked[e]! > remaining[e]! ? (r[e]! * remaining[e]!) / asked[e]! : r[e]!;
          a[e] += g;
          left[s] -= g;
          granted += g;
        }
      }
      for (let e = 0; e < n; e++) if (asked[e]! > 0) remaining[e] = Math.max(0, remaining[e]! - Math.min(asked[e]!, remaining[e]!));
      if (granted <= EPS) break;
    }
  }
  for (let s = 0; s < plans.length; s++) {
    const a = alloc[s]!;
    const plan = plans[s]!;
    if (left[s]! > EPS * Math.max(1, demands[s]!)) {
      let wsum = 0;
      for (let e = 0; e < n; e++) wsum += caps[e]! * plan.lat[e]!;
      if (wsum > 0) {
        const o = plan.overflow ?? zeros(n);
        for (let e = 0; e < n; e++) {
          const x = (left[s]! * caps[e]! * plan.lat[e]!) / wsum;
          a[e] += x;
          o[e] += x;
        }
        plan.overflow = o;
      }
    }
  }
  return alloc;
}

/**
 * Weights for a source with no measured demand: the nearest tier with an allowed eligible zone takes everything,
 * split by spare offer × pair factor. All zeros when residency allows no zone.
 */
export function nearestTier(tiers: number[], lat: number[], remaining: number[], offers: number[], out: number[]): void {
  const n = tiers.length;
  let k = Infinity;
  for (let e = 0; e < n; e++) if (lat[e]! > 0 && tiers[e]! < k) k = tiers[e]!;
  let spare = 0;
  for (let e = 0; e < n; e++) if (tiers[e] === k && lat[e]! > 0) spare += remaining[e]!;
  const basis = spare > EPS ? remaining : offers;
  let wsum = 0;
  for (let e = 0; e < n; e++) if (tiers[e] === k) wsum += basis[e]! * lat[e]!;
  for (let e = 0; e < n; e++) out[e] = tiers[e] === k ? (wsum > 0 ? (basis[e]! * lat[e]!) / wsum : 0) : 0;
  if (wsum <= 0 && k !== Infinity) {
    // Every allowed zone of the tier offers nothing (all ramping from zero cannot happen, but guard): split evenly.
    let c = 0;
    for (let e = 0; e < n; e++) if (tiers[e] === k && lat[e]! > 0) c++;
    for (let e = 0; e < n; e++) out[e] = tiers[e] === k && lat[e]! > 0 ? 1 / c : 0;
  }
}

/**
 * Places a distribute rule's shares; targets with no eligible zone (that residency allows) hand their share to the
 * failover fill.
 */
export function distributeInto(plan: DistributePlan, targets: readonly { readonly loc: Locality }[], remaining: number[], offers: number[], caps: number[]): void {
  const n = targets.length;
  const failed: DistributeTarget[] = [];
  let failedShare = 0;
  for (const to of plan.rule!.to) {
    let spare = 0;
    let cnt = 0;
    for (let e = 0; e < n; e++) {
      if (plan.lat[e]! <= 0 || !matches(to.matcher, targets[e]!.loc)) continue;
      cnt++;
      spare += remaining[e]! * plan.lat[e]!;
    }
    if (cnt === 0) {
      failed.push(to);
      failedShare += to.share;
      continue;
    }
    const basis = spare > EPS ? remaining : offers;
    let wsum = 0;
    for (let e = 0; e < n; e++) if (matches(to.matcher, targets[e]!.loc)) wsum += basis[e]! * plan.lat[e]!;
    for (let e = 0; e < n; e++) {
      if (plan.lat[e]! <= 0 || !matches(to.matcher, targets[e]!.loc)) continue;
      plan.weights[e] += wsum > 0 ? (to.share * basis[e]! * plan.lat[e]!) / wsum : to.share / cnt;
    }
  }
  plan.failed = failed;
  if (failedShare > EPS) {
    const part = zeros(n);
    if (plan.demand > 0) {
      const alloc = fill([plan.demand * failedShare], [{ weights: part, tiers: plan.tiers, lat: plan.lat, overflow: undefined }], remaining.slice(), caps)[0]!;
      let sum = 0;
      for (let e = 0; e < n; e++) sum += alloc[e]!;
      for (let e = 0; e < n; e++) part[e] = sum > 0 ? alloc[e]! / sum : 0;
    } else {
      nearestTier(plan.tiers, plan.lat, remaining, offers, part);
    }
    for (let e = 0; e < n; e++) {
      part[e] = failedShare * part[e]!;
      plan.weights[e] += part[e]!;
    }
    plan.failover = part;
  }
}
