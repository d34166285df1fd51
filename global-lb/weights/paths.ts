// Path verdicts, shared by both weight engines: a source's own asked evidence about a destination outweighs the other callers' (a partition fails a path, not a zone).
import { coreHealth, duration, ejectionQuorum, errorRate, percent, type Admission, type Health, type HealthRules } from './eligibility.ts';
import type { CallerEvidence, PathMemory, ServiceStats, SourceEvidence, ZoneState } from './types.ts';

/** Where one source's verdict about a destination differs from the destination's own (see pathVerdicts). */
export interface PathVerdict {
  readonly source: string;
  readonly eligible: boolean;
  /** For the source's row: why the destination is out for it, or why it stays in although it is out for others. */
  readonly reason: string;
}

/** The path verdicts of one destination, and the path memory it carries to the next round. */
export interface PathResult {
  /**
   * Sorted by source: sources for which the destination's eligibility differs from its own verdict, and sources with a
   * healthy path to a destination eligible for all while other callers' evidence is bad (same eligibility, their own
   * reason).
   */
  readonly exceptions: readonly PathVerdict[];
  /** Absent when no path is out or held down. */
  readonly paths: Readonly<Record<string, PathMemory>> | undefined;
}

const NO_EVIDENCE: readonly SourceEvidence[] = Object.freeze([]);
const NO_NAMES: readonly string[] = Object.freeze([]);
const NO_EXCEPTIONS: PathResult = Object.freeze({ exceptions: Object.freeze([]) as readonly PathVerdict[], paths: undefined });

/** What a source's own evidence says about a destination: nothing (too few requests), healthy, or bad. */
export type OwnVerdict =
  | { readonly kind: 'unknown' }
  | { readonly kind: 'healthy'; readonly rate: number; readonly requests: number }
  | { readonly kind: 'bad'; readonly reason: string };

const PATH_FAILURE = '(a path failure: other callers may reach it)';
const UNKNOWN: OwnVerdict = Object.freeze({ kind: 'unknown' });

/**
 * Judges one source's own evidence with the destination-wide rules: bad when its error rate is above the threshold
 * (from minRequests requests) or at least half of its own sidecars that know the destination ejected every endpoint;
 * healthy when it has minRequests requests under the threshold and no such ejection; otherwise unknown. Errors that
 * are mostly 5xx answers are never a path verdict (unknown): the zone answered, and its answers are judged by the sums.
 */
export function judgeOwn(ev: SourceEvidence | undefined, rules: HealthRules): OwnVerdict {
  if (ev === undefined) return UNKNOWN;
  const rate = errorRate(ev.errors, ev.successes, rules);
  // Mostly 5xx: the zone answered with errors. That is evidence about the zone, which the callers' sums judge for every
  // source alike, not about this source's path.
  const e = ev.errors;
  if (e.http5xx > e.connectFailure + e.timeout + e.reset) return rate !== undefined && rate <= rules.errorRate && !ejectionQuorum(ev.sidecarsEjectingAll, ev.sidecarsKnowing) ? healthy(ev, rate) : UNKNOWN;
  if (rate !== undefined && rate > rules.errorRate) {
    return { kind: 'bad', reason: `error rate ${percent(rate)} > ejection ${percent(rules.errorRate)} seen from ${ev.zone} ${PATH_FAILURE}` };
  }
  if (ejectionQuorum(ev.sidecarsEjectingAll, ev.sidecarsKnowing)) {
    return { kind: 'bad', reason: `every endpoint ejected by the outlier detection of ${ev.sidecarsEjectingAll} of ${ev.sidecarsKnowing} sidecars in ${ev.zone} ${PATH_FAILURE}` };
  }
  if (rate === undefined) return UNKNOWN;
  return healthy(ev, rate);
}

function healthy(ev: SourceEvidence, rate: number): OwnVerdict {
  const e = ev.errors;
  return { kind: 'healthy', rate, requests: ev.successes + e.http5xx + e.connectFailure + e.timeout + e.reset };
}

/** The other callers' evidence (every caller but `source`) would put the zone out: their error rate or ejection quorum. */
function othersBad(c: CallerEvidence | undefined, source: string, own: SourceEvidence | undefined, rules: HealthRules): boolean {
  if (c === undefined) return false;
  const errs = (x: { readonly errors: { readonly http5xx: number; readonly connectFailure: number; readonly timeout: number; readonly reset: number } }): number =>
    x.errors.http5xx + x.errors.connectFailure + x.errors.timeout + x.errors.reset;
  const errors = errs(c) - (own ? errs(own) : 0);
  const successes = c.successes - (own ? own.successes : 0);
  const rate = errorRate({ http5xx: errors, connectFailure: 0, timeout: 0, reset: 0 }, successes, rules);
  if (rate !== undefined && rate > rules.errorRate) return true;
  const ejecting = (c.sidecarsEjectingAll ?? 0) - (own ? own.sidecarsEjectingAll : 0);
  return ejectionQuorum(ejecting, (c.sidecarsKnowing ?? 0) - (own ? own.sidecarsKnowing : 0));
}

/** What the other callers (every caller but `source`) saw, for the reason of a destination kept by its own path. */
function othersText(c: CallerEvidence | undefined, source: string, own: SourceEvidence | undefined, status: string, outReason: string | undefined): string {
  if (c === undefined || status === 'holding') return `it is held down for other callers (was out: ${outReason ?? 'unknown'})`;
  const who = c.sources.filter((z) => z !== source);
  const errs = (x: { readonly errors: { readonly http5xx: number; readonly connectFailure: number; readonly timeout: number; readonly reset: number } }): number =>
    x.errors.http5xx + x.errors.connectFailure + x.errors.timeout + x.errors.reset;
  const errors = errs(c) - (own ? errs(own) : 0);
  const total = errors + c.successes - (own ? own.successes : 0);
  if (total > 0 && errors > 0) return `callers${who.length > 0 ? ` in ${who.join(', ')}` : ''} see ${percent(errors / total)} errors`;
  const ejecting = (c.ejectingSources ?? []).filter((z) => z !== source);
  return `caller sidecars${ejecting.length > 0 ? ` in ${ejecting.join(', ')}` : ''} ejected every endpoint`;
}

