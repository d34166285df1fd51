// Pure translation of the zone agent's RelayState (plus a local overlay) into the config the sidecar applies.
import type { RelayState__Output } from '../../api/generated/meshfed/v1/RelayState.ts';
import type { SourceWeights__Output } from '../../api/generated/meshfed/v1/SourceWeights.ts';
import { parseSidecarConfig, type SidecarConfig } from '../../api/sidecar-config.ts';
import { err, ok, describeError, MeshfedError, type Result } from '../../common/errors.ts';
import type { RelayOverlay } from '../../api/relay-overlay.ts';

/** What the agent does not carry and the workload's own deployment knows; kept across every relayed state. */
export type { RelayOverlay };

/**
 * Distributes `row` (zone -> basis points, any positive sum) over exactly 10000 by largest remainder, so the
 * sidecar schema's "sum is 10000" holds after zones unknown to the directory were dropped. Undefined when empty.
 */
export function normaliseRow(row: Readonly<Record<string, number>>): Record<string, number> | undefined {
  const entries = Object.entries(row).filter(([, v]) => v > 0).sort(([a], [b]) => (a < b ? -1 : 1));
  const sum = entries.reduce((s, [, v]) => s + v, 0);
  if (sum <= 0) return undefined;
  if (sum === 10000) return Object.fromEntries(entries);
  const scaled = entries.map(([z, v]) => ({ z, exact: (v * 10000) / sum }));
  const out: Record<string, number> = {};
  let given = 0;
  for (const s of scaled) given += out[s.z] = Math.floor(s.exact);
  const byRemainder = [...scaled].sort((a, b) => (b.exact - Math.floor(b.exact)) - (a.exact - Math.floor(a.exact)) || (a.z < b.z ? -1 : 1));
  for (let i = 0; given < 10000; i++, given++) out[byRemainder[i % byRemainder.length]!.z]! += 1;
  return out;
}

/** The sidecar config keys one relayed weight row becomes. */
export interface RelayedRow {
  readonly weights: Record<string, number>;
  readonly tiers: Record<string, number>;
  readonly exclusive?: true;
  readonly unavailableReason?: string;
}

/**
 * One source row as sidecar config keys. Every target zone the directory knows is kept with its tier, standby
 * targets (0 basis points) too, so the sidecar's own failover follows the engine's tiers; the shares of the known
 * zones are rescaled to 10000 (all 0 when none has one). A target zone listed twice keeps its nearest tier.
 * Undefined when no target is known and the row is not exclusive (the sidecar then uses equal shares, as without a
 * row); an exclusive row with no known target stays, empty, so nothing is ever sent elsewhere.
 */
export function rowOf(src: SourceWeights__Output, known: (zone: string) => boolean): RelayedRow | undefined {
  const bp: Record<string, number> = {};
  const tiers: Record<string, number> = {};
  for (const target of src.targets) {
    if (!known(target.zone)) continue;
    bp[target.zone] = (bp[target.zone] ?? 0) + Math.max(0, target.basis_points);
    tiers[target.zone] = Math.min(tiers[target.zone] ?? Infinity, Math.max(0, target.tier));
  }
  const zonesKnown = Object.keys(tiers).sort();
  if (zonesKnown.length === 0 && !src.exclusive) return undefined;
  const shares = normaliseRow(bp) ?? {};
  const weights = Object.fromEntries(zonesKnown.map((z) => [z, shares[z] ?? 0]));
  return {
    weights,
    tiers: Object.fromEntries(zonesKnown.map((z) => [z, tiers[z] as number])),
    ...(src.exclusive ? { exclusive: true as const } : {}),
    ...(src.unavailable_reason ? { unavailableReason: src.unavailable_reason } : {}),
  };
}

const POLICY_DURATIONS = [['timeout'], ['retry', 'perTryTimeout'], ['retry', 'backoffBase'], ['retry', 'backoffMax'], ['outlierDetection', 'baseEjectionTime'], ['outlierDetection', 'maxEjectionTime']] as const;

