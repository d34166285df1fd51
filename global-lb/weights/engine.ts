// The weight engine: a pure function from a federation snapshot, policies and last round's memory to weight tables.
import { proximity, type Locality } from '../../api/locality.ts';
import { dampStep, largestRemainder, TOTAL_BP } from './damping.ts';
import { admit, gone, panicReason, panicVerdict, percent, zoneHealth, type PanicInput, type PanicVerdict } from './eligibility.ts';
import type {
  EngineResult,
  EngineState,
  FederationSnapshot,
  Policy,
  ServiceKey,
  ServiceMemory,
  ServiceResult,
  ServiceStats,
  ServiceTable,
  SourceRow,
  TargetShare,
  ZoneMemory,
  ZoneState,
  ZoneVerdict,
} from './types.ts';
import { allowedBy, capacityOf, capCrossCloud, compile, demandOf, EPS, FORGET_AFTER_MS, matches, pairFactor, policyFor, residencyOf, servedTerms, tierLabel, tierOf, zeros, type DistributeRule, type DistributeTarget, type Params } from './params.ts';
import { distributeInto, fill, nearestTier } from './fill.ts';
import { capReason, termReasons, unavailableReason, type TermRow } from './reasons.ts';
import { exceptionFor, keptByPath, pathVerdicts, type PathVerdict } from './paths.ts';

export { FORGET_AFTER_MS, NOMINAL_RPS_PER_ENDPOINT } from './params.ts';

/** The snapshot, indexed once per round. Besides the public fields it carries caches the engine fills lazily. */
export interface SnapshotIndex {
  /** Sorted by zone name. */
  readonly zones: readonly ZoneState[];
  readonly byName: ReadonlyMap<string, ZoneState>;
  /** Alive zones: each gets a row in every table. */
  readonly sources: readonly ZoneState[];
  /** Position in `zones` of the zone byName returns. */
  readonly posByName: ReadonlyMap<string, number>;
  /** The sources' names; every service's memory of a round shares this one array. */
  readonly sourceNames: readonly string[];
  /** Per source, a hash of its name (for versions). */
  readonly sourceHash: Int32Array;
  /** Per zone position, a hash of its name (for versions). */
  readonly nameHash: Int32Array;
  /** Per destination zone position, lazily: proximity from each source (by source position). */
  readonly proxTo: (Uint8Array | undefined)[];
  /** Per destination zone position, lazily: rtt from each source when known and > 0, else 0. */
  readonly rttTo: (Float64Array | undefined)[];
  /** Per compiled policy with distribute rules, lazily: the index of the rule each source matches (-1: none). */
  readonly ruleOf: Map<Params, Int32Array>;
  /** Per compiled policy with residency rules, lazily: the index of the residency rule each source matches (-1: none). */
  readonly resOf: Map<Params, Int32Array>;
  /** Per source, a dense id of its cloud (the cross-cloud cap reads it). */
  readonly cloudOf: Int32Array;
  readonly cloudCount: number;
  /** Position in `zones` of each source. */
  readonly sourcePos: Int32Array;
  /** Per source, a dense id of its (cloud, region): from a source that is not itself a candidate, every tier follows from it. */
  readonly classOf: Int32Array;
  /** How many distinct (cloud, region) ids classOf holds. */
  readonly classCount: number;
  /** Every distinct `rowOf` array of the round's memories, by content hash: services that group alike share one. */
  readonly rowOfs: Map<number, number[][]>;
  /** Groupings already worked out this round, by everything the grouping reads (see groupingKey). */
  readonly groupings: Map<string, Grouping>;
  /** Every distinct published row of the round, by content hash: most rows repeat across services (e.g. all to one zone). */
  readonly finalRows: Map<number, number[][]>;
  /** Small ids for objects a grouping key names by identity (policies, previous rowOf and source arrays). */
  readonly objIds: Map<object, number>;
  /** Last mapping of a memory's source list onto `sourceNames` (every service of a round shares one list). */
  remapCache: { readonly from: readonly string[]; readonly to: Int32Array } | undefined;
  /** Filled by computeWeights in one pass: each service's asked demand as (source index, rps > 0), in source order. */
  demandBy: Map<ServiceKey, { readonly src: number[]; readonly rps: number[] }> | undefined;
  /** Filled by computeWeights in one pass: each service's reports as (zone position, stats), in zone order. */
  byService: Map<ServiceKey, { readonly pos: number[]; readonly stats: ServiceStats[] }> | undefined;
  /** Lazily, a copy of the zones' topology for results kept for reuse (see Topology). */
  topo: Topology | undefined;
  /** Last comparison with a kept topology (see sameTopology). */
  topoMemo: { readonly other: Topology; readonly same: boolean } | undefined;
}

function strHash(s: string, h: number): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

/**
 * Indexes a snapshot (sorting zones by name so results do not depend on input order). An index is meant for one
 * round: it also collects what the round's services share (groupings, rows), which grows with every distinct
 * memory passed to computeServiceFromIndex, so index each new snapshot rather than keeping one index for good.
 */
export function indexSnapshot(snapshot: FederationSnapshot): SnapshotIndex {
  const zones = [...snapshot.zones].sort((a, b) => (a.locality.zone < b.locality.zone ? -1 : a.locality.zone > b.locality.zone ? 1 : 0));
  const byName = new Map<string, ZoneState>();
  const posByName = new Map<string, number>();
  zones.forEach((z, i) => {
    byName.set(z.locality.zone, z);
    posByName.set(z.locality.zone, i);
  });
  const sources = zones.filter((z) => z.alive);
  const sourceNames = sources.map((z) => z.locality.zone);
  const sourceHash = new Int32Array(sources.length);
  const nameHash = new Int32Array(zones.length);
  for (let i = 0; i < zones.length; i++) nameHash[i] = strHash(zones[i]!.locality.zone, 0x811c9dc5);
  const sourcePos = new Int32Array(sources.length);
  for (let i = 0, k = 0; i < zones.length; i++) if (zones[i]!.alive) sourcePos[k++] = i;
  const classOf = new Int32Array(sources.length);
  const classes = new Map<string, number>();
  for (let i = 0; i < sources.length; i++) {
    const l = sources[i]!.locality;
    const key = `${l.cloud}\u0000${l.region}`;
    let c = classes.get(key);
    if (c === undefined) classes.set(key, (c = classes.size));
    classOf[i] = c;
  }
  for (let i = 0; i < sources.length; i++) sourceHash[i] = strHash(sourceNames[i]!, 0x811c9dc5);
  const cloudOf = new Int32Array(sources.length);
  const clouds = new Map<string, number>();
  for (let i = 0; i < sources.length; i++) {
    const c = sources[i]!.locality.cloud;
    let id = clouds.get(c);
    if (id === undefined) clouds.set(c, (id = clouds.size));
    cloudOf[i] = id;
  }
  return {
    zones,
    byName,
    sources,
    posByName,
    sourceNames,
    sourceHash,
    nameHash,
    proxTo: new Array<Uint8Array | undefined>(zones.length).fill(undefined),
    rttTo: new Array<Float64Array | undefined>(zones.length).fill(undefined),
    ruleOf: new Map(),
    resOf: new Map(),
    cloudOf,
    cloudCount: clouds.size,
    sourcePos,
    classOf,
    classCount: classes.size,
    rowOfs: new Map(),
    groupings: new Map(),
    finalRows: new Map(),
    objIds: new Map(),
    remapCache: undefined,
    demandBy: undefined,
    byService: undefined,
    topo: undefined,
    topoMemo: undefined,
  };
}

function proxColumn(index: SnapshotIndex, pos: number): Uint8Array {
  let col = index.proxTo[pos];
  if (col) return col;
  const dst = index.zones[pos]!.locality;
  const src = index.sources;
  col = new Uint8Array(src.length);
  for (let s = 0; s < src.length; s++) col[s] = proximity(src[s]!.locality, dst);
  return (index.proxTo[pos] = col);
}

/** rtt from each source to the zone at `pos`: the source's own measurement, else the destination's of the source. */
function rttColumn(index: SnapshotIndex, pos: number): Float64Array {
  let col = index.rttTo[pos];
  if (col) return col;
  const dst = index.zones[pos]!;
  const name = dst.locality.zone;
  const src = index.sources;
  col = new Float64Array(src.length);
  for (let s = 0; s < src.length; s++) {
    const z = src[s]!;
    if (z.locality.zone === name) continue;
    const rtt = z.rttMs.get(name) ?? dst.rttMs.get(z.locality.zone);
    col[s] = rtt !== undefined && rtt > 0 ? rtt : 0;
  }
  return (index.rttTo[pos] = col);
}

function rulesOf(index: SnapshotIndex, p: Params): Int32Array {
  let r = index.ruleOf.get(p);
  if (r) return r;
  r = new Int32Array(index.sources.length);
  for (let s = 0; s < r.length; s++) r[s] = p.rules.findIndex((rule) => matches(rule.from, index.sources[s]!.locality));
  index.ruleOf.set(p, r);
  return r;
}

function residenciesOf(index: SnapshotIndex, p: Params): Int32Array {
  let r = index.resOf.get(p);
  if (r) return r;
  r = new Int32Array(index.sources.length);
  for (let s = 0; s < r.length; s++) r[s] = residencyOf(p, index.sources[s]!.locality);
  index.resOf.set(p, r);
  return r;
}

/** Per residency rule (+1; slot 0: none), whether each zone of `zones` is allowed; computed once per service. */
function allowMasks(p: Params, zones: readonly { readonly loc: Locality }[]): Uint8Array[] {
  const out = new Array<Uint8Array>(p.residency.length + 1);
  for (let r = -1; r < p.residency.length; r++) {
    const m = new Uint8Array(zones.length);
    for (let e = 0; e < zones.length; e++) m[e] = allowedBy(p, r, zones[e]!.loc) ? 1 : 0;
    out[r + 1] = m;
  }
  return out;
}

