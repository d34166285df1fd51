// Reason text both weight engines share for the in-tier terms (latency, load, cost, cross-cloud cap) and for rows no zone can serve.
import { percent } from './eligibility.ts';
import { costFactor, latencyFactor, PAIR_NAMES, type Params, type ServedTerms } from './params.ts';
import type { ServiceStats } from './types.ts';

/** One destination as the term reasons read it. */
export interface TermTarget extends ServedTerms {
  readonly name: string;
  readonly stats: ServiceStats | undefined;
}

/** One source's view of its destinations: tier, rtt (0: unknown), proximity and pair factor `lat` (0: not allowed) per target. */
export interface TermRow {
  readonly tiers: readonly number[];
  readonly rtt: readonly number[];
  readonly prox: readonly number[];
  readonly lat: readonly number[];
}

const ms = (x: number): string => `${Math.round(x)} ms`;

/**
 * The reasons for target e's in-tier terms, e.g. "latency discount to 7% (effective 640 ms: rtt 12 + p50 40 +
 * (p99 2410 − 40)/4), vs 38 ms in us-east-1b", "hot: 120% utilised (> target 80%), share ×67%",
 * "egress cost 10 (crossCloud), share ×50%". Terms that change no share are left out: latency when there is no rtt
 * and no faster tier-mate, cost when no tier-mate is cheaper (except across clouds, always shown).
 */
export function termReasons(p: Params, row: TermRow, targets: readonly TermTarget[], e: number): string[] {
  const parts: string[] = [];
  const t = targets[e]!;
  const rtt = row.rtt[e]!;
  const latF = latencyFactor(p, rtt, t.servedMs);
  // Inside a tier only ratios matter: the faster and the cheaper allowed tier-mates are what a share is weighed against.
  let best = -1;
  let bestEff = Infinity;
  let cheaper = false;
  for (let x = 0; x < targets.length; x++) {
    if (x === e || row.tiers[x] !== row.tiers[e] || row.lat[x]! <= 0) continue;
    const other = row.rtt[x]! + targets[x]!.servedMs;
    if (other < bestEff) {
      bestEff = other;
      best = x;
    }
    if (p.cost[row.prox[x]!]! < p.cost[row.prox[e]!]!) cheaper = true;
  }
  const eff = rtt + t.servedMs;
  const slower = best >= 0 && latF / latencyFactor(p, row.rtt[best]!, targets[best]!.servedMs) < 0.95;
  if (latF < 0.95 && (rtt > 0 || slower)) {
    const s = t.stats;
    let how = `rtt ${Math.round(rtt)}`;
    if (s?.latencyP50Ms !== undefined) how += ` + p50 ${Math.round(s.latencyP50Ms)}`;
    if (s?.latencyP99Ms !== undefined) how += ` + (p99 ${Math.round(s.latencyP99Ms)} − ${Math.round(s.latencyP50Ms ?? 0)})/4`;
    let text = `latency discount to ${percent(latF)} (effective ${ms(eff)}: ${how})`;
    if (slower) text += `, vs ${ms(bestEff)} in ${targets[best]!.name}`;
    parts.push(text);
  }
  if (t.load < 1) parts.push(`hot: ${percent(t.util)} utilised (> target ${percent(p.u)}), share ×${percent(t.load)}`);
  const prox = row.prox[e]!;
  const costF = costFactor(p, prox);
  if (costF < 1 && (cheaper || prox === 3)) parts.push(`egress cost ${p.cost[prox]} (${PAIR_NAMES[prox]}), share ×${percent(costF)}`);
  return parts;
}

/** The reason of a target whose share the cross-cloud cap changed. */
export function capReason(p: Params, crossCloud: boolean): string {
  const cap = percent(p.maxCrossShare);
  return crossCloud ? `cross-cloud share capped at ${cap} (crossCloud.maxShare)` : `takes what the cross-cloud cap (${cap}) keeps in the source's cloud`;
}

/** What a row restricted by residency rule `rule` may use, for --explain: "residency (from gcp/*): allows gcp/europe-west1/* only". */
export function residencyText(p: Params, rule: number): string {
  const r = p.residency[rule]!;
  return `residency (from ${r.fromText}) allows ${r.allowText.join(', ')} only`;
}

/**
 * Why a row has no share at all: the residency restriction (when there is one) and why each listed zone is out, e.g.
 * "no allowed zone can serve: residency (from gcp/*) allows gcp/europe-west1/* only; europe-west1-b drained by operator".
 */
export function unavailableReason(p: Params, rule: number, outs: readonly { readonly name: string; readonly reason: string }[]): string {
  const head = rule >= 0 ? `no allowed zone can serve: ${residencyText(p, rule)}` : 'no zone can serve';
  const why = outs.length > 0 ? outs.map((o) => `${o.name} ${o.reason.replace(/^out — /, '')}`).join('; ') : rule >= 0 ? 'no allowed zone has the service' : 'no zone has the service';
  return `${head}; ${why}`;
}
