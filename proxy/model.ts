// Pure translation of a relayed sidecar config into what HAProxy runs: per service, its servers, its backends and their weights.
import type { PolicyConfig, SidecarConfig } from '../api/sidecar-config.ts';
import { serviceHost, serviceHosts } from '../sidecar/balancer/endpoints.ts';
import { gatewaySni } from '../sidecar/gateway/sni.ts';
import { haproxyWeights } from './weights.ts';

/** One upstream server: a mesh endpoint, reached directly or through its zone's east-west gateway. */
export interface ProxyServer {
  /** HAProxy server name, unique in the service: `<zone>_<host>_<port>` with unsafe characters as `_`. */
  readonly name: string;
  readonly zone: string;
  /** What HAProxy connects to: the endpoint, or the gateway of its zone when that zone is on another network. */
  readonly host: string;
  readonly port: number;
  /**
   * Set only for a hop through a gateway: TLS SNI in the east-west form `outbound_.PORT_._.HOST`, which the gateway
   * routes on. Direct hops send no SNI: HAProxy 2.6 checks a sent SNI against the peer certificate's DNS names, and
   * meshfed workload certificates carry only a SPIFFE URI (docs/native-proxies.md, "mTLS").
   */
  readonly sni?: string;
  /** False when the zone agent's probes say the endpoint is down: the server stays, in maintenance (no churn, no reload). */
  readonly healthy: boolean;
}

/** Every endpoint the agent knows per service and zone, healthy or not (the relayed config keeps only the healthy ones). */
export type KnownEndpoints = Readonly<Record<string, Readonly<Record<string, readonly { readonly host: string; readonly port: number; readonly healthy: boolean }[]>>>>;

/** A backend: the same servers as every other backend of its service, each with its weight here (0 = none). */
export interface ProxyBackend {
  readonly name: string;
  /** server name -> weight 0..256 */
  readonly weights: Readonly<Record<string, number>>;
}

/** What HAProxy does per try, from the service's resilience policy (docs/native-proxies.md, "Policies"). */
export interface ProxyPolicy {
  /** `timeout server`: the per-try deadline when set, else the route timeout. */
  readonly timeoutServerMs: number;
  /** `retries`: tries after the first. */
  readonly retries: number;
  /** `retry-on` conditions. */
  readonly retryOn: readonly string[];
  /** `observe layer7` + `error-limit`: consecutive errors that mark a server down (0 = off). */
  readonly errorLimit: number;
}

/** One destination service. */
export interface ProxyService {
  readonly service: string;
  /** Authorities (no port) that name it in the Host header. */
  readonly hosts: readonly string[];
  readonly servers: readonly ProxyServer[];
  /**
   * The weighted backend first (the relayed row: basis points times endpoint shares), then one backend per tier
   * rank (rank 0 = nearest tier), each giving equal zone shares to the zones of that tier. The frontend picks the
   * first whose usable servers (up and weight > 0) are not none, so HAProxy's own health checks fail over in tier order.
   */
  readonly backends: readonly ProxyBackend[];
  readonly policy: ProxyPolicy;
}

/** Everything the adapter makes HAProxy do, for one relayed state. */
export interface ProxyModel {
  readonly zone: string;
  readonly services: readonly ProxyService[];
}

/** A name HAProxy accepts for proxies, servers and ACLs. */
export function haproxyName(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** The weighted backend of a service, e.g. `shop.catalog`; tier rank k is `shop.catalog.tier<k>`. */
export function backendName(service: string, rank?: number): string {
  const base = haproxyName(service.replace('/', '.'));
  return rank === undefined ? base : `${base}.tier${rank}`;
}

const RETRY_ON: Readonly<Record<string, readonly string[]>> = {
  'connect-failure': ['conn-failure'],
  reset: ['empty-response', 'junk-response'],
  '503': ['503'],
  'gateway-error': ['502', '503', '504'],
};

/** The per-try behaviour of a policy. */
export function proxyPolicy(p: PolicyConfig): ProxyPolicy {
  const retryOn = [...new Set(p.retry.retryOn.flatMap((c) => RETRY_ON[c] ?? []))];
  const od = p.outlierDetection as { consecutive5xx?: number };
  return {
    timeoutServerMs: p.retry.perTryTimeout > 0 ? p.retry.perTryTimeout : p.timeout,
    retries: Math.max(0, p.retry.attempts - 1),
    retryOn,
    errorLimit: Math.max(0, od.consecutive5xx ?? 0),
  };
}

/**
 * The service's endpoints as servers, each through its zone's gateway when the zone is on another network. Known
 * endpoints that the config lacks (unhealthy ones) are servers too, marked unhealthy; without `known`, only the
 * config's (healthy) endpoints are servers.
 */
function serversOf(cfg: SidecarConfig, service: string, zone: string, known: KnownEndpoints[string] | undefined): ProxyServer[] {
  const svc = cfg.services[service]!;
  const own = cfg.zones[zone]?.network;
  const sni = gatewaySni({ port: svc.port, subset: '', host: serviceHost(service) });
  const lists: Record<string, { host: string; port: number; healthy: boolean }[]> = {};
  for (const [z, list] of Object.entries(svc.endpoints)) lists[z] = list.map((e) => ({ host: e.address.host, port: e.address.port, healthy: true }));
  for (const [z, list] of Object.entries(known ?? {})) {
    if (cfg.zones[z] === undefined) continue;
    for (const e of list) if (!(lists[z] ??= []).some((x) => x.host === e.host && x.port === e.port)) lists[z]!.push({ host: e.host, port: e.port, healthy: false });
  }
  const out: ProxyServer[] = [];
  for (const [z, list] of Object.entries(lists).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const info = cfg.zones[z];
    const gw = own !== undefined && info !== undefined && info.network !== own ? info.gateway : undefined;
    for (const e of [...list].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : a.port - b.port))) {
      const name = haproxyName(`${z}_${e.host}_${e.port}`);
      if (out.some((s) => s.name === name)) continue;
      out.push({ name, zone: z, host: gw ? gw.host : e.host, port: gw ? gw.port : e.port, ...(gw ? { sni } : {}), healthy: e.healthy });
    }
  }
  return out;
}