/** A zone that has, or had, the service. */
interface Candidate {
  readonly name: string;
  readonly loc: Locality;
  readonly zone: ZoneState | undefined;
  /** Position in index.zones of the zone whose report this is, or of the zone named so (vanished service); -1: not in the snapshot. */
  readonly pos: number;
  readonly stats: ServiceStats | undefined;
  // The admission's fields, copied so that its object dies young (candidates can outlive the round).
  readonly eligible: boolean;
  /** The slow-start ramp; 1 for a zone not eligible itself but kept by some source's healthy path. */
  readonly ramp: number;
  /** Empty for an eligible zone at full strength. */
  readonly reason: string;
  readonly memory: ZoneMemory;
  /** Sources for which this zone's eligibility differs from `eligible` (their own path, see paths.ts). */
  readonly paths: readonly PathVerdict[];
  /** Capacity at 100% utilisation (rps). */
  readonly cap: number;
  /** Capacity offered to the fill: cap × targetUtilization × slow-start ramp. */
  readonly offer: number;
  /** Served latency and load terms (see params.ts servedTerms). */
  readonly servedMs: number;
  readonly util: number;
  readonly load: number;
}



/** What the fill decided for one source (or a group of sources that see the service alike), kept for the reasons. */
interface SourcePlan {
  /** Real weights over the target list (sum 1, or all 0). */
  readonly weights: number[];
  readonly tiers: number[];
  /** Pair factor per target: latency × cost × load; 0 where residency forbids the zone. */
  readonly lat: number[];
  /** Weight that came from overflow (every tier full at target utilisation). */
  overflow: number[] | undefined;
  readonly demand: number;
  readonly rule: DistributeRule | undefined;
  /** distribute targets with no eligible zone: their share went by failover order... */
  failed: readonly DistributeTarget[];
  /** ...and landed here (weight per target). */
  failover: number[] | undefined;
}

/**
 * Sources that get the same row. Two sources share a group when nothing that decides a row differs between them:
 * no own demand (or panic, where demand does not matter), the same distribute rule, the same tier for every
 * candidate zone, the same rtt to every target, and the same last published row (damping starts from it).
 */
interface Group extends SourcePlan {
  readonly outTiers: number[];
  readonly ruleIdx: number;
  readonly prevRow: number;
  /** What else the signature compares: residency rule and, with a cross-cloud cap, the source's cloud. */
  readonly ext: number;
  /** Residency rule of the group's sources (-1: none). */
  readonly res: number;
  /** A source with own demand takes part in the shared fill and never shares its row. */
  readonly unique: boolean;
  /** 0, or 1 + the one source whose own path verdicts the group follows (see pathMasks). */
  readonly view: number;
  /** Targets out for the group's sources by a path verdict (1), listed as outs; undefined: none. */
  readonly mask: Uint8Array | undefined;
  /** The cross-cloud cap changed the weights. */
  capped: boolean;
  // Filled by step 6: the row's numbers and what its reasons read besides the plan.
  /** Rounded target before damping. */
  target: number[];
  /** Published basis points per target (damped). */
  final: number[];
  firstTier: number;
  usedTier: number;
  /** The two eligible tiers listed at 0 bp after the used ones, so the data plane can fail over on its own. */
  standbyTier: number;
  standbyTier2: number;
}

/** What a row and its reasons read of a group: the part of a Group kept (packed) until the table's rows are read. */
interface RowPlan {
  /** Only where some weight came from overflow (the only reason that reads weights). */
  readonly weights: readonly number[] | undefined;
  readonly tiers: readonly number[];
  /** The group's pair factors (0: residency forbids the zone; reasons use each source's own). */
  readonly lat: readonly number[];
  readonly res: number;
  readonly capped: boolean;
  /** Targets out for the group's sources by a path verdict (1); undefined: none. */
  readonly mask: Uint8Array | undefined;
  readonly target: readonly number[];
  readonly final: readonly number[];
  readonly outTiers: readonly number[];
  readonly overflow: readonly number[] | undefined;
  readonly failover: readonly number[] | undefined;
  readonly failed: readonly DistributeTarget[];
  readonly rule: DistributeRule | undefined;
  readonly demand: number;
  readonly firstTier: number;
  readonly usedTier: number;
  readonly standbyTier: number;
  readonly standbyTier2: number;
}

/** The rarely present parts of a group, kept beside the packed numbers. */
interface GroupExtras {
  /** The real weights, which reasons read only to tell overflow from the rest. */
  readonly weights: number[] | undefined;
  readonly overflow: number[] | undefined;
  readonly failover: number[] | undefined;
  readonly failed: readonly DistributeTarget[];
  readonly capped: boolean;
}

/**
 * A round's groups as kept by a table until its rows are read: the group shapes (tiers, out tiers, rule), which
 * services of one round with the same grouping share, each group's rounded target (the published row itself when
 * damping left it there, as it usually does) and its demand (its first source's). First, used and standby tiers
 * follow from tiers and the published row, so they are derived again when the rows are built. Survivors dominated
 * the garbage collector's work in a full round, so nothing per group is copied here.
 */
interface PackedGroups {
  readonly shapes: readonly GroupShape[];
  /** Per group, the rounded target before damping. */
  readonly rounded: readonly (readonly number[])[];
  /** Per group, its demand (its first source's ZoneState.demandRps for the service). */
  readonly demands: readonly number[];
  readonly extras: (GroupExtras | undefined)[] | undefined;
  readonly finals: readonly (readonly number[])[];
}

function packGroups(groups: readonly Group[], finals: readonly (readonly number[])[]): Pick<PackedGroups, 'rounded' | 'extras'> {
  const G = groups.length;
  const rounded = new Array<readonly number[]>(G);
  let extras: (GroupExtras | undefined)[] | undefined;
  for (let gi = 0; gi < G; gi++) {
    const g = groups[gi]!;
    rounded[gi] = sameNumbers(g.target, finals[gi]!) ? finals[gi]! : g.target;
    if (g.overflow !== undefined || g.failover !== undefined || g.failed !== NONE_FAILED || g.capped) {
      const weights = g.overflow !== undefined ? g.weights : undefined;
      (extras ??= new Array<GroupExtras | undefined>(G).fill(undefined))[gi] = { weights, overflow: g.overflow, failover: g.failover, failed: g.failed, capped: g.capped };
    }
  }
  return { rounded, extras };
}

/** First (allowed), used and the two standby tiers of a row (what step 6 derives for the rows and reasons). */
function rowTiers(tiers: readonly number[], lat: readonly number[], final: readonly number[]): [number, number, number, number] {
  const n = tiers.length;
  let firstTier = Infinity;
  let usedTier = -1;
  for (let e = 0; e < n; e++) {
    if (lat[e]! <= 0) continue;
    firstTier = Math.min(firstTier, tiers[e]!);
    if (final[e]! > 0) usedTier = Math.max(usedTier, tiers[e]!);
  }
  let standbyTier = Infinity;
  for (let e = 0; e < n; e++) if (lat[e]! > 0 && tiers[e]! > usedTier) standbyTier = Math.min(standbyTier, tiers[e]!);
  let standbyTier2 = Infinity;
  for (let e = 0; e < n; e++) if (lat[e]! > 0 && tiers[e]! > standbyTier) standbyTier2 = Math.min(standbyTier2, tiers[e]!);
  return [firstTier, usedTier, standbyTier, standbyTier2];
}

function unpackGroups(pk: PackedGroups, p: Params): RowPlan[] {
  const out = new Array<RowPlan>(pk.finals.length);
  for (let gi = 0; gi < out.length; gi++) {
    const sh = pk.shapes[gi]!;
    const final = pk.finals[gi]!;
    const x = pk.extras?.[gi];
    const [firstTier, usedTier, standbyTier, standbyTier2] = rowTiers(sh.tiers, sh.lat, final);
    out[gi] = {
      weights: x?.weights,
      tiers: sh.tiers,
      lat: sh.lat,
      res: sh.res,
      capped: x?.capped ?? false,
      mask: sh.mask,
      target: pk.rounded[gi]!,
      final,
      outTiers: sh.outTiers,
      overflow: x?.overflow,
      failover: x?.failover,
      failed: x?.failed ?? NONE_FAILED,
      rule: sh.ruleIdx >= 0 ? p.rules[sh.ruleIdx] : undefined,
      demand: pk.demands[gi]!,
      firstTier,
      usedTier,
      standbyTier,
      standbyTier2,
    };
  }
  return out;
}

/** What the reasons of one service read; kept by the table until its rows are built. */
interface ReasonContext {
  readonly p: Params;
  readonly panic: boolean;
  readonly verdict: PanicVerdict;
  readonly targets: readonly Candidate[];
  readonly offers: readonly number[];
  /** Spare offer after the fill (no longer mutated once the rows are built). */
  readonly remaining: readonly number[];
  /** Per target, rtt from each source (undefined: latency discount off), for each source's own latency factors. */
  readonly rttT: readonly (Float64Array | undefined)[];
  /** Per target, proximity from each source (for the cost term). */
  readonly proxT: readonly Uint8Array[];
  /** Per residency rule + 1, which targets / outs it allows. */
  readonly allowT: readonly Uint8Array[];
  readonly allowO: readonly Uint8Array[];
  /** Residency rule per source (undefined: the policy has none). */
  readonly resOf: Int32Array | undefined;
  /** The round's sources (the cap's reasons read their cloud). */
  readonly sources: readonly ZoneState[];
}

// Scratch buffers reused across services (never captured by results): the signature of the source being grouped
// and an open-addressing table from signature hash to group.
let scratchTiers: number[] = [];
let scratchOut: number[] = [];
let scratchLat: number[] = [];
let slots = new Int32Array(64);
let candAt = new Uint8Array(0);
// Asked demand by source index while grouping one service (0 elsewhere; cleared in the same `finally`).
let demandScratch: number[] = [];
// Group id + 1 per fast-path class key (0: none yet), and the keys set, to clear them after the service.
let byClass = new Int32Array(64);
// The same for sources of the class with no rtt to any target: every latency factor is 1, so the class decides
// their whole signature even where latency factors split groups (byClass then stays empty for the class).
let byClassFlat = new Int32Array(64);
const classKeysUsed: number[] = [];
let groupScratch = new Int32Array(64);
let hashTBuf = new Int32Array(16);
let hashOBuf = new Int32Array(16);
let prevAtBuf = new Int32Array(16);
let g1Buf = new Int32Array(64);
let g2Buf = new Int32Array(64);

