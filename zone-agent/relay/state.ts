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
}

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
 * Applies a WeightTables message to the held tables. A full message replaces everything; an update changes the
 * listed tables and deletes the removed ones.
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