/** Every endpoint of a relayed state's zones per service (ns/name) and zone, with the agent's health verdict. */
export function knownEndpoints(zones: readonly { readonly locality?: { readonly zone: string } | null; readonly services: readonly { readonly namespace: string; readonly name: string; readonly endpoints: readonly { readonly address: string; readonly port: number; readonly healthy: boolean }[] }[] }[]): KnownEndpoints {
  const out: Record<string, Record<string, { host: string; port: number; healthy: boolean }[]>> = {};
  for (const z of zones) {
    const zone = z.locality?.zone;
    if (!zone) continue;
    for (const s of z.services) ((out[`${s.namespace}/${s.name}`] ??= {})[zone] = s.endpoints.map((e) => ({ host: e.address, port: e.port, healthy: e.healthy })));
  }
  return out;
}

/** server name -> weight for per-zone shares (any scale), split equally over each zone's servers. */
function weightsFor(servers: readonly ProxyServer[], zoneShare: (zone: string) => number): Record<string, number> {
  // Unhealthy servers are in maintenance; the zone's share goes to its healthy ones, as in the Node sidecar.
  const count = new Map<string, number>();
  for (const s of servers) if (s.healthy) count.set(s.zone, (count.get(s.zone) ?? 0) + 1);
  const w = haproxyWeights(servers.map((s) => (s.healthy ? zoneShare(s.zone) / (count.get(s.zone) as number) : 0)));
  return Object.fromEntries(servers.map((s, i) => [s.name, w[i] as number]));
}

/**
 * The model of one service. Without a relayed row every zone with endpoints gets an equal share in tier 0 (as the
 * Node sidecar does). An exclusive row lists every zone it allows, so no backend ever holds weight for another.
 */
function serviceModel(cfg: SidecarConfig, service: string, zone: string, rankCount: number, known: KnownEndpoints | undefined): ProxyService {
  const svc = cfg.services[service]!;
  const servers = serversOf(cfg, service, zone, known?.[service]);
  const zonesWithServers = [...new Set(servers.filter((s) => s.healthy).map((s) => s.zone))];
  const bp: Record<string, number> = svc.weights ? { ...svc.weights } : Object.fromEntries(zonesWithServers.map((z) => [z, 1]));
  const tiers: Record<string, number> = svc.tiers ? { ...svc.tiers } : Object.fromEntries(Object.keys(bp).map((z) => [z, 0]));
  const tierValues = [...new Set(Object.values(tiers))].sort((a, b) => a - b);
  const backends: ProxyBackend[] = [{ name: backendName(service), weights: weightsFor(servers, (z) => bp[z] ?? 0) }];
  for (let rank = 0; rank < rankCount; rank++) {
    const tier = tierValues[rank];
    backends.push({ name: backendName(service, rank), weights: weightsFor(servers, (z) => (tier !== undefined && tiers[z] === tier ? 1 : 0)) });
  }
  return { service, hosts: serviceHosts(service, svc), servers, backends, policy: proxyPolicy(svc.policy) };
}

/**
 * The whole model; `known` (knownEndpoints of the relayed state) keeps unhealthy endpoints as servers in
 * maintenance, so a failing endpoint is a state change and not a deletion. Every service gets one tier backend per zone the state declares (ranks unused by its row have
 * only weight 0), so a change of tiers or weights never changes the structure: only the zones declared, the
 * services, their hosts, policies and endpoints do.
 */
export function buildProxyModel(cfg: SidecarConfig, zone: string, known?: KnownEndpoints): ProxyModel {
  const rankCount = Math.max(1, Object.keys(cfg.zones).length);
  const services = Object.keys(cfg.services).sort().map((s) => serviceModel(cfg, s, zone, rankCount, known));
  return { zone, services };
}