/** A group as the grouping loop makes it, before the fill: what a later service with the same key copies. */
interface GroupShape {
  /** The first source in the group (its demand is the group's demand). */
  readonly first: number;
  readonly tiers: number[];
  readonly lat: number[];
  readonly outTiers: number[];
  readonly ruleIdx: number;
  readonly prevRow: number;
  readonly ext: number;
  readonly res: number;
  readonly unique: boolean;
  readonly view: number;
  readonly mask: Uint8Array | undefined;
}

/** The result of grouping a service's sources: which group each source is in, and the groups' shapes. */
interface Grouping {
  readonly rowOf: number[];
  readonly shapes: readonly GroupShape[];
}

function objId(index: SnapshotIndex, x: object): number {
  let id = index.objIds.get(x);
  if (id === undefined) index.objIds.set(x, (id = index.objIds.size));
  return id;
}

/**
 * Everything the grouping loop reads besides the round's topology: the policy, panic, the previous rows' sources and
 * rowOf (by identity: rowOf arrays are shared within a round), the targets (by zone position, so tiers, proximity
 * and rtt follow, and by served latency and load) and outs (by position), and which sources have own demand. Services with equal keys group alike, so
 * the loop over every source runs once per key instead of once per service. Undefined (no caching) when an out has
 * no position (its tier would come from a remembered locality).
 */
function groupingKey(index: SnapshotIndex, p: Params, panic: boolean, prevRows: ServiceMemory | undefined, targets: readonly Candidate[], outs: readonly Candidate[], asked: Asked): string | undefined {
  let key = `${objId(index, p)}${panic ? 'P' : 'N'}`;
  key += prevRows ? `${objId(index, prevRows.rowOf)}.${objId(index, prevRows.sources)}` : '-';
  key += ':';
  // A target's served latency and load enter every pair factor toward it, so they key the grouping like its place.
  for (const t of targets) key += t.servedMs === 0 && t.load === 1 ? `${t.pos},` : `${t.pos}/${t.servedMs}/${t.load},`;
  key += ':';
  for (const c of outs) {
    if (c.pos < 0) return undefined;
    key += `${c.pos},`;
  }
  key += ':';
  // Which sources have own demand (ZoneState.demandRps) decides who shares a row; the values are read per service.
  for (let k = 0; k < asked.src.length; k++) key += `${asked.src[k]},`;
  return key;
}

/** The round's one array with these basis points (rows are never mutated once published, so equal ones may be shared). */
function internFinal(index: SnapshotIndex, row: number[]): number[] {
  let h = 0x811c9dc5 ^ row.length;
  for (let e = 0; e < row.length; e++) h = Math.imul(h ^ row[e]!, 0x01000193);
  // A small-integer key: a full 32-bit hash would be a heap number, slower to hash and allocated per lookup.
  h &= 0x3fffffff;
  let list = index.finalRows.get(h);
  if (list === undefined) index.finalRows.set(h, (list = []));
  else for (const a of list) if (sameNumbers(a, row)) return a;
  list.push(row);
  return row;
}

/** The round's one array with these group ids (memories are never mutated, so equal ones may be shared). */
function internRowOf(index: SnapshotIndex, ids: Int32Array, S: number): number[] {
  let h = 0x811c9dc5;
  for (let s = 0; s < S; s++) h = Math.imul(h ^ ids[s]!, 0x01000193);
  h &= 0x3fffffff;
  let list = index.rowOfs.get(h);
  if (list !== undefined) {
    for (const a of list) {
      let same = true;
      for (let s = 0; s < S; s++) {
        if (a[s] !== ids[s]) {
          same = false;
          break;
        }
      }
      if (same) return a;
    }
  } else index.rowOfs.set(h, (list = []));
  const a = new Array<number>(S);
  for (let s = 0; s < S; s++) a[s] = ids[s]!;
  list.push(a);
  return a;
}

/** Maps a memory's source list to this round's sources (-1: not a source last time). */
function remap(index: SnapshotIndex, from: readonly string[]): Int32Array {
  const cached = index.remapCache;
  if (cached !== undefined && cached.from === from) return cached.to;
  const to = new Int32Array(index.sources.length);
  const at = new Map<string, number>();
  for (let i = 0; i < from.length; i++) at.set(from[i]!, i);
  for (let i = 0; i < to.length; i++) to[i] = at.get(index.sourceNames[i]!) ?? -1;
  index.remapCache = { from, to };
  return to;
}



const EMPTY_MEMORY: ServiceMemory = { zones: {}, sources: [], rowOf: [], targets: [], rows: [] };
const NONE_FAILED: readonly DistributeTarget[] = [];
const NO_TIERS: number[] = [];
const NO_REPORTS = { pos: [] as number[], stats: [] as ServiceStats[] };

/** One service's asked demand: source indices (ascending) with demandRps > 0, and the rates. */
interface Asked {
  readonly src: readonly number[];
  readonly rps: readonly number[];
}
const NO_ASKED: Asked = { src: [], rps: [] };

/** A service's asked demand, from the round's one-pass index, or by asking every source (one-service path). */
function askedOf(index: SnapshotIndex, service: ServiceKey): Asked {
  if (index.demandBy !== undefined) return index.demandBy.get(service) ?? NO_ASKED;
  const src: number[] = [];
  const rps: number[] = [];
  for (let s = 0; s < index.sources.length; s++) {
    const d = demandOf(index.sources[s]!, service);
    if (d > 0) {
      src.push(s);
      rps.push(d);
    }
  }
  return src.length === 0 ? NO_ASKED : { src, rps };
}

/** Source s's asked demand (0: none); demand lists are short, so a scan. */
function askedBy(asked: Asked, s: number): number {
  for (let k = 0; k < asked.src.length; k++) if (asked.src[k] === s) return asked.rps[k]!;
  return 0;
}


function reportsOf(index: SnapshotIndex, service: ServiceKey): { readonly pos: readonly number[]; readonly stats: readonly ServiceStats[] } {
  if (index.byService) return index.byService.get(service) ?? NO_REPORTS;
  const pos: number[] = [];
  const stats: ServiceStats[] = [];
  for (let i = 0; i < index.zones.length; i++) {
    const s = index.zones[i]!.services.get(service);
    if (s) {
      pos.push(i);
      stats.push(s);
    }
  }
  return { pos, stats };
}

/**
 * A copy of what the engine reads from the zones besides their service reports: the zone set and order, names,
 * localities, alive, drained and every rtt. Copied, because callers may rebuild or reuse (even mutate) their objects
 * between rounds; taken once per round, and only when some result is kept for reuse.
 */
interface Topology {
  readonly zones: readonly { readonly zone: string; readonly region: string; readonly cloud: string; readonly alive: boolean; readonly drained: boolean; readonly rtt: ReadonlyMap<string, number> }[];
}

function topologyOf(index: SnapshotIndex): Topology {
  return (index.topo ??= {
    zones: index.zones.map((z) => ({ zone: z.locality.zone, region: z.locality.region, cloud: z.locality.cloud, alive: z.alive, drained: z.drained, rtt: new Map(z.rttMs) })),
  });
}

/** Whether this round's zones match a kept topology (compared once per round and kept topology, not per service). */
function sameTopology(before: Topology, index: SnapshotIndex): boolean {
  if (index.topo === before) return true;
  const memo = index.topoMemo;
  if (memo !== undefined && memo.other === before) return memo.same;
  let same = before.zones.length === index.zones.length;
  for (let i = 0; same && i < index.zones.length; i++) {
    const a = before.zones[i]!;
    const b = index.zones[i]!;
    if (a.zone !== b.locality.zone || a.region !== b.locality.region || a.cloud !== b.locality.cloud) same = false;
    else if (a.alive !== b.alive || a.drained !== b.drained || a.rtt.size !== b.rttMs.size) same = false;
    else {
      for (const [k, v] of b.rttMs) {
        if (a.rtt.get(k) !== v) {
          same = false;
          break;
        }
      }
    }
  }
  index.topoMemo = { other: before, same };
  // Equal values: later services of this round and the results kept from it share the earlier copy.
  if (same) index.topo ??= before;
  return same;
}

/**
 * Per report: what the rest of a round reads from its stats besides health (which the admission carries):
 * endpoints, capacity, and what the latency and load terms read (rps, in-flight, p50, p99; -1 when absent).
 */
const REPORT_FIELDS = 7;

function reportNumbers(stats: readonly ServiceStats[]): number[] {
  const out = new Array<number>(stats.length * REPORT_FIELDS);
  for (let k = 0; k < stats.length; k++) {
    const s = stats[k]!;
    out[k * REPORT_FIELDS] = s.healthyEndpoints;
    out[k * REPORT_FIELDS + 1] = s.totalEndpoints;
    out[k * REPORT_FIELDS + 2] = capacityOf(s);
    out[k * REPORT_FIELDS + 3] = s.rps;
    out[k * REPORT_FIELDS + 4] = s.inFlight;
    out[k * REPORT_FIELDS + 5] = s.latencyP50Ms ?? -1;
    out[k * REPORT_FIELDS + 6] = s.latencyP99Ms ?? -1;
  }
  return out;
}

/**
 * A settled result, kept with the round's state so that the next round can reuse it when nothing it was computed
 * from changed. "Settled" means damping is at its fixed point: computing again from this memory
 * publishes the same rows (see computeServiceFromIndex for why the grouping is then the same too).
 */
interface Reuse {
  readonly topo: Topology;
  readonly params: Params;
  readonly explicitPolicy: boolean;
  readonly service: ServiceKey;
  readonly reportPos: readonly number[];
  readonly reportNums: readonly number[];
  /** The sources' asked demand for the service (ZoneState.demandRps > 0), compared by value. */
  readonly asked: Asked;
  /** The round's candidates; a reuse needs the same names, places, presence and admission (eligible, ramp, reason). */
  readonly cands: readonly Candidate[];
  readonly version: string;
  readonly rows: LazyRows;
  readonly rowOf: readonly number[];
  readonly targets: readonly string[];
  readonly finals: readonly (readonly number[])[];
}

