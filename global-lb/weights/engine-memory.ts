// Handing the engine's memory to a new leader: the compact hysteresis record a leader publishes, and the EngineState a new leader rebuilds from it and the published tables.
import type { Locality } from '../../api/locality.ts';
import { forEachServiceMemory } from './engine.ts';
import { isPathReason } from './paths.ts';
import type { EngineState, PathMemory, ServiceKey, ServiceMemory, ServiceTable, ZoneMemory } from './types.ts';

/**
 * One zone state shared by one or more services. Only zones that are not plainly in are recorded: out, holding, or
 * in and still ramping (rampStart set).
 */
export interface MemoryEntry {
  readonly zone: string;
  readonly status: ZoneMemory['status'];
  readonly since: number;
  readonly rampStart?: number;
  readonly outReason?: string;
  /** Only when the zone was not seen in the round the record is from (its report is gone). */
  readonly lastSeen?: number;
  /** Only for zones not seen in the round: where they were, so a new leader can still place them. */
  readonly locality?: Locality;
  /** Out or held down on callers' evidence alone (sources with a healthy path keep it meanwhile). */
  readonly byCallers?: true;
  /** Paths from sources that are out or held down (see paths.ts). */
  readonly paths?: Readonly<Record<string, PathMemory>>;
  /** The services in this state, as runs over `EngineMemoryRecord.services`: [start, count, start, count, …]. */
  readonly at: readonly number[];
}

/**
 * The hysteresis part of the engine's memory (the damping part is the published tables). Stored by the leader under
 * KEYS.engineState whenever it changes. Invariant: `services` is sorted and every `at` run lies inside it.
 */
export interface EngineMemoryRecord {
  readonly format: 1;
  /** Services with at least one recorded zone, sorted. */
  readonly services: readonly ServiceKey[];
  readonly entries: readonly MemoryEntry[];
}

/** True when a zone's memory is the default a new leader assumes for a zone named in a published table. */
function plainlyIn(m: ZoneMemory): boolean {
  return m.status === 'in' && m.rampStart === undefined && m.paths === undefined;
}

/**
 * The record of `state`'s hysteresis memory after a round at `now`. Pure; deterministic (entries in first-seen
 * order over sorted services and each service's zones), so equal memories give equal JSON and the leader can
 * compare texts to write only on change. lastSeen is kept only where it is not `now`, so the record of a steady
 * hold-down or ramp does not change from round to round.
 */
export function memoryRecord(state: EngineState | undefined, now: number): EngineMemoryRecord {
  const services: ServiceKey[] = [];
  const byKey = new Map<string, { entry: Omit<MemoryEntry, 'at'>; at: number[] }>();
  if (state !== undefined) {
    forEachServiceMemory(state, (service, memory) => {
      let index = -1;
      for (const zone in memory.zones) {
        const m = memory.zones[zone]!;
        if (plainlyIn(m)) continue;
        if (index < 0) {
          index = services.length;
          services.push(service);
        }
        const gone = m.lastSeen !== now;
        const entry: Omit<MemoryEntry, 'at'> = {
          zone,
          status: m.status,
          since: m.since,
          ...(m.rampStart !== undefined ? { rampStart: m.rampStart } : {}),
          ...(m.outReason !== undefined ? { outReason: m.outReason } : {}),
          ...(gone ? { lastSeen: m.lastSeen } : {}),
          ...(gone && m.locality !== undefined ? { locality: m.locality } : {}),
          ...(m.byCallers ? { byCallers: true as const } : {}),
          ...(m.paths !== undefined ? { paths: m.paths } : {}),
        };
        const key = JSON.stringify(entry);
        let e = byKey.get(key);
        if (e === undefined) byKey.set(key, (e = { entry, at: [] }));
        const n = e.at.length;
        if (n > 0 && e.at[n - 2]! + e.at[n - 1]! === index) e.at[n - 1]!++;
        else e.at.push(index, 1);
      }
    });
  }
  // forEachServiceMemory walks a full round's state in sorted order; a record-backed state may not be sorted.
  if (!isSorted(services)) return memoryRecord(sortedState(state!), now);
  return { format: 1, services, entries: [...byKey.values()].map(({ entry, at }) => ({ ...entry, at })) };
}

function isSorted(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (!(keys[i - 1]! < keys[i]!)) return false;
  return true;
}

function sortedState(state: EngineState): EngineState {
  const services: Record<ServiceKey, ServiceMemory> = {};
  for (const k of Object.keys(state.services).sort()) services[k] = state.services[k]!;
  return { format: 2, services };
}

/**
 * Decodes a stored record (parsed JSON) into a typed one; undefined when it is not a record of this format, so a
 * new leader falls back to the tables alone rather than trusting a malformed value.
 */
