// The weight engine's contract: the snapshot it reads, the tables it writes, and the memory it carries between rounds.
import type { Locality } from '../../api/locality.ts';
import type { Policy } from '../../api/policy.ts';

export type { Policy } from '../../api/policy.ts';

/** "namespace/name" */
export type ServiceKey = string;

/** Error counts by class. */
export interface ErrorCounts {
  readonly http5xx: number;
  readonly connectFailure: number;
  readonly timeout: number;
  readonly reset: number;
}

/**
 * What one source zone's clients saw from one zone's copy of a service (ASKED evidence from that source's report
 * alone): the source's own word about its path to the destination.
 */
export interface SourceEvidence {
  /** The source (caller) zone. */
  readonly zone: string;
  readonly requests: number;
  readonly successes: number;
  readonly errors: ErrorCounts;
  /** Outlier-ejection gauges of the source's sidecars for this destination (0 when not reported). */
  readonly sidecarsKnowing: number;
  readonly sidecarsEjectingAll: number;
}

/**
 * What every caller zone saw from one zone's copy of a service (ASKED evidence, summed over the source zones'
 * reports): a failure a client saw belongs to the destination zone that served it.
 */
export interface CallerEvidence {
  /** Requests the zone answered or failed, as its callers counted them. */
  readonly requests: number;
  readonly successes: number;
  readonly errors: ErrorCounts;
  /** Caller zones that contributed. */
  readonly sources: readonly string[];
  /**
   * Outlier ejection, gauges of the callers' latest reports: caller sidecars that know this zone's endpoints, and
   * those that have ejected every one of them (callers stop sending to a zone they ejected, so this evidence outlives
   * their last failed request). Absent in evidence built without gauges.
   */
  readonly sidecarsKnowing?: number;
  readonly sidecarsEjectingAll?: number;
  /** Caller zones with a sidecar that ejected every endpoint. */
  readonly ejectingSources?: readonly string[];
  /**
   * The same evidence per source zone, sorted by zone (the sums above are over these). A source's own evidence about
   * its path outweighs the other callers' (see paths.ts). Absent in evidence built without it: every source is then
   * judged by the sums alone.
   */
  readonly bySource?: readonly SourceEvidence[];
}

/**
 * One service in one zone, from the zone's latest report. Everything here is SERVED by the zone's own endpoints
 * (inbound), except `callers`, which is what other zones' clients (and its own) saw when they called it.
 */
export interface ServiceStats {
  readonly healthyEndpoints: number;
  readonly totalEndpoints: number;
  /** Requests per second the zone's endpoints can serve at 100% utilisation. */
  readonly capacityRps: number;
  /** Requests per second served by this zone's endpoints over the window (from any caller). */
  readonly rps: number;
  /** Requests this zone's endpoints were answering when the window closed. */
  readonly inFlight: number;
  /** Successful answers of this zone's endpoints over the report window. */
  readonly successes: number;
  /** Failures of this zone's endpoints over the report window. */
  readonly errors: ErrorCounts;
  /** Served latency (from the merged histogram), when the window had requests. */
  readonly latencyP50Ms?: number;
  readonly latencyP99Ms?: number;
  /** What callers saw from this zone; absent when no caller reported on it. */
  readonly callers?: CallerEvidence;
}

/** One zone as the engine sees it. */
export interface ZoneState {
  /** locality.zone is the zone's key. */
  readonly locality: Locality;
  readonly network: string;
  /** The agent's lease exists. */
  readonly alive: boolean;
  /** Operator drain (applies to every service). */
  readonly drained: boolean;
  /** ms since epoch. */
  readonly reportedAt: number;
  readonly services: ReadonlyMap<ServiceKey, ServiceStats>;
  /** Round-trip time to other zones, by zone name. */
  readonly rttMs: ReadonlyMap<string, number>;
  /**
   * ASKED: requests per second this zone's clients send to each service (its outbound demand), whether or not the
   * zone hosts a copy. A service missing here had no measured demand from this zone.
   */
  readonly demandRps: ReadonlyMap<ServiceKey, number>;
  /**
   * For a zone whose agent lease is gone (alive false): how long ago it went. Its endpoints are not presumed dead: it
   * stays eligible while callers still see it serve, for STALE_GRACE_MS (see eligibility.ts). Absent: gone for good.
   */
  readonly leaseGoneForMs?: number;
}

/** Everything the engine reads in one round. */
export interface FederationSnapshot {
  readonly zones: readonly ZoneState[];
}

/** The share of one source zone's requests sent to one destination zone. */
export interface TargetShare {
  readonly zone: string;
  /** 0..10000; the targets of a row sum to 10000 whenever any has a share. */
  readonly basisPoints: number;
  /** Failover tier seen from the source; 0 is the nearest. */
  readonly tier: number;
  /** Why this zone got this share, in plain words. */
  readonly reason: string;
}

/** Where one source zone's requests for a service go. */
export interface SourceRow {
  readonly sourceZone: string;
  /**
   * Zones with a share, the eligible zones of the next two unused tiers (0 bp, "standby", so the data plane can fail
   * over tier by tier on its own), then ineligible zones (0 bp, with why they are out). Sorted by tier, then zone
   * name. A row restricted by residency lists only the zones it may use.
   */
  readonly targets: readonly TargetShare[];
  /** Too little healthy capacity remained: traffic is spread over every zone with any healthy endpoint. */
  readonly panic: boolean;
  /** Present (true) when a residency rule restricts this source: a data plane must never send to a zone not listed. */
  readonly exclusive?: boolean;
  /** Present when no target has a share: why no (allowed) zone can serve. */
  readonly unavailableReason?: string;
}