/** A kept result and the memory it returned (a reuse needs that very memory as the previous one). */
interface Kept {
  readonly memory: ServiceMemory;
  readonly reuse: Reuse;
}

/**
 * Where a full round keeps its settled results: a non-enumerable symbol on the returned EngineState, so JSON and
 * deep equality do not see it, and a state that went through JSON or was rebuilt simply has none (a full recompute).
 * One array per round aligned with the sorted keys, not a WeakMap entry per memory (whose insertions dominated an
 * unchanged round) nor a Map keyed by service.
 */
const KEPT = Symbol('meshfed.weights.kept');
/** The round's service keys, sorted, kept the same way as KEPT. */
const SORTED = Symbol('meshfed.weights.sorted');
/** The round's memories, aligned with SORTED (undefined: no table, so nothing remembered), kept the same way. */
const MEMS = Symbol('meshfed.weights.mems');
type WithKept = { readonly [KEPT]?: readonly (Kept | undefined)[]; readonly [SORTED]?: readonly ServiceKey[]; readonly [MEMS]?: readonly (ServiceMemory | undefined)[] };

/** Index of `key` in sorted keys (default sort order: UTF-16 code units), or -1. */
function sortedIndex(sorted: readonly ServiceKey[], key: ServiceKey): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const k = sorted[mid]!;
    if (k === key) return mid;
    if (k < key) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** A service's memory in `state`, read from the round's aligned arrays when it has them (no record built). */
function memoryOf(state: EngineState | undefined, key: ServiceKey): ServiceMemory | undefined {
  if (state === undefined) return undefined;
  const { [SORTED]: sorted, [MEMS]: mems } = state as WithKept;
  if (sorted === undefined || mems === undefined) return state.services[key];
  const i = sortedIndex(sorted, key);
  return i < 0 ? undefined : mems[i];
}

/**
 * Calls `fn` for every service memory in `state`, in sorted key order for a state a full round returned (read by
 * position, without building the `services` record), else in the record's order.
 */
export function forEachServiceMemory(state: EngineState, fn: (service: ServiceKey, memory: ServiceMemory) => void): void {
  const { [SORTED]: sorted, [MEMS]: mems } = state as WithKept;
  if (sorted === undefined || mems === undefined) {
    for (const [k, m] of Object.entries(state.services)) fn(k, m);
    return;
  }
  for (let i = 0; i < sorted.length; i++) if (mems[i] !== undefined) fn(sorted[i]!, mems[i]!);
}

/**
 * The state a full round returns. `services` is an own enumerable getter that builds the record (in sorted key
 * order, as a plain object) on first read and keeps it, so JSON.stringify, spread and deep equality see a plain
 * record; the next round reads the aligned arrays instead. Inserting 10k keys into a dictionary-mode record, and
 * looking each up again next round, cost ~10–15 ms of a 10k-service round; the leader never reads the record.
 */
function stateOf(sorted: readonly ServiceKey[], mems: readonly (ServiceMemory | undefined)[], keep: readonly (Kept | undefined)[]): EngineState {
  let services: Record<ServiceKey, ServiceMemory> | undefined;
  const state = {
    format: 2 as const,
    get services(): Readonly<Record<ServiceKey, ServiceMemory>> {
      if (services === undefined) {
        services = {};
        for (let i = 0; i < sorted.length; i++) if (mems[i] !== undefined) services[sorted[i]!] = mems[i]!;
      }
      return services;
    },
  };
  Object.defineProperty(state, KEPT, { value: keep, enumerable: false });
  Object.defineProperty(state, SORTED, { value: sorted, enumerable: false });
  Object.defineProperty(state, MEMS, { value: mems, enumerable: false });
  return state;
}

function sameReports(r: Reuse, pos: readonly number[], stats: readonly ServiceStats[], asked: Asked): boolean {
  if (r.reportPos.length !== pos.length || !sameNumbers(r.asked.src, asked.src) || !sameNumbers(r.asked.rps, asked.rps)) return false;
  const nums = r.reportNums;
  for (let k = 0; k < pos.length; k++) {
    if (r.reportPos[k] !== pos[k]) return false;
    const s = stats[k]!;
    const b = k * REPORT_FIELDS;
    if (nums[b] !== s.healthyEndpoints || nums[b + 1] !== s.totalEndpoints || nums[b + 2] !== capacityOf(s) || nums[b + 3] !== s.rps || nums[b + 4] !== s.inFlight) return false;
    if (nums[b + 5] !== (s.latencyP50Ms ?? -1) || nums[b + 6] !== (s.latencyP99Ms ?? -1)) return false;
  }
  return true;
}

function sameCandidates(before: readonly Candidate[], now: readonly Candidate[]): boolean {
  if (before.length !== now.length) return false;
  for (let k = 0; k < now.length; k++) {
    const a = before[k]!;
    const b = now[k]!;
    if (a.name !== b.name || a.pos !== b.pos || (a.stats === undefined) !== (b.stats === undefined)) return false;
    if (a.loc.cloud !== b.loc.cloud || a.loc.region !== b.loc.region || a.loc.zone !== b.loc.zone) return false;
    if (a.eligible !== b.eligible || a.ramp !== b.ramp || a.reason !== b.reason) return false;
  }
  return true;
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * What a table needs to build its rows when first read; the built rows are kept here, so every table that shares
 * this (a reused result) builds them once.
 */
interface LazyRows extends ReasonContext, PackedGroups {
  readonly outs: readonly Candidate[];
  readonly groupOf: readonly number[];
  readonly sourceNames: readonly string[];
  built: SourceRow[] | undefined;
}

const LAZY = Symbol('meshfed.weights.rows');

/** The one getter every table's `rows` uses: all tables then share one hidden class and stay fast objects. */
function rowsOf(this: ServiceTable & { readonly [LAZY]: LazyRows }): readonly SourceRow[] {
  const l = this[LAZY];
  return (l.built ??= buildRows(l, unpackGroups(l, l.p), l.outs, l.groupOf, l.sourceNames));
}

// Reused descriptors: `rows` is an own enumerable accessor (JSON.stringify, spread and deep equality see plain
// rows; only read tables pay for them), and what builds them hides behind a non-enumerable symbol. A literal
// getter made a closure, an accessor pair and a dictionary-mode object per table.
const ROWS_DESCRIPTOR: PropertyDescriptor = { get: rowsOf, enumerable: true, configurable: false };
const LAZY_DESCRIPTOR: PropertyDescriptor = { value: undefined, enumerable: false, writable: false, configurable: false };

function tableOf(service: ServiceKey, version: string, now: number, lazy: LazyRows): ServiceTable {
  const slash = service.indexOf('/');
  const table = { service, namespace: service.slice(0, slash), name: service.slice(slash + 1), version, computedAt: now };
  Object.defineProperty(table, 'rows', ROWS_DESCRIPTOR);
  LAZY_DESCRIPTOR.value = lazy;
  Object.defineProperty(table, LAZY, LAZY_DESCRIPTOR);
  LAZY_DESCRIPTOR.value = undefined;
  return table as typeof table & { readonly rows: readonly SourceRow[] };
}

const HEX_DIGITS = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102];

/**
 * The two hash words as 16 lower-case hex digits, in one flat string (toString(16) and padStart, twice and joined,
 * cost ~0.8 µs per table, ~8 ms of a 10k-service round).
 */
function versionText(a: number, b: number): string {
  const d = HEX_DIGITS;
  return String.fromCharCode(
    d[(a >>> 28) & 15]!, d[(a >>> 24) & 15]!, d[(a >>> 20) & 15]!, d[(a >>> 16) & 15]!, d[(a >>> 12) & 15]!, d[(a >>> 8) & 15]!, d[(a >>> 4) & 15]!, d[a & 15]!,
    d[(b >>> 28) & 15]!, d[(b >>> 24) & 15]!, d[(b >>> 20) & 15]!, d[(b >>> 16) & 15]!, d[(b >>> 12) & 15]!, d[(b >>> 8) & 15]!, d[(b >>> 4) & 15]!, d[b & 15]!,
  );
}

/** The memory as kept: with where the zone was seen (so a vanished zone can still be placed in a tier). */
function located(memory: ZoneMemory, loc: Locality): ZoneMemory {
  return memory.locality === loc ? memory : { ...memory, locality: loc };
}

/** What the panic rule reads of a candidate. */
function panicInput(c: Candidate, p: Params): PanicInput {
  const counted = c.stats !== undefined && c.zone?.alive === true && !c.zone.drained && !p.drained.has(c.name);
  // A zone some source keeps by its healthy path is serving capacity, not lost (see paths.ts).
  const eligible = c.eligible || keptByPath(c.paths);
  return {
    counted, eligible, holding: !eligible && c.memory.status === 'holding',
    healthyEndpoints: c.stats?.healthyEndpoints ?? 0, totalEndpoints: c.stats?.totalEndpoints ?? 0, capacity: c.cap,
  };
}

/** A service's measured demand over every source (rps). */
function totalDemand(asked: Asked): number {
  let sum = 0;
  for (let k = 0; k < asked.rps.length; k++) sum += asked.rps[k]!;
  return sum;
}

/** Whether a candidate may receive traffic: eligible, or in panic any live, undrained zone with healthy endpoints. */
function isTarget(c: Candidate, panic: boolean, p: Params): boolean {
  return panic ? c.stats !== undefined && c.zone?.alive === true && !c.zone.drained && !p.drained.has(c.name) && c.stats.healthyEndpoints > 0 : c.eligible || c.paths.length > 0;
}

const NO_PATHS: readonly PathVerdict[] = Object.freeze([]);

/**
 * Outside panic, which targets each source may not use although they are targets (1: listed as out for it): the
 * default mask (targets not eligible themselves, kept only by some source's healthy path) and, per source with an
 * exception, its own. Undefined when no exception touches the service (the common case: every source sees alike).
 */