/**
 * The agent relays policies and faults as it parsed them, with durations as numbers of ms; the sidecar schema
 * wants units on durations, so numbers at duration paths become "Nms" (strings pass through unchanged).
 */
function withUnits(value: unknown, paths: readonly (readonly string[])[]): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const out = structuredClone(value) as Record<string, unknown>;
  for (const path of paths) {
    let node: Record<string, unknown> | undefined = out;
    for (const key of path.slice(0, -1)) node = typeof node?.[key] === 'object' && node[key] !== null ? (node[key] as Record<string, unknown>) : undefined;
    const last = path[path.length - 1] as string;
    if (node && typeof node[last] === 'number') node[last] = `${node[last]}ms`;
  }
  return out;
}

function faultsWithUnits(faults: unknown): unknown {
  const rules = (faults as { rules?: unknown } | null)?.rules;
  if (!Array.isArray(rules)) return faults;
  return { ...(faults as object), rules: rules.map((r) => withUnits(r, [['delay', 'fixed']])) };
}

/**
 * Builds the sidecar config for one relayed state. Rules: every zone of the state is declared with its network
 * and, when it is on another network, its gateway; only healthy endpoints are routed to; a weight row keeps every
 * target with its tier (rowOf), loses the zones the state does not list and is rescaled to 10000; the agent's policies and faults replace
 * the overlay's (the agent is the operator's voice), while routes, subsets, identities and authz come from the overlay.
 * Returns the problems as a value when the result does not validate, so the caller keeps its last good config.
 */
export function relayStateToConfig(state: RelayState__Output, zone: string, trustDomain: string, overlay: RelayOverlay = {}): Result<SidecarConfig, string> {
  const zones: Record<string, { network: string; gateway?: string }> = {};
  const services: Record<string, Record<string, unknown>> = {};
  const serviceOf = (key: string): Record<string, unknown> => {
    let s = services[key];
    if (!s) {
      const o = overlay.services?.[key];
      s = { endpoints: {} as Record<string, unknown[]>, ...(o ? structuredClone(o) : {}) };
      services[key] = s;
    }
    return s;
  };
  for (const key of Object.keys(overlay.services ?? {})) serviceOf(key);
  for (const z of state.zones) {
    const name = z.locality?.zone;
    if (!name) continue;
    zones[name] = z.gateway_address ? { network: z.network, gateway: z.gateway_address } : { network: z.network };
    for (const s of z.services) {
      const eps = s.endpoints.filter((e) => e.healthy).map((e) => ({ address: `${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port}`, labels: { ...e.labels } }));
      if (eps.length === 0) continue;
      (serviceOf(`${s.namespace}/${s.name}`)['endpoints'] as Record<string, unknown[]>)[name] = eps;
    }
  }
  for (const t of state.weights) {
    const src = t.sources.find((r) => r.source_zone === zone);
    if (!src) continue;
    const row = rowOf(src, (z) => zones[z] !== undefined);
    if (row) Object.assign(serviceOf(`${t.namespace}/${t.name}`), row);
  }
  for (const p of state.policies) {
    try {
      serviceOf(`${p.namespace}/${p.name}`)['policy'] = withUnits(JSON.parse(p.policy_json) as unknown, POLICY_DURATIONS);
    } catch (e) {
      return err(`policy of ${p.namespace}/${p.name} is not JSON: ${describeError(e)}`);
    }
  }
  let faults: unknown = { rules: [] };
  if (state.faults_json) {
    try {
      faults = faultsWithUnits(JSON.parse(state.faults_json) as unknown);
    } catch (e) {
      return err(`faults are not JSON: ${describeError(e)}`);
    }
  }
  const raw = {
    zone,
    trustDomain: state.trust_bundle?.trust_domain || trustDomain,
    zones,
    services,
    faults,
    ...(overlay.authz !== undefined ? { authz: overlay.authz } : {}),
  };
  try {
    return ok(parseSidecarConfig(JSON.stringify(raw), `relay state ${state.version}`));
  } catch (e) {
    if (e instanceof MeshfedError && e.details.length > 0) return err(e.details.join('; '));
    return err(describeError(e));
  }
}
