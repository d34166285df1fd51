// Pure assembly of the state relayed to sidecars: directory + local endpoints + this zone's weight rows + policies + bundle.
import { createHash } from 'node:crypto';
import type { Locality } from '../../api/locality.ts';
import type { Directory__Output } from '../../api/generated/meshfed/v1/Directory.ts';
import type { WeightTable, WeightTable__Output } from '../../api/generated/meshfed/v1/WeightTable.ts';
import type { TrustBundle__Output } from '../../api/generated/meshfed/v1/TrustBundle.ts';
import type { ZoneEntry } from '../../api/generated/meshfed/v1/ZoneEntry.ts';
import type { RelayState } from '../../api/generated/meshfed/v1/RelayState.ts';
import type { ServicePolicy } from '../../api/generated/meshfed/v1/ServicePolicy.ts';
import type { LocalService } from '../discovery/model.ts';

/** What the balancer last told the agent; exactly what fail-static persists. */
export interface BalancerState {
  readonly directory: Directory__Output | undefined;
  /** Every weight table, keyed "namespace/name". */
  readonly weights: Readonly<Record<string, WeightTable__Output>>;
  readonly bundle: TrustBundle__Output | undefined;
  /** When weights last arrived from the balancer (unix ms); 0 = never. */
  readonly weightsReceivedAtMs: number;
  /**
   * Zones kept in `directory` although the latest Directory lacked them: zone -> when a Directory first lacked it
   * (unix ms). Absent or empty when nothing is held over. See mergeDirectory.
   */
  readonly heldZones?: Readonly<Record<string, number>>;
  /** Tables kept in `weights` although the latest full WeightTables lacked them: key -> when first lacked. See mergeWeights. */
  readonly heldTables?: Readonly<Record<string, number>>;
}

/**
 * How long a zone missing from the balancer's Directory, or a table missing from a full WeightTables, is kept with
 * its last content (60 s, the balancer's STALE_GRACE_MS). Longer than its cold-start grace (10 s by default), so a zone whose agent is
 * merely slow to reconnect after an outage is never dropped; short enough that a zone that is really gone leaves
 * soon (its weights already drop to 0 at once, so sidecars stop picking it well before).
 */
export const HOLD_MISSING_MS = 60_000;

export const EMPTY_BALANCER_STATE: BalancerState = Object.freeze({ directory: undefined, weights: Object.freeze({}), bundle: undefined, weightsReceivedAtMs: 0 });

/** The agent's own identity in the federation. */
export interface ZoneIdentityInfo {
  readonly locality: Locality;
  readonly cluster: string;
  readonly network: string;
  readonly gatewayAddress: string;
}

/** Everything that goes into one relayed state. */
export interface RelayInputs {
  readonly self: ZoneIdentityInfo;
  readonly local: readonly LocalService[];
  readonly balancer: BalancerState;
  /** Policy JSON per "namespace/name". */
  readonly policies: Readonly<Record<string, string>>;
  readonly faultsJson: string;
  /** True while the balancer is unreachable (the weights are the last good ones). */
  readonly stale: boolean;
}

/**
 * Applies a WeightTables message to the held tables, naively: a full message replaces everything; an update changes
 * the listed tables and deletes the removed ones. The agent uses mergeWeights instead, which never lets a full
 * message drop a table it merely omits.
 */
export function applyWeights(
  held: Readonly<Record<string, WeightTable__Output>>,
  msg: { readonly tables: readonly WeightTable__Output[]; readonly full: boolean; readonly removed: readonly string[] },
): Record<string, WeightTable__Output> {
  const next: Record<string, WeightTable__Output> = msg.full ? {} : { ...held };
  for (const key of msg.removed) delete next[key];
  for (const t of msg.tables) next[`${t.namespace}/${t.name}`] = t;
  return next;
}

type WeightsMessage = { readonly tables: readonly WeightTable__Output[]; readonly full: boolean; readonly removed: readonly string[] };

const zoneName = (z: { readonly locality?: { readonly zone: string } | null }): string => z.locality?.zone ?? '';

/**
 * Merges a fresh Directory into the held one. Rules:
 * - a zone the fresh Directory lists is taken exactly as listed (its services and endpoints are that zone's own
 *   report: a service it no longer lists is gone for real);
 * - a zone the held directory has and the fresh one lacks is kept, with its last endpoints, until `holdMs` after the
 *   first Directory that lacked it (a partial directory, e.g. from a balancer that restarted, never removes it);
 *   a later Directory listing it again clears that clock;
 * - after `holdMs` the zone is dropped (this is how a zone really leaves).
 * Invariant: the result lists every zone of `fresh`, sorted by name; `heldZones` names exactly the kept extra zones.
 */
export function mergeDirectory(state: BalancerState, fresh: Directory__Output, nowMs: number, holdMs: number = HOLD_MISSING_MS): BalancerState {
  const listed = new Set(fresh.zones.map(zoneName));
  const held: Record<string, number> = {};
  const kept: Directory__Output['zones'] = [];
  for (const z of state.directory?.zones ?? []) {
    const name = zoneName(z);
    if (name === '' || listed.has(name)) continue;
    const since = state.heldZones?.[name] ?? nowMs;
    if (nowMs - since >= holdMs) continue;
    held[name] = since;
    kept.push(z);
  }
  const zones = [...fresh.zones, ...kept].sort((a, b) => (zoneName(a) < zoneName(b) ? -1 : zoneName(a) > zoneName(b) ? 1 : 0));
  return { ...state, directory: { version: fresh.version, zones }, heldZones: held };
}