function pathMasks(targets: readonly Candidate[], sourceNames: readonly string[], panic: boolean): { readonly fallback: Uint8Array; readonly bySource: Map<number, Uint8Array> } | undefined {
  if (panic || !targets.some((t) => t.paths.length > 0)) return undefined;
  const n = targets.length;
  const fallback = new Uint8Array(n);
  for (let e = 0; e < n; e++) fallback[e] = targets[e]!.eligible ? 0 : 1;
  const at = new Map<string, number>();
  for (let s = 0; s < sourceNames.length; s++) at.set(sourceNames[s]!, s);
  const bySource = new Map<number, Uint8Array>();
  for (let e = 0; e < n; e++) {
    for (const x of targets[e]!.paths) {
      const s = at.get(x.source);
      if (s === undefined) continue;
      let m = bySource.get(s);
      if (m === undefined) bySource.set(s, (m = fallback.slice()));
      m[e] = x.eligible ? 0 : 1;
    }
  }
  return { fallback, bySource };
}

/**
 * Recomputes one service. `index` is the indexed snapshot (see indexSnapshot); `prevMem` is the service's memory
 * from the last round (undefined on the first). Pure (the index only caches what it derives from the snapshot).
 * Zone names are unique in a snapshot.
 */
export function computeServiceFromIndex(index: SnapshotIndex, service: ServiceKey, policy: Policy, prevMem: ServiceMemory | undefined, now: number, explicitPolicy = true): ServiceResult {
  return computeService(index, service, policy, prevMem, now, explicitPolicy, undefined, undefined, 0, []);
}

/**
 * computeServiceFromIndex, reusing a result kept by the last full round (`kept`) and keeping this one (`keep[at]`).
 * Verdicts are appended to `verdicts` (a full round passes its one list, so no service makes its own), which the
 * result returns.
 */