export function decodeMemoryRecord(value: unknown): EngineMemoryRecord | undefined {
  if (!isObject(value) || value['format'] !== 1) return undefined;
  const services = value['services'];
  const entries = value['entries'];
  if (!Array.isArray(services) || !services.every((s) => typeof s === 'string') || !Array.isArray(entries)) return undefined;
  const out: MemoryEntry[] = [];
  for (const e of entries) {
    if (!isObject(e)) return undefined;
    const { zone, status, since, rampStart, outReason, lastSeen, locality, byCallers, paths, at } = e;
    if (typeof zone !== 'string' || (status !== 'in' && status !== 'out' && status !== 'holding') || !finite(since)) return undefined;
    if ((rampStart !== undefined && !finite(rampStart)) || (lastSeen !== undefined && !finite(lastSeen))) return undefined;
    if (outReason !== undefined && typeof outReason !== 'string') return undefined;
    if (locality !== undefined && !isLocality(locality)) return undefined;
    if ((byCallers !== undefined && byCallers !== true) || (paths !== undefined && !isPaths(paths))) return undefined;
    if (!Array.isArray(at) || at.length % 2 !== 0 || !at.every((n) => Number.isInteger(n) && n >= 0)) return undefined;
    for (let i = 0; i < at.length; i += 2) if ((at[i] as number) + (at[i + 1] as number) > services.length) return undefined;
    out.push({
      zone, status, since,
      ...(rampStart !== undefined ? { rampStart } : {}),
      ...(outReason !== undefined ? { outReason } : {}),
      ...(lastSeen !== undefined ? { lastSeen } : {}),
      ...(locality !== undefined ? { locality } : {}),
      ...(byCallers === true ? { byCallers } : {}),
      ...(paths !== undefined ? { paths: paths as Record<string, PathMemory> } : {}),
      at: at as number[],
    });
  }
  return { format: 1, services: services as string[], entries: out };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function finite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function isPaths(v: unknown): boolean {
  if (!isObject(v)) return false;
  for (const k in v) {
    const p = v[k];
    if (!isObject(p) || (p['status'] !== 'out' && p['status'] !== 'holding') || !finite(p['since']) || typeof p['outReason'] !== 'string') return false;
  }
  return true;
}

function isLocality(v: unknown): v is Locality {
  return isObject(v) && typeof v['cloud'] === 'string' && typeof v['region'] === 'string' && typeof v['zone'] === 'string';
}

/**
 * The EngineState a new leader starts from at `now`: damping memory from the published `tables` (each row's basis
 * points per target zone; sources with equal rows share one row) and hysteresis memory from `record`. Every zone a
 * table names starts plainly in unless the record says otherwise, so the first round damps from the published weights
 * and neither ramps nor holds down a zone that was fully in. Without a record (none stored, or unreadable) the tables'
 * reasons stand in for it: a zone shown out stays out, and a held-down or slow-starting zone resumes its timer where
 * its reason says it was (to the second; never shorter). Pure.
 */
export function resumeState(tables: Iterable<ServiceTable>, record: EngineMemoryRecord | undefined, now: number): EngineState {
  const recorded = record !== undefined ? recordedZones(record) : undefined;
  const sourcesShared = new Map<string, readonly string[]>();
  const services: Record<ServiceKey, ServiceMemory> = {};
  for (const table of [...tables].sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0))) {
    services[table.service] = tableMemory(table, recorded?.get(table.service), recorded === undefined, sourcesShared, now);
  }
  return { format: 2, services };
}

/** The record's entries as zone memories, by service then zone. */
function recordedZones(record: EngineMemoryRecord): Map<ServiceKey, Map<string, ZoneMemory>> {
  const out = new Map<ServiceKey, Map<string, ZoneMemory>>();
  for (const e of record.entries) {
    const m: ZoneMemory = {
      status: e.status,
      since: e.since,
      ...(e.rampStart !== undefined ? { rampStart: e.rampStart } : {}),
      ...(e.outReason !== undefined ? { outReason: e.outReason } : {}),
      lastSeen: e.lastSeen ?? Number.NaN,
      ...(e.locality !== undefined ? { locality: e.locality } : {}),
      ...(e.byCallers ? { byCallers: true as const } : {}),
      ...(e.paths !== undefined ? { paths: e.paths } : {}),
    };
    for (let i = 0; i < e.at.length; i += 2) {
      for (let s = e.at[i]!; s < e.at[i]! + e.at[i + 1]!; s++) {
        const service = record.services[s]!;
        let zones = out.get(service);
        if (zones === undefined) out.set(service, (zones = new Map()));
        zones.set(e.zone, m);
      }
    }
  }
  return out;
}