/**
 * Merges a WeightTables message into the held tables and stamps the receipt time. Rules:
 * - a listed table replaces the held one; a table in `removed` is deleted at once (the balancer says it is gone);
 * - an update (`full: false`) leaves every other table alone;
 * - a full message does NOT drop a held table it omits: the table is kept until `holdMs` after the first full message
 *   that lacked it, unless a later message lists it (clock cleared) or removes it.
 * Invariant: `heldTables` names only tables still held that the last full message omitted.
 */
export function mergeWeights(state: BalancerState, msg: WeightsMessage, nowMs: number, holdMs: number = HOLD_MISSING_MS): BalancerState {
  const weights: Record<string, WeightTable__Output> = { ...state.weights };
  const held: Record<string, number> = { ...(state.heldTables ?? {}) };
  for (const key of msg.removed) {
    delete weights[key];
    delete held[key];
  }
  const listed = new Set<string>();
  for (const t of msg.tables) {
    const key = `${t.namespace}/${t.name}`;
    listed.add(key);
    weights[key] = t;
    delete held[key];
  }
  if (msg.full) {
    for (const key of Object.keys(weights)) {
      if (listed.has(key)) continue;
      const since = held[key] ?? nowMs;
      if (nowMs - since >= holdMs) {
        delete weights[key];
        delete held[key];
      } else held[key] = since;
    }
  }
  return { ...state, weights, heldTables: held, weightsReceivedAtMs: nowMs };
}

/** Drops held-over zones and tables whose hold ran out by `nowMs`; returns `state` itself when nothing expired. */
export function expireHeld(state: BalancerState, nowMs: number, holdMs: number = HOLD_MISSING_MS): BalancerState {
  const due = (since: number) => nowMs - since >= holdMs;
  const zonesDue = Object.entries(state.heldZones ?? {}).filter(([, since]) => due(since)).map(([z]) => z);
  const tablesDue = Object.entries(state.heldTables ?? {}).filter(([, since]) => due(since)).map(([k]) => k);
  if (zonesDue.length === 0 && tablesDue.length === 0) return state;
  const gone = new Set(zonesDue);
  const heldZones = Object.fromEntries(Object.entries(state.heldZones ?? {}).filter(([z]) => !gone.has(z)));
  const heldTables = Object.fromEntries(Object.entries(state.heldTables ?? {}).filter(([k]) => !tablesDue.includes(k)));
  const weights = Object.fromEntries(Object.entries(state.weights).filter(([k]) => !tablesDue.includes(k)));
  const directory = state.directory && { ...state.directory, zones: state.directory.zones.filter((z) => !gone.has(zoneName(z))) };
  return { ...state, directory, weights, heldZones, heldTables };
}

/** When the next held-over zone or table expires (unix ms), or undefined when nothing is held over. */
export function nextHeldExpiry(state: BalancerState, holdMs: number = HOLD_MISSING_MS): number | undefined {
  const all = [...Object.values(state.heldZones ?? {}), ...Object.values(state.heldTables ?? {})];
  return all.length === 0 ? undefined : Math.min(...all) + holdMs;
}

function sortedKeys<T>(o: Readonly<Record<string, T>>): string[] {
  return Object.keys(o).sort();
}

/**
 * Builds the sidecars' view. Rules: this zone's endpoints come from local discovery (fresher than the directory,
 * which is built from reports); zones on another network keep their gateway address, zones on this network get
 * none (their endpoints are reached directly); weight tables keep only the row whose source is this zone.
 * Invariant: equal inputs give an equal version; the version ignores nothing that a sidecar acts on.
 */
export function buildRelayState(inputs: RelayInputs): RelayState {
  const { self, local, balancer } = inputs;
  const zones: ZoneEntry[] = [];
  const localEntry: ZoneEntry = {
    locality: { ...self.locality },
    cluster: self.cluster,
    network: self.network,
    gateway_address: '',
    services: local.map((s) => ({
      namespace: s.namespace,
      name: s.name,
      endpoints: s.endpoints.map((e) => ({ address: e.address, port: e.port, healthy: e.healthy, labels: { ...e.labels } })),
    })),
  };
  zones.push(localEntry);
  const others = [...(balancer.directory?.zones ?? [])]
    .filter((z) => z.locality?.zone !== self.locality.zone)
    .sort((a, b) => ((a.locality?.zone ?? '') < (b.locality?.zone ?? '') ? -1 : 1));
  for (const z of others) {
    zones.push({
      locality: z.locality ? { cloud: z.locality.cloud, region: z.locality.region, zone: z.locality.zone } : null,
      cluster: z.cluster,
      network: z.network,
      gateway_address: z.network === self.network ? '' : z.gateway_address,
      services: z.services.map((s) => ({
        namespace: s.namespace,
        name: s.name,
        endpoints: s.endpoints.map((e) => ({ address: e.address, port: e.port, healthy: e.healthy, labels: { ...e.labels } })),
      })),
    });
  }
  const weights: WeightTable[] = [];
  for (const key of sortedKeys(balancer.weights)) {
    const t = balancer.weights[key] as WeightTable__Output;
    const rows = t.sources.filter((s) => s.source_zone === self.locality.zone);
    if (rows.length === 0) continue;
    weights.push({ namespace: t.namespace, name: t.name, version: t.version, computed_at_unix_ms: t.computed_at_unix_ms, sources: rows });
  }
  const policies: ServicePolicy[] = sortedKeys(inputs.policies).map((key) => {
    const [namespace, name] = key.split('/') as [string, string];
    return { namespace, name, policy_json: inputs.policies[key] as string };
  });
  const content = {
    locality: { ...self.locality },
    network: self.network,
    zones,
    weights,
    policies,
    faults_json: inputs.faultsJson,
    trust_bundle: balancer.bundle ?? null,
    stale: inputs.stale,
  };
  const version = createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 16);
  return { version, ...content, weights_received_at_unix_ms: balancer.weightsReceivedAtMs };
}