function computeService(
  index: SnapshotIndex,
  service: ServiceKey,
  policy: Policy,
  prevMem: ServiceMemory | undefined,
  now: number,
  explicitPolicy: boolean,
  kept: Kept | undefined,
  keep: (Kept | undefined)[] | undefined,
  at: number,
  verdicts: ZoneVerdict[],
): ServiceResult {
  const p = compile(policy);
  const prevZones = prevMem?.zones ?? {};
  const rampNew = prevMem !== undefined;

  // 1. Eligibility, with hysteresis.
  const reports = reportsOf(index, service);
  // Sized up front (cands outlive the round when a result is kept): an array grown by push reserves 17 slots.
  const cands = new Array<Candidate>(reports.pos.length);
  let count = 0;
  let remembered = 0;
  // Some source's own path changes some zone's eligibility for it: rows differ per source (no sharing, no reuse).
  let withPaths = false;
  for (let k = 0; k < reports.pos.length; k++) {
    const stats = reports.stats[k]!;
    if (stats.totalEndpoints <= 0 && stats.healthyEndpoints <= 0) continue;
    const pos = reports.pos[k]!;
    const zone = index.zones[pos]!;
    const name = zone.locality.zone;
    if (Object.hasOwn(prevZones, name)) remembered++;
    const health = zoneHealth(zone, stats, p.drained.has(name), p);
    const adm = admit(prevZones[name], health, now, p.holdDownMs, p.slowStartMs, rampNew);
    const pv = pathVerdicts(zone, stats, p.drained.has(name), adm, prevZones[name]?.paths, now, p, p.holdDownMs);
    if (pv.exceptions.length > 0) withPaths = true;
    const memory = located(pv.paths === undefined ? adm.memory : { ...adm.memory, paths: pv.paths }, zone.locality);
    const cap = capacityOf(stats);
    const terms = servedTerms(p, stats, cap);
    // A zone out for everyone but the sources whose own path is healthy offers its full capacity to them.
    const ramp = adm.eligible ? adm.ramp : pv.exceptions.length > 0 ? 1 : 0;
    cands[count++] = { name, loc: zone.locality, zone, pos, stats, eligible: adm.eligible, ramp, reason: adm.reason, memory, paths: pv.exceptions, cap, offer: cap * p.u * ramp, servedMs: terms.servedMs, util: terms.util, load: terms.load };
  }
  if (count < cands.length) cands.length = count;
  const prevNames = prevMem === undefined ? [] : Object.keys(prevZones);
  if (prevNames.length > remembered) {
    const seen = new Set(cands.map((c) => c.name));
    for (const name of prevNames) {
      if (seen.has(name)) continue;
      const prev = prevZones[name]!;
      if (now - prev.lastSeen > FORGET_AFTER_MS) continue;
      const zone = index.byName.get(name);
      const why = zone === undefined ? 'no report (agent lease gone)' : zone.alive ? 'service no longer reported in this zone' : 'agent lease gone';
      const loc = zone?.locality ?? prev.locality;
      if (!loc) continue;
      const adm = gone(prev, now, why);
      cands.push({ name, loc, zone, pos: zone === undefined ? -1 : index.posByName.get(name)!, stats: undefined, eligible: adm.eligible, ramp: adm.ramp, reason: adm.reason, memory: located(adm.memory, loc), paths: NO_PATHS, cap: 0, offer: 0, servedMs: 0, util: 0, load: 1 });
    }
    cands.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  const zonesMemory: Record<string, ZoneMemory> = {};
  for (const c of cands) {
    zonesMemory[c.name] = c.memory;
    verdicts.push({ zone: c.name, service, eligible: c.eligible, reason: c.reason === '' ? 'eligible' : c.reason });
  }
  if (cands.length === 0 && !explicitPolicy) return { table: undefined, verdicts, memory: EMPTY_MEMORY };

  // Every source's ASKED demand for the service, whether or not it hosts a copy (0: none measured).
  const S = index.sources.length;
  const asked = askedOf(index, service);

  // Reuse: what follows reads only the zones' topology, the reports' endpoints, capacity, rps, in-flight and latency,
  // the sources' demand, the candidates' admissions, the policy and the last published rows. When the first four match the round that produced prevMem
  // and that round was settled (damping at its fixed point), recomputing would publish the same rows: the sources
  // that shared a row then shared one before too (equal signatures), so grouping by last row splits nothing new.
  // Timers (hold-down, slow start, "out for 12s") show up in the admissions, so a running timer is a miss.
  const hit = kept !== undefined && kept.memory === prevMem && !withPaths ? kept.reuse : undefined;
  if (
    hit !== undefined &&
    hit.params === p &&
    hit.explicitPolicy === explicitPolicy &&
    hit.service === service &&
    sameTopology(hit.topo, index) &&
    sameReports(hit, reports.pos, reports.stats, asked) &&
    sameCandidates(hit.cands, cands)
  ) {
    const memory: ServiceMemory = { zones: zonesMemory, sources: index.sourceNames, rowOf: hit.rowOf, targets: hit.targets, rows: hit.finals };
    // Kept results of one round share one topology, so the next round compares it once.
    const topo = topologyOf(index);
    if (keep !== undefined) keep[at] = { memory, reuse: hit.topo === topo ? hit : { ...hit, topo } };
    return { table: tableOf(service, hit.version, now, hit.rows), verdicts, memory };
  }

  // 5 (panic) is decided before filling: it changes who may receive traffic at all.
  const verdict = panicVerdict(cands.map((c) => panicInput(c, p)), totalDemand(asked), p.panicThreshold, p.u);
  const { panic } = verdict;
  // Both sized exactly: the reasons keep `targets` and `outs` until the rows are read.
  let targetCount = 0;
  for (const c of cands) if (isTarget(c, panic, p)) targetCount++;
  const targets = new Array<Candidate>(targetCount);
  const outs = new Array<Candidate>(cands.length - targetCount);
  for (let k = 0, t = 0, u = 0; k < cands.length; k++) {
    const c = cands[k]!;
    if (isTarget(c, panic, p)) targets[t++] = c;
    else outs[u++] = c;
  }
  const n = targets.length;
  const o = outs.length;
  const caps = targets.map((c) => c.cap * (panic ? 1 : c.ramp));
  const offers = targets.map((c) => (panic ? c.cap * p.u : c.offer));

  // 2-4. Tiers and pair factors per source; sources that see the service alike share one plan (see Group).
  const explicitTiers = p.zoneTier !== undefined;
  const tierT = new Array<number>(n);
  const proxT: Uint8Array[] = new Array<Uint8Array>(n);
  const rttT: (Float64Array | undefined)[] = new Array<Float64Array | undefined>(n);
  for (let e = 0; e < n; e++) {
    const t = targets[e]!;
    if (explicitTiers) tierT[e] = p.zoneTier!.get(t.name) ?? p.zoneTierCount;
    proxT[e] = proxColumn(index, t.pos);
    rttT[e] = p.halfMs > 0 ? rttColumn(index, t.pos) : undefined;
  }
  const resOf = p.residency.length > 0 ? residenciesOf(index, p) : undefined;
  const allowT = allowMasks(p, targets);
  const allowO = allowMasks(p, outs);
  const capOn = !panic && p.maxCrossShare < 1;
  const tierO = new Array<number>(o);
  const proxO: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(o);
  for (let e = 0; e < o; e++) {
    const c = outs[e]!;
    if (explicitTiers) tierO[e] = p.zoneTier!.get(c.name) ?? p.zoneTierCount;
    else proxO[e] = c.pos >= 0 ? proxColumn(index, c.pos) : undefined;
  }
  const byProx = p.tierByProximity!;
  const rules = p.rules.length > 0 && !panic ? rulesOf(index, p) : undefined;
  const prevRows = !panic && n > 0 && prevMem !== undefined && prevMem.rows.length > 0 ? prevMem : undefined;
  const map = prevRows ? remap(index, prevRows.sources) : undefined;
  const keyScale = (prevRows ? prevRows.rows.length : 0) + 2;
  if (slots.length < 2 * S) slots = new Int32Array(1 << Math.ceil(Math.log2(2 * S)));
  const mask = slots.length - 1;
  if (scratchTiers.length < n) scratchTiers = zeros(n);
  if (scratchLat.length < n) scratchLat = zeros(n);
  if (scratchOut.length < o) scratchOut = zeros(o);
  const groups: Group[] = [];
  if (groupScratch.length < S) groupScratch = new Int32Array(2 * S);
  const groupIds = groupScratch;
  const resKeys = p.residency.length + 2;
  const classKeys = index.classCount * keyScale * (p.rules.length + 2) * resKeys;
  if (byClass.length < classKeys) {
    byClass = new Int32Array(2 * classKeys);
    byClassFlat = new Int32Array(2 * classKeys);
  }
  const used: number[] = [];
  const masks = pathMasks(targets, index.sourceNames, panic);
  const gkey = withPaths ? undefined : groupingKey(index, p, panic, prevRows, targets, outs, asked);
  const known = gkey !== undefined ? index.groupings.get(gkey) : undefined;
  let groupOf: number[];
  let shapes: readonly GroupShape[];
  if (known !== undefined) {
    groupOf = known.rowOf;
    shapes = known.shapes;
    for (const sh of known.shapes) {
      groups.push({
        weights: zeros(n),
        tiers: sh.tiers,
        lat: sh.lat,
        overflow: undefined,
        demand: askedBy(asked, sh.first),
        rule: sh.ruleIdx >= 0 ? p.rules[sh.ruleIdx] : undefined,
        failed: NONE_FAILED,
        failover: undefined,
        outTiers: sh.outTiers,
        ruleIdx: sh.ruleIdx,
        prevRow: sh.prevRow,
        ext: sh.ext,
        res: sh.res,
        unique: sh.unique,
        view: sh.view,
        mask: sh.mask,
        capped: false,
        target: NO_TIERS,
        final: NO_TIERS,
        firstTier: 0,
        usedTier: 0,
        standbyTier: 0,
        standbyTier2: 0,
      });
    }
  } else {
    const firsts: number[] = [];
    if (candAt.length < index.zones.length) candAt = new Uint8Array(index.zones.length);
    for (const c of cands) if (c.pos >= 0) candAt[c.pos] = 1;
    if (demandScratch.length < S) demandScratch = zeros(2 * S);
    for (let k = 0; k < asked.src.length; k++) demandScratch[asked.src[k]!] = asked.rps[k]!;
    // The scratch is cleaned in `finally`, so a throw cannot leave marks that would mis-group a later service.
    try {
      for (let s = 0; s < S; s++) {
        const src = index.sources[s]!;
        const demand = demandScratch[s]!;
        const rule = rules ? rules[s]! : -1;
        const res = resOf ? resOf[s]! : -1;
        const allowed = allowT[res + 1]!;
        // The residency rule, and with a cross-cloud cap the source's cloud, decide a row beyond tiers and factors.
        const ext = (res + 1) * (index.cloudCount + 1) + (capOn ? index.cloudOf[s]! + 1 : 0);
        const mapped = map ? map[s]! : -1;
        const prevRow = mapped >= 0 ? (prevRows!.rowOf[mapped] ?? -1) : -1;
        const unique = !panic && demand > 0;
        // A source with its own path verdicts sees the targets unlike any other source.
        const own = masks?.bySource.get(s);
        const view = own !== undefined ? s + 1 : 0;
        const pathMask = own ?? masks?.fallback;
        // Fast path: a source that is not a candidate sees every candidate by its (cloud, region) alone.
        let flat = false;
        const classKey = !unique && view === 0 && candAt[index.sourcePos[s]!] === 0 ? (((index.classOf[s]! * keyScale + prevRow + 1) * (p.rules.length + 2) + rule + 1) * resKeys + res + 1) : -1;
        if (classKey >= 0) {
          const known = byClass[classKey]!;
          if (known !== 0) {
            groupIds[s] = known - 1;
            continue;
          }
          flat = true;
          for (let e = 0; e < n; e++) {
            const col = rttT[e];
            if (col !== undefined && col[s]! > 0) {
              flat = false;
              break;
            }
          }
          if (flat && byClassFlat[classKey] !== 0) {
            groupIds[s] = byClassFlat[classKey]! - 1;
            continue;
          }
        }
        let h = Math.imul(Math.imul(Math.imul(rule + 0x9e37, 0x01000193) ^ (prevRow + 1), 0x01000193) ^ ext, 0x01000193) ^ view;
        let minTier = Infinity;
        let minCount = 0;
        for (let e = 0; e < n; e++) {
          const prox = proxT[e]![s]!;
          const tier = explicitTiers ? tierT[e]! : byProx[prox]!;
          const r = rttT[e] ? rttT[e]![s]! : 0;
          const t = targets[e]!;
          scratchTiers[e] = tier;
          scratchLat[e] = pairFactor(p, allowed[e] === 1 && (pathMask === undefined || pathMask[e] === 0), r, t.servedMs, prox, t.load);
          h = Math.imul(h ^ tier, 0x01000193);
          if (scratchLat[e] === 0) continue;
          if (tier < minTier) {
            minTier = tier;
            minCount = 1;
          } else if (tier === minTier) minCount++;
        }
        for (let e = 0; e < o; e++) {
          const c = outs[e]!;
          const pr = proxO[e];
          const tier = explicitTiers ? tierO[e]! : pr ? byProx[pr[s]!]! : tierOf(p, src.locality, c.loc);
          scratchOut[e] = tier;
          h = Math.imul(h ^ tier, 0x01000193);
        }
        // Latency factors change the numbers only through a distribute rule, or a split inside the nearest tier (a
        // source without demand sends everything there); reasons use each source's own factors when rows are built.
        // With a cross-cloud cap every factor may matter (the cap moves share between tiers by them).
        const latFrom = panic ? Infinity : rule >= 0 || capOn ? -Infinity : minCount >= 2 ? minTier : Infinity;
        if (!unique && latFrom !== Infinity) {
          for (let e = 0; e < n; e++) if (latFrom === -Infinity || scratchTiers[e] === latFrom) h = Math.imul(h ^ ((scratchLat[e]! * 0x40000000) | 0), 0x01000193);
        }
        let slot = -1;
        if (!unique) {
          slot = h & mask;
          let found = -1;
          for (let id = slots[slot]!; id !== 0; slot = (slot + 1) & mask, id = slots[slot]!) {
            const g = groups[id - 1]!;
            if (g.view === view && sameSignature(g, rule, prevRow, ext, n, o, latFrom)) {
              found = id - 1;
              break;
            }
          }
          if (found >= 0) {
            groupIds[s] = found;
            if (classKey >= 0 && latFrom === Infinity) byClass[classKey] = found + 1;
            if (classKey >= 0 && flat) byClassFlat[classKey] = found + 1;
            if (classKey >= 0) classKeysUsed.push(classKey);
            continue;
          }
        }
        groupIds[s] = groups.length;
        firsts.push(s);
        groups.push({
          weights: zeros(n),
          tiers: scratchTiers.slice(0, n),
          lat: scratchLat.slice(0, n),
          overflow: undefined,
          demand,
          rule: rule >= 0 ? p.rules[rule] : undefined,
          failed: NONE_FAILED,
          failover: undefined,
          outTiers: o > 0 ? scratchOut.slice(0, o) : NO_TIERS,
          ruleIdx: rule,
          prevRow,
          ext,
          res,
          unique,
          view,
          mask: pathMask,
          capped: false,
          target: NO_TIERS,
          final: NO_TIERS,
          firstTier: 0,
          usedTier: 0,
          standbyTier: 0,
          standbyTier2: 0,
        });
        if (slot >= 0) {
          slots[slot] = groups.length;
          used.push(slot);
        }
        if (classKey >= 0 && latFrom === Infinity) byClass[classKey] = groups.length;
        if (classKey >= 0 && flat) byClassFlat[classKey] = groups.length;
        if (classKey >= 0) classKeysUsed.push(classKey);
      }
    } finally {
      for (const k of classKeysUsed) byClass[k] = byClassFlat[k] = 0;
      classKeysUsed.length = 0;
      for (const c of cands) if (c.pos >= 0) candAt[c.pos] = 0;
      for (let k = 0; k < asked.src.length; k++) demandScratch[asked.src[k]!] = 0;
      for (const slot of used) slots[slot] = 0;
    }
    groupOf = internRowOf(index, groupIds, S);
    shapes = groups.map((g, gi): GroupShape => ({ first: firsts[gi]!, tiers: g.tiers, lat: g.lat, outTiers: g.outTiers, ruleIdx: g.ruleIdx, prevRow: g.prevRow, ext: g.ext, res: g.res, unique: g.unique, view: g.view, mask: g.mask }));
    if (gkey !== undefined) index.groupings.set(gkey, { rowOf: groupOf, shapes });
  }

  const remaining = offers.slice();
  if (n > 0) {
    if (panic) {
      // Residency holds in panic too: each group spreads over the zones it may use.
      for (const g of groups) {
        let total = 0;
        for (let e = 0; e < n; e++) if (g.lat[e]! > 0) total += caps[e]!;
        for (let e = 0; e < n; e++) g.weights[e] = total > 0 && g.lat[e]! > 0 ? caps[e]! / total : 0;
      }
    } else {
      const filled: SourcePlan[] = [];
      for (const g of groups) if (g.rule === undefined && g.demand > 0) filled.push(g);
      const alloc = fill(
        filled.map((pl) => pl.demand),
        filled,
        remaining,
        caps,
      );
      filled.forEach((pl, i) => {
        const a = alloc[i]!;
        let sum = 0;
        for (let e = 0; e < n; e++) sum += a[e]!;
        for (let e = 0; e < n; e++) pl.weights[e] = sum > 0 ? a[e]! / sum : 0;
        if (pl.overflow) for (let e = 0; e < n; e++) pl.overflow[e] = sum > 0 ? pl.overflow[e]! / sum : 0;
      });
      for (const pl of groups) {
        if (pl.rule !== undefined) distributeInto(pl, targets, remaining, offers, caps);
        else if (pl.demand <= 0) nearestTier(pl.tiers, pl.lat, remaining, offers, pl.weights);
      }
      if (capOn) {
        for (let gi = 0; gi < groups.length; gi++) {
          const g = groups[gi]!;
          const cloud = index.sources[shapes[gi]!.first]!.locality.cloud;
          const cross = targets.map((t) => t.loc.cloud !== cloud);
          g.capped = capCrossCloud(p, g.weights, cross, g.lat, offers);
        }
      }
    }
  }

  // 6. Rounding and damping, once per group. Rows (and their reasons) are built only when somebody reads them.
  if (hashTBuf.length < n) {
    hashTBuf = new Int32Array(2 * n);
    prevAtBuf = new Int32Array(2 * n);
  }
  if (hashOBuf.length < o) hashOBuf = new Int32Array(2 * o);
  if (g1Buf.length < groups.length) {
    g1Buf = new Int32Array(2 * groups.length);
    g2Buf = new Int32Array(2 * groups.length);
  }
  let prevAt: Int32Array | undefined;
  if (prevRows) {
    prevAt = prevAtBuf;
    const names = prevRows.targets;
    for (let e = 0; e < n; e++) prevAt[e] = names.indexOf(targets[e]!.name);
  }
  const hashT = hashTBuf;
  for (let e = 0; e < n; e++) hashT[e] = index.nameHash[targets[e]!.pos]!;
  const hashO = hashOBuf;
  for (let e = 0; e < o; e++) hashO[e] = outs[e]!.pos >= 0 ? index.nameHash[outs[e]!.pos]! : strHash(outs[e]!.name, 0x811c9dc5);
  const g1 = g1Buf;
  const g2 = g2Buf;
  for (let gi = 0; gi < groups.length; gi++) {
    const g = groups[gi]!;
    const plan = g;
    const target = largestRemainder(plan.weights);
    let final = target;
    if (g.prevRow >= 0) {
      const prevRow = prevRows!.rows[g.prevRow];
      // A row already at its target stays there (dampStep would return a copy of it): the settled rows of a round.
      // A zone residency forbids counts as 0 in the last row (it drops at once, like an ineligible one).
      let same = true;
      if (prevRow !== undefined) {
        for (let e = 0; e < n; e++) {
          if ((prevAt![e]! >= 0 && plan.lat[e]! > 0 ? (prevRow[prevAt![e]!] ?? 0) : 0) !== target[e]) {
            same = false;
            break;
          }
        }
      }
      if (prevRow !== undefined && !same) {
        const prevArr = zeros(n);
        for (let e = 0; e < n; e++) if (prevAt![e]! >= 0 && plan.lat[e]! > 0) prevArr[e] = prevRow[prevAt![e]!] ?? 0;
        final = dampStep(prevArr, target, p.maxStep, p.deadband);
      }
    }
    const [firstTier, usedTier, standbyTier, standbyTier2] = rowTiers(plan.tiers, plan.lat, final);
    g.target = target;
    g.final = internFinal(index, final);
    g.firstTier = firstTier;
    g.usedTier = usedTier;
    g.standbyTier = standbyTier;
    g.standbyTier2 = standbyTier2;
    // The row's hash is a sum over its (zone, bp, tier) entries, so it needs no sorting; equality only. A row lists
    // the targets its residency allows up to its second standby tier, and the outs it allows.
    let h1 = 0;
    let h2 = 0;
    const outAllowed = allowO[g.res + 1]!;
    const targetAllowed = allowT[g.res + 1]!;
    for (let e = 0; e < n; e++) {
      const bp = final[e]!;
      const tier = plan.tiers[e]!;
      if (g.mask !== undefined && g.mask[e] === 1) {
        // Out for these sources (a path verdict): listed as an out.
        if (targetAllowed[e] === 0) continue;
        const x = Math.imul(Math.imul(hashT[e]!, 0x01000193) ^ tier, 0x5bd1e995);
        h1 = (h1 + (x ^ (x >>> 13))) | 0;
        h2 = (h2 + Math.imul(x ^ (x >>> 16), 0x85ebca6b)) | 0;
        continue;
      }
      if (plan.lat[e]! <= 0 || (bp <= 0 && tier > usedTier && tier !== standbyTier && tier !== standbyTier2)) continue;
      const x = Math.imul(Math.imul(hashT[e]! ^ bp, 0x01000193) ^ tier, 0x5bd1e995);
      h1 = (h1 + (x ^ (x >>> 13))) | 0;
      h2 = (h2 + Math.imul(x ^ (x >>> 16), 0x85ebca6b)) | 0;
    }
    for (let e = 0; e < o; e++) {
      if (outAllowed[e] === 0) continue;
      const x = Math.imul(Math.imul(hashO[e]!, 0x01000193) ^ g.outTiers[e]!, 0x5bd1e995);
      h1 = (h1 + (x ^ (x >>> 13))) | 0;
      h2 = (h2 + Math.imul(x ^ (x >>> 16), 0x85ebca6b)) | 0;
    }
    g1[gi] = h1;
    g2[gi] = h2;
  }

  let v1 = 0x811c9dc5 ^ (panic ? 1 : 2);
  let v2 = 0x5bd1e995;
  for (let s = 0; s < S; s++) {
    const gi = groupOf[s]!;
    v1 = Math.imul(v1 ^ index.sourceHash[s]!, 0x01000193);
    v1 = Math.imul(v1 ^ g1[gi]!, 0x01000193);
    v2 = Math.imul(v2 ^ g2[gi]!, 0x5bd1e995) ^ (v2 >>> 15);
    v2 = Math.imul(v2 ^ v1, 0x5bd1e995);
  }
  const finals = new Array<number[]>(groups.length);
  for (let gi = 0; gi < groups.length; gi++) finals[gi] = groups[gi]!.final;
  const targetNames = targets.map((t) => t.name);
  const memory: ServiceMemory = { zones: zonesMemory, sources: index.sourceNames, rowOf: groupOf, targets: targetNames, rows: finals };
  const { rounded, extras } = packGroups(groups, finals);
  const groupDemands = new Array<number>(groups.length);
  for (let gi = 0; gi < groups.length; gi++) groupDemands[gi] = groups[gi]!.demand;
  // One object is the reasons' context, the packed groups and what builds the rows (fewer objects survive).
  const rows: LazyRows = {
    p, panic, verdict, targets, offers, remaining, rttT, proxT, allowT, allowO, resOf, sources: index.sources,
    shapes, rounded, demands: groupDemands, extras, finals,
    outs, groupOf, sourceNames: index.sourceNames, built: undefined,
  };
  const version = versionText(v1, v2);
  // Settled: damping from these rows toward the same targets stays put (without damping next round, trivially).
  // A row equal to its target stays; otherwise dampStep keeps a full row (nothing freed) whose largest gap to its
  // target is within the deadband. Anything else counts as unsettled (at worst a missed reuse, never a wrong one).
  let settled = true;
  if (!panic && n > 0) {
    for (const g of groups) {
      if (sameNumbers(g.final, g.target)) continue;
      let sum = 0;
      let gap = 0;
      for (let e = 0; e < n; e++) {
        sum += g.final[e]!;
        gap = Math.max(gap, Math.abs(g.target[e]! - g.final[e]!));
      }
      if (sum !== TOTAL_BP || gap > p.deadband) {
        settled = false;
        break;
      }
    }
  }
  if (settled && keep !== undefined && !withPaths) {
    const reuse: Reuse = {
      topo: topologyOf(index),
      params: p,
      explicitPolicy,
      service,
      reportPos: reports.pos,
      reportNums: reportNumbers(reports.stats),
      asked,
      cands,
      version,
      rows,
      rowOf: groupOf,
      targets: targetNames,
      finals,
    };
    keep[at] = { memory, reuse };
  }
  return { table: tableOf(service, version, now, rows), verdicts, memory };
}

/**
 * Builds a table's rows, with their reasons, as plain objects (JSON.stringify takes its fast path on them).
 * Sources of one group share one share list, except that reasons name each source's own latency factors: sources
 * whose factors differ from the group's get their own list with the same numbers.
 */
function buildRows(cx: ReasonContext, groups: readonly RowPlan[], outs: readonly Candidate[], groupOf: readonly number[], sourceNames: readonly string[]): SourceRow[] {
  const n = cx.targets.length;
  const p = cx.p;
  const variants = groups.map((): { lat: number[]; shares: readonly TargetShare[] }[] => []);
  const unavailable = groups.map((): string | undefined => undefined);
  const rows = new Array<SourceRow>(sourceNames.length);
  for (let s = 0; s < rows.length; s++) {
    const gi = groupOf[s]!;
    const g = groups[gi]!;
    const res = cx.resOf ? cx.resOf[s]! : -1;
    const allowed = cx.allowT[res + 1]!;
    const rtt = zeros(n);
    const prox = zeros(n);
    const lat = zeros(n);
    for (let e = 0; e < n; e++) {
      const t = cx.targets[e]!;
      rtt[e] = cx.rttT[e] ? cx.rttT[e]![s]! : 0;
      prox[e] = cx.proxT[e]![s]!;
      lat[e] = pairFactor(p, allowed[e] === 1 && (g.mask === undefined || g.mask[e] === 0), rtt[e]!, t.servedMs, prox[e]!, t.load);
    }
    const known = variants[gi]!;
    let v = known.find((x) => x.lat.every((l, e) => l === lat[e]));
    if (v === undefined) {
      const out: TargetShare[] = [];
      const termRow = { tiers: g.tiers, rtt, prox, lat };
      let total = 0;
      const pathOuts: { name: string; reason: string }[] = [];
      for (let e = 0; e < n; e++) {
        const t = cx.targets[e]!;
        const bp = g.final[e]!;
        const tier = g.tiers[e]!;
        const own = t.paths.length > 0 ? exceptionFor(t.paths, sourceNames[s]!) : undefined;
        if (g.mask !== undefined && g.mask[e] === 1) {
          if (allowed[e] === 0) continue;
          const why = own?.reason ?? t.reason;
          pathOuts.push({ name: t.name, reason: why });
          out.push({ zone: t.name, basisPoints: 0, tier, reason: why });
          continue;
        }
        if (lat[e]! <= 0 || (bp <= 0 && tier > g.usedTier && tier !== g.standbyTier && tier !== g.standbyTier2)) continue;
        total += bp;
        out.push({ zone: t.name, basisPoints: bp, tier: g.tiers[e]!, reason: reasonFor(cx, g, termRow, e, bp, cx.sources[s]!.locality.cloud, cx.panic ? t.reason : (own?.reason ?? t.reason)) });
      }
      const outAllowed = cx.allowO[res + 1]!;
      for (let e = 0; e < outs.length; e++) if (outAllowed[e] === 1) out.push({ zone: outs[e]!.name, basisPoints: 0, tier: g.outTiers[e]!, reason: outs[e]!.reason });
      out.sort((a, b) => a.tier - b.tier || (a.zone < b.zone ? -1 : a.zone > b.zone ? 1 : 0));
      if (total <= 0 && (out.length > 0 || res >= 0)) {
        const listed: { readonly name: string; readonly reason: string }[] = outs.filter((_, e) => outAllowed[e] === 1);
        unavailable[gi] = unavailableReason(p, res, pathOuts.length === 0 ? listed : [...listed, ...pathOuts].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)));
      }
      known.push((v = { lat, shares: out }));
    }
    const why = unavailable[gi];
    const row: SourceRow = { sourceZone: sourceNames[s]!, targets: v.shares, panic: cx.panic };
    rows[s] = res < 0 && why === undefined ? row : { ...row, ...(res >= 0 ? { exclusive: true } : {}), ...(why !== undefined ? { unavailableReason: why } : {}) };
  }
  return rows;
}

