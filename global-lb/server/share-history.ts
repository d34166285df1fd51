// A short in-memory history of weight shares per service and source zone, with drains, ejections and panic marked,
// for the dashboard's shares-over-time chart. Pure: every call takes the time; the replica feeds it from its view.
import type { ServiceTable } from '../weights/index.ts';

/** One source row's shares at one time: basis points per target zone (zones with 0 bp are left out). */
export interface ShareSample {
  readonly t: number;
  readonly shares: Readonly<Record<string, number>>;
  readonly panic: boolean;
}

/** Something worth a vertical mark on the chart. */
export interface HistoryMark {
  readonly t: number;
  readonly kind: 'drain' | 'undrain' | 'ejection' | 'readmit' | 'panic' | 'panic-over';
  readonly zone?: string;
  /** Absent for drains, which apply to every service. */
  readonly service?: string;
  readonly text: string;
}

/** One service's history as /v1/history shows it. */
export interface ServiceHistory {
  readonly service: string;
  readonly sources: readonly { readonly source: string; readonly samples: readonly ShareSample[] }[];
  readonly marks: readonly HistoryMark[];
}

/** Bounds of the history: it is a debugging aid, never a store. */
export interface HistoryLimits {
  /** Samples kept per (service, source). */
  readonly maxSamples: number;
  /** Samples and marks older than this are dropped. */
  readonly maxAgeMs: number;
  /** Marks kept in all. */
  readonly maxMarks: number;
}

/** Default limits: 120 samples or 15 minutes per row, 500 marks. */
export const DEFAULT_HISTORY_LIMITS: HistoryLimits = { maxSamples: 120, maxAgeMs: 15 * 60_000, maxMarks: 500 };

/**
 * Zones the engine ejected: "out — …" in a target's reason (eligibility.ts), except operator drains, which are marked
 * from the drain keys instead (so a drain is one mark, not one per service).
 */
function outZones(table: ServiceTable): Set<string> {
  const out = new Set<string>();
  for (const row of table.rows) {
    for (const t of row.targets) if (t.basisPoints === 0 && t.reason.startsWith('out') && !t.reason.includes('drained by operator')) out.add(t.zone);
  }
  return out;
}

function sameShares(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/**
 * The history. Invariant: each row's samples are in time order, at most maxSamples long, and no two consecutive
 * samples are equal (a table rewritten with the same shares adds nothing); marks are in time order, at most maxMarks.
 */
export class ShareHistory {
  private readonly limits: HistoryLimits;
  /** service → source → samples. */
  private readonly rows = new Map<string, Map<string, ShareSample[]>>();
  private readonly out = new Map<string, Set<string>>();
  private readonly panic = new Map<string, boolean>();
  private drains: ReadonlySet<string> | undefined;
  private marks: HistoryMark[] = [];

  constructor(limits: HistoryLimits = DEFAULT_HISTORY_LIMITS) {
    this.limits = limits;
  }

  /** Records a table as written by the leader: a sample per source row, and marks for ejections and panic. */
  recordTable(table: ServiceTable, now: number): void {
    const bySource = this.rows.get(table.service) ?? new Map<string, ShareSample[]>();
    this.rows.set(table.service, bySource);
    let anyPanic = false;
    for (const row of table.rows) {
      anyPanic ||= row.panic;
      const shares: Record<string, number> = {};
      for (const t of row.targets) if (t.basisPoints > 0) shares[t.zone] = t.basisPoints;
      const samples = bySource.get(row.sourceZone) ?? [];
      bySource.set(row.sourceZone, samples);
      const last = samples[samples.length - 1];
      if (last && last.panic === row.panic && sameShares(last.shares, shares)) continue;
      samples.push({ t: now, shares, panic: row.panic });
      if (samples.length > this.limits.maxSamples) samples.splice(0, samples.length - this.limits.maxSamples);
    }
    const outNow = outZones(table);
    const outBefore = this.out.get(table.service);
    if (outBefore) {
      for (const z of outNow) if (!outBefore.has(z)) this.mark({ t: now, kind: 'ejection', zone: z, service: table.service, text: `${z} out for ${table.service}` });
      for (const z of outBefore) if (!outNow.has(z)) this.mark({ t: now, kind: 'readmit', zone: z, service: table.service, text: `${z} back for ${table.service}` });
    }
    this.out.set(table.service, outNow);
    const panicBefore = this.panic.get(table.service) ?? false;
    if (anyPanic !== panicBefore) this.mark({ t: now, kind: anyPanic ? 'panic' : 'panic-over', service: table.service, text: `${table.service}: ${anyPanic ? 'panic' : 'panic over'}` });
    this.panic.set(table.service, anyPanic);
  }

  /** Forgets a deleted table. */
  forget(service: string): void {
    this.rows.delete(service);
    this.out.delete(service);
    this.panic.delete(service);
  }

  /** Records the operator drains; marks each drain and undrain (nothing on the first call, which is the baseline). */
  recordDrains(drains: ReadonlySet<string>, now: number): void {
    const before = this.drains;
    this.drains = new Set(drains);
    if (!before) return;
    for (const z of drains) if (!before.has(z)) this.mark({ t: now, kind: 'drain', zone: z, text: `${z} drained` });
    for (const z of before) if (!drains.has(z)) this.mark({ t: now, kind: 'undrain', zone: z, text: `${z} undrained` });
  }

  /** One service's samples per source (sorted by source) and the marks that concern it, dropping what aged out. */
  series(service: string, now: number): ServiceHistory {
    const cutoff = now - this.limits.maxAgeMs;
    this.marks = this.marks.filter((m) => m.t >= cutoff);
    const bySource = this.rows.get(service) ?? new Map<string, ShareSample[]>();
    const sources = [...bySource.keys()].sort().map((source) => {
      const all = bySource.get(source)!;
      // The last sample before the cutoff still holds at the cutoff, so it is kept as the chart's starting point.
      const firstKept = all.findIndex((s) => s.t >= cutoff);
      const from = firstKept === -1 ? all.length - 1 : Math.max(0, firstKept - 1);
      if (from > 0) all.splice(0, from);
      return { source, samples: [...all] };
    });
    return { service, sources, marks: this.marks.filter((m) => m.service === undefined || m.service === service) };
  }

  /** Samples held in all (for the bench's memory accounting and tests). */
  size(): number {
    let n = 0;
    for (const m of this.rows.values()) for (const s of m.values()) n += s.length;
    return n;
  }

  private mark(m: HistoryMark): void {
    this.marks.push(m);
    if (this.marks.length > this.limits.maxMarks) this.marks.splice(0, this.marks.length - this.limits.maxMarks);
  }
}