/** One service's weights from every source zone. */
export interface ServiceTable {
  readonly service: ServiceKey;
  readonly namespace: string;
  readonly name: string;
  /** Content hash of the rows' zones, basis points, tiers and panic flags (not reasons, not computedAt); equality only. */
  readonly version: string;
  readonly computedAt: number;
  /** One per alive source zone, sorted by zone name. */
  readonly rows: readonly SourceRow[];
}

/** Whether a zone may receive a service's traffic, and why. */
export interface ZoneVerdict {
  readonly zone: string;
  readonly service: ServiceKey;
  readonly eligible: boolean;
  readonly reason: string;
}

/**
 * Per (service, zone) hysteresis memory.
 * Invariant: status 'out' ⇒ the zone gets no share (except in panic); 'holding' ⇒ healthy since `since` but not yet
 * readmitted (holdDown not over), gets no share; 'in' ⇒ eligible, ramping while now < rampStart + slowStart.
 */
export interface ZoneMemory {
  readonly status: 'in' | 'out' | 'holding';
  /** 'out': when it went out; 'holding': when it became healthy again; 'in': when it was admitted. */
  readonly since: number;
  /** When the slow-start ramp began; absent when the zone was admitted without a ramp. */
  readonly rampStart?: number;
  /** Why it went out (kept while holding, for reasons). */
  readonly outReason?: string;
  /** Last round the zone was in the snapshot with this service; memory of long-gone zones is forgotten. */
  readonly lastSeen: number;
  /** Where the zone was last seen, so a vanished zone can still be placed in a tier when its reason is shown. */
  readonly locality?: Locality;
  /**
   * 'out' or 'holding' only: the zone went out on its callers' evidence alone (its served health, lease, drain and
   * endpoints were fine), so a source whose own path to it is healthy may keep it (see paths.ts).
   */
  readonly byCallers?: true;
  /** Sources whose own path to this zone failed and is out or held down (see paths.ts); absent when none. */
  readonly paths?: Readonly<Record<string, PathMemory>>;
}

/**
 * Hysteresis of one (source, destination) path, kept only while the path is out or held down.
 * Invariant: 'out' ⇒ the destination gets no share from this source (outside panic), whatever other callers see;
 * 'holding' ⇒ the source's own evidence is no longer bad since `since`, and the destination stays out for it until
 * holdDown has passed; then the entry is dropped and the source follows the destination's own verdict again.
 */
export interface PathMemory {
  readonly status: 'out' | 'holding';
  /** 'out': when the path went out; 'holding': since when the source's evidence is no longer bad. */
  readonly since: number;
  readonly outReason: string;
}

/** One service's memory. */
export interface ServiceMemory {
  readonly zones: Readonly<Record<string, ZoneMemory>>;
  /**
   * Source zones of the round this memory is from. Every service of a round shares one array, so the engine maps
   * it onto the next round's sources once per round, not once per service.
   */
  readonly sources: readonly string[];
  /** rowOf[i]: index into `rows` of the weights last published from sources[i]. */
  readonly rowOf: readonly number[];
  /** The zones that could receive traffic last round (eligible, or every healthy zone in panic). */
  readonly targets: readonly string[];
  /** Distinct published rows (sources that shared a row share its entry): rows[r][e] = basis points to targets[e]. */
  readonly rows: readonly (readonly number[])[];
}

/**
 * Memory carried between rounds: hysteresis timers, slow-start ramps, last weights for damping. Opaque to callers,
 * JSON-serialisable. In a state a full round returns, `services` is an own enumerable getter that builds the record
 * on first read (the engine itself reads its memories by position); treat it as read-only.
 */
export interface EngineState {
  /** 2: weights kept as shared rows (ServiceMemory.rows); memory is never persisted, so no older format is read. */
  readonly format: 2;
  readonly services: Readonly<Record<ServiceKey, ServiceMemory>>;
}

/** The outcome of a full round. */
export interface EngineResult {
  readonly tables: ReadonlyMap<ServiceKey, ServiceTable>;
  readonly verdicts: readonly ZoneVerdict[];
  /** Pass back as `previous` next round. */
  readonly state: EngineState;
}

/** The outcome of recomputing one service. */
export interface ServiceResult {
  /** Undefined when no zone has the service and no zone remembers it. */
  readonly table: ServiceTable | undefined;
  readonly verdicts: readonly ZoneVerdict[];
  /** Store with `withServiceMemory(previous, service, memory)`. */
  readonly memory: ServiceMemory;
}

/** Signature of the full recompute (implemented in engine.ts). */
export type ComputeWeights = (
  snapshot: FederationSnapshot,
  policies: ReadonlyMap<ServiceKey, Policy>,
  previous: EngineState | undefined,
  now: number,
) => EngineResult;

/** Signature of the one-service recompute; same semantics as ComputeWeights restricted to `service`. */
export type ComputeServiceWeights = (
  snapshot: FederationSnapshot,
  service: ServiceKey,
  policy: Policy | undefined,
  previous: EngineState | undefined,
  now: number,
) => ServiceResult;