/** Whether the source in the scratch buffers shares group g's row (latFrom: see the grouping loop). */
function sameSignature(g: Group, rule: number, prevRow: number, ext: number, n: number, o: number, latFrom: number): boolean {
  if (g.unique || g.ruleIdx !== rule || g.prevRow !== prevRow || g.ext !== ext) return false;
  const tiers = g.tiers;
  for (let e = 0; e < n; e++) if (tiers[e] !== scratchTiers[e]) return false;
  for (let e = 0; e < o; e++) if (g.outTiers[e] !== scratchOut[e]) return false;
  if (latFrom !== Infinity) {
    const lat = g.lat;
    for (let e = 0; e < n; e++) if ((latFrom === -Infinity || tiers[e] === latFrom) && lat[e] !== scratchLat[e]) return false;
  }
  return true;
}


function tierUtil(cx: ReasonContext, plan: RowPlan, k: number): number {
  let used = 0;
  let cap = 0;
  for (let e = 0; e < cx.targets.length; e++) {
    if (plan.tiers[e] !== k) continue;
    used += cx.offers[e]! - cx.remaining[e]!;
    cap += cx.targets[e]!.cap;
  }
  return cap > 0 ? used / cap : 0;
}

function reasonFor(cx: ReasonContext, plan: RowPlan, row: TermRow, e: number, bp: number, srcCloud: string, admReason: string): string {
  const { p, panic, verdict, targets } = cx;
  const { firstTier, usedTier } = plan;
  const t = targets[e]!;
  const targetBp = plan.target[e]!;
  const tier = plan.tiers[e]!;
  const parts: string[] = [];
  const tierText = `tier ${tier} (${tierLabel(p, tier)})`;
  if (panic) {
    parts.push(panicReason(verdict, p.panicThreshold));
    if (!t.eligible) parts.push(`normally ${t.reason}`);
    return parts.join('; ');
  }
  if (bp <= 0) {
    parts.push(tier > usedTier ? `standby: ${tierText}, takes traffic when nearer tiers fail or fill` : `${tierText}: no spare capacity left this round`);
  } else if (plan.rule) {
    const to = plan.rule.to.find((d) => matches(d.matcher, t.loc));
    if (to) parts.push(`distribute from ${plan.rule.fromText}: ${Math.round(to.share * 100)}% to ${to.text}`);
    if (plan.failover && plan.failover[e]! > EPS) {
      const names = plan.failed.map((f) => `${f.text} (${Math.round(f.share * 100)}%)`).join(', ');
      parts.push(`${tierText}: takes by failover order the share of ${names}, which has no eligible zone`);
    }
  } else if (plan.overflow && plan.weights && plan.overflow[e]! > 0 && plan.overflow[e]! >= plan.weights[e]! - EPS) {
    parts.push(`${tierText}: overflow, every tier is at ${percent(p.u)} target utilisation`);
  } else if (tier > firstTier) {
    let prev = -1;
    for (let x = 0; x < targets.length; x++) if (plan.tiers[x]! < tier) prev = Math.max(prev, plan.tiers[x]!);
    parts.push(`${tierText}: spillover, tier ${prev} at ${percent(tierUtil(cx, plan, prev))} utilisation (target ${percent(p.u)})`);
  } else if (plan.demand <= 0) {
    parts.push(`${tierText}: nearest eligible tier; no demand measured from this zone`);
  } else {
    parts.push(`${tierText}: nearest tier has room, ${percent(tierUtil(cx, plan, tier))} utilised (target ${percent(p.u)})`);
  }
  parts.push(...termReasons(p, row, targets, e));
  if (plan.capped && bp > 0) parts.push(capReason(p, t.loc.cloud !== srcCloud));
  if (admReason !== '') parts.push(admReason);
  if (bp !== targetBp) parts.push(`damped: moving to ${targetBp} bp by at most ${p.maxStep}/round`);
  return parts.join('; ');
}