/**
 * The path rule, for one destination of one service, judged for every source with own evidence about it (and every
 * source whose path memory is running):
 * - the destination's lease, drains, endpoints and SERVED errors hold for every source (coreHealth): when they put it
 *   out, no path is judged and path memory is dropped;
 * - a source whose own evidence is bad (error rate, or its own sidecars' ejection quorum) has the path out, even when
 *   the destination serves others fine; when its evidence stops being bad the path is held down for holdDown, then
 *   the entry is dropped (no slow start: the destination kept serving others, so only this source's share returns);
 * - a source whose own evidence is healthy keeps a destination that is out (or held down) on the other callers'
 *   evidence alone (`memory.byCallers`): a partition from them is not a failure of the destination; a source with a
 *   healthy path to a destination eligible for all is told so when the other callers' evidence is bad;
 * - every other source follows the destination's own verdict (the summed evidence).
 * Invariants: an exception never makes eligible a destination whose core health is bad; a destination out for a
 * source stays out for holdDown after the source's evidence stops being bad; only sources with own evidence or a
 * running path memory are visited.
 */
export function pathVerdicts(
  zone: Pick<ZoneState, 'alive' | 'drained' | 'leaseGoneForMs'>,
  stats: ServiceStats,
  drainedByPolicy: boolean,
  adm: Admission,
  prev: Readonly<Record<string, PathMemory>> | undefined,
  now: number,
  rules: HealthRules,
  holdDownMs: number,
): PathResult {
  const bySource = stats.callers?.bySource;
  if ((bySource === undefined || bySource.length === 0) && prev === undefined) return NO_EXCEPTIONS;
  const core: Health = coreHealth(zone, stats, drainedByPolicy, rules);
  if (!core.healthy) return NO_EXCEPTIONS;
  const exceptions: PathVerdict[] = [];
  let paths: Record<string, PathMemory> | undefined;
  const byCallers = adm.memory.status !== 'in' && adm.memory.byCallers === true;
  // A merge of the two sorted lists (bySource is sorted by zone; path memory is a handful of entries): one pass.
  const evs = bySource ?? NO_EVIDENCE;
  const held = prev === undefined ? NO_NAMES : Object.keys(prev).sort();
  for (let i = 0, j = 0; i < evs.length || j < held.length; ) {
    const a = i < evs.length ? evs[i]!.zone : undefined;
    const b = j < held.length ? held[j]! : undefined;
    const source = a !== undefined && (b === undefined || a <= b) ? a : b!;
    const ev = a === source ? evs[i++] : undefined;
    if (b === source) j++;
    const own = judgeOwn(ev, rules);
    const was = prev?.[source];
    let eligible: boolean;
    let reason: string;
    if (own.kind === 'bad') {
      const since = was?.status === 'out' ? was.since : now;
      (paths ??= {})[source] = { status: 'out', since, outReason: own.reason };
      eligible = false;
      reason = `out — ${own.reason}${now - since >= 1000 ? ` for ${duration(now - since)}` : ''}`;
    } else if (was !== undefined && now - (was.status === 'holding' ? was.since : now) < holdDownMs) {
      const since = was.status === 'holding' ? was.since : now;
      (paths ??= {})[source] = { status: 'holding', since, outReason: was.outReason };
      eligible = false;
      reason = `held down — path from ${source} healthy for ${duration(now - since)} of ${duration(holdDownMs)} (was out: ${was.outReason})`;
    } else if (own.kind === 'healthy' && (byCallers || (adm.eligible && othersBad(stats.callers, source, ev, rules)))) {
      // Kept although out for others on their evidence alone, or (eligible for all) said why while others fail.
      eligible = true;
      const also = adm.eligible && adm.reason !== '' ? `; ${adm.reason}` : '';
      reason = `healthy as seen from ${source} (${percent(own.rate)} errors of ${own.requests}), although ${othersText(stats.callers, source, ev, adm.memory.status, adm.memory.outReason)}: a path failure${also}`;
      exceptions.push({ source, eligible, reason });
      continue;
    } else {
      continue;
    }
    if (eligible !== adm.eligible) exceptions.push({ source, eligible, reason });
  }
  return exceptions.length === 0 && paths === undefined ? NO_EXCEPTIONS : { exceptions, paths };
}

/**
 * Whether a row's reason is a path verdict (this module's texts), which speaks for one source only: a new leader
 * reading reasons without a record must not take it for the destination's own state.
 */
export function isPathReason(reason: string): boolean {
  return reason.includes(PATH_FAILURE) || reason.startsWith('held down — path from ') || reason.includes(': a path failure');
}

/**
 * Whether some source keeps the zone by its own healthy path: the panic rule counts such a zone as eligible capacity
 * (it serves; only some paths to it are cut), so a partition alone never makes panic send traffic over the cut.
 */
export function keptByPath(exceptions: readonly PathVerdict[]): boolean {
  for (const x of exceptions) if (x.eligible) return true;
  return false;
}

/** The exception of `source` in a sorted list, if any. */
export function exceptionFor(exceptions: readonly PathVerdict[], source: string): PathVerdict | undefined {
  for (const x of exceptions) if (x.source === source) return x;
  return undefined;
}