/** One service's memory from its published table, with recorded zones (or, without a record, the table's reasons). */
function tableMemory(table: ServiceTable, recorded: Map<string, ZoneMemory> | undefined, fromReasons: boolean, sourcesShared: Map<string, readonly string[]>, now: number): ServiceMemory {
  const names = new Set<string>();
  // Without a record, the first row naming a zone gives the reason its memory is read from.
  const firstReason = new Map<string, string>();
  for (const row of table.rows) {
    for (const t of row.targets) {
      names.add(t.zone);
      // A path verdict speaks for its source alone, not for the zone.
      if (fromReasons && !firstReason.has(t.zone) && !isPathReason(t.reason)) firstReason.set(t.zone, t.reason);
    }
  }
  const targets = [...names].sort();
  const col = new Map(targets.map((z, i) => [z, i] as const));
  const rows: number[][] = [];
  // Equal rows by a numeric hash, checked element-wise: a 10k-service table set has ~1M rows, and a text key per row
  // was most of a resume's cost.
  const rowAt = new Map<number, number[]>();
  const rowOf: number[] = [];
  for (const row of table.rows) {
    const bp = new Array<number>(targets.length).fill(0);
    for (const t of row.targets) bp[col.get(t.zone)!] = t.basisPoints;
    let h = 0x811c9dc5;
    for (let e = 0; e < bp.length; e++) h = Math.imul(h ^ bp[e]!, 0x01000193);
    let same = rowAt.get(h);
    let r = same?.find((i) => sameRow(rows[i]!, bp));
    if (r === undefined) {
      r = rows.length;
      rows.push(bp);
      if (same === undefined) rowAt.set(h, (same = []));
      same.push(r);
    }
    rowOf.push(r);
  }
  const sourceNames = table.rows.map((r) => r.sourceZone);
  const sourceKey = sourceNames.join('\n');
  let sources = sourcesShared.get(sourceKey);
  if (sources === undefined) sourcesShared.set(sourceKey, (sources = sourceNames));

  const zones: Record<string, ZoneMemory> = {};
  const plain: ZoneMemory = { status: 'in', since: table.computedAt, lastSeen: now };
  const at = Math.min(table.computedAt, now);
  for (const z of targets) {
    const why = firstReason.get(z);
    zones[z] = fromReasons && why !== undefined ? fromReason(why, at, now) ?? plain : plain;
  }
  if (recorded !== undefined) {
    for (const [z, m] of recorded) zones[z] = Number.isNaN(m.lastSeen) ? { ...m, lastSeen: now } : m;
  }
  return { zones, sources, rowOf, targets, rows };
}

function sameRow(a: readonly number[], b: readonly number[]): boolean {
  for (let e = 0; e < a.length; e++) if (a[e] !== b[e]) return false;
  return true;
}

const NORMALLY = '; normally ';
const OUT_FOR = / for (\d+)(ms|s|m|h)$/;
const HELD = /^held down — healthy for (\d+)(ms|s|m|h) of .*?(?: \(was out: (.*)\))?$/;
const RAMP = /(?:^|; )slow start \d+(?:\.\d)?% \((\d+)(ms|s|m|h) of /;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Without a record, a zone's memory as its reason (from the first row that names it) shows it: out, held down or
 * slow-starting, with the elapsed time the reason shows counted back from `at`, the table's computedAt (a reason
 * rounds down, so a resumed hold-down or ramp is never shorter than the real one); undefined when plainly in.
 */
function fromReason(reason: string, at: number, now: number): ZoneMemory | undefined {
  // In panic an ineligible zone's own reason follows "normally".
  const cut = reason.indexOf(NORMALLY);
  const own = cut >= 0 ? reason.slice(cut + NORMALLY.length) : reason;
  if (own.startsWith('out — ')) {
    const forHow = OUT_FOR.exec(own);
    const since = forHow ? at - Number(forHow[1]) * UNIT_MS[forHow[2]!]! : at;
    return { status: 'out', since, outReason: own.slice(6).replace(OUT_FOR, ''), lastSeen: now };
  }
  const held = HELD.exec(own);
  if (held) return { status: 'holding', since: at - Number(held[1]) * UNIT_MS[held[2]!]!, lastSeen: now, ...(held[3] !== undefined ? { outReason: held[3] } : {}) };
  const ramp = RAMP.exec(own);
  if (ramp) {
    const start = at - Number(ramp[1]) * UNIT_MS[ramp[2]!]!;
    return { status: 'in', since: start, rampStart: start, lastSeen: now };
  }
  return undefined;
}