/**
 * Computes every service's weight table. Services are those any zone reports, any policy names, or the last round
 * remembers. Services without a policy use defaultPolicy. Pure: same inputs, same outputs.
 */
export function computeWeights(snapshot: FederationSnapshot, policies: ReadonlyMap<ServiceKey, Policy>, previous: EngineState | undefined, now: number): EngineResult {
  const index = indexSnapshot(snapshot);
  const keys = new Set<ServiceKey>();
  // One pass over every report builds each service's list, so no service looks itself up in every zone.
  const byService = new Map<ServiceKey, { pos: number[]; stats: ServiceStats[] }>();
  for (let i = 0; i < index.zones.length; i++) {
    for (const [k, s] of index.zones[i]!.services) {
      let l = byService.get(k);
      if (l === undefined) {
        byService.set(k, (l = { pos: [], stats: [] }));
        keys.add(k);
      }
      l.pos.push(i);
      l.stats.push(s);
    }
  }
  // Exact copies: results keep their service's reports until rows are read, and an array grown by push reserves 17 slots.
  for (const l of byService.values()) {
    l.pos = l.pos.slice();
    l.stats = l.stats.slice();
  }
  index.byService = byService;
  // The same for asked demand: one pass over every source's demand map, not a lookup per (service, source).
  const demandBy = new Map<ServiceKey, { src: number[]; rps: number[] }>();
  for (let s = 0; s < index.sources.length; s++) {
    for (const [k, d] of index.sources[s]!.demandRps) {
      if (!(d > 0 && Number.isFinite(d))) continue;
      let l = demandBy.get(k);
      if (l === undefined) demandBy.set(k, (l = { src: [], rps: [] }));
      l.src.push(s);
      l.rps.push(d);
    }
  }
  index.demandBy = demandBy;
  for (const k of policies.keys()) keys.add(k);
  // Last round's sorted keys, when the set is the same (the usual case), save sorting every key again.
  const lastSorted = previous !== undefined ? (previous as WithKept)[SORTED] : undefined;
  const lastMems = previous !== undefined ? (previous as WithKept)[MEMS] : undefined;
  if (lastSorted !== undefined && lastMems !== undefined) {
    for (let i = 0; i < lastSorted.length; i++) if (lastMems[i] !== undefined) keys.add(lastSorted[i]!);
  } else if (previous) for (const k of Object.keys(previous.services)) keys.add(k);
  let sorted: readonly ServiceKey[];
  if (lastSorted !== undefined && lastSorted.length === keys.size && lastSorted.every((k) => keys.has(k))) sorted = lastSorted;
  else sorted = [...keys].sort();
  const kept = previous !== undefined ? (previous as WithKept)[KEPT] : undefined;
  // Kept results, aligned with `sorted` like the memories (undefined: not settled, nothing kept).
  const keep = new Array<Kept | undefined>(sorted.length).fill(undefined);
  const tables = new Map<ServiceKey, ServiceTable>();
  const verdicts: ZoneVerdict[] = [];
  const mems = new Array<ServiceMemory | undefined>(sorted.length);
  const aligned = lastSorted === sorted && lastMems !== undefined;
  for (let i = 0; i < sorted.length; i++) {
    const key = sorted[i]!;
    const prevMem = aligned ? lastMems[i] : memoryOf(previous, key);
    const lastAt = kept === undefined || lastSorted === undefined ? -1 : aligned ? i : sortedIndex(lastSorted, key);
    const r = computeService(index, key, policyFor(key, policies), prevMem, now, policies.has(key), lastAt >= 0 ? kept![lastAt] : undefined, keep, i, verdicts);
    if (r.table) tables.set(key, r.table);
    mems[i] = r.table ? r.memory : undefined;
  }
  return { tables, verdicts, state: stateOf(sorted, mems, keep) };
}

/** Recomputes one service only (the incremental path); same semantics as computeWeights restricted to it. */
export function computeServiceWeights(snapshot: FederationSnapshot, service: ServiceKey, policy: Policy | undefined, previous: EngineState | undefined, now: number): ServiceResult {
  return computeServiceFromIndex(indexSnapshot(snapshot), service, policy ?? policyFor(service, new Map()), memoryOf(previous, service), now, policy !== undefined);
}

/** A copy of `previous` with one service's memory replaced (O(services); callers doing many updates may batch). */
export function withServiceMemory(previous: EngineState | undefined, service: ServiceKey, memory: ServiceMemory | undefined): EngineState {
  const services: Record<ServiceKey, ServiceMemory> = { ...(previous?.services ?? {}) };
  if (memory === undefined) delete services[service];
  else services[service] = memory;
  return { format: 2, services };
}
