// Pure planning of a local federation: which sample instances run where, on which ports, and the files each part reads.
import type { Topology } from '../api/topology.ts';
import { topologyZones } from '../api/topology.ts';
import { CAPACITY_RPS_PER_ENDPOINT, SHOP_NAMESPACE, type ShopLayout } from '../api/federation-file.ts';
import type { EtcdMemberAddress } from './etcd.ts';

export { CAPACITY_RPS_PER_ENDPOINT, DEFAULT_SHOP, defaultPolicies, SHOP_NAMESPACE, type ShopLayout, type ShopPlacement, type ShopPolicy, type ShopService } from '../api/federation-file.ts';

/** One running instance: a sample app and its sidecar. */
export interface InstancePlan {
  readonly service: string;
  readonly version: string;
  /** e.g. "catalog-v1-0" */
  readonly instance: string;
  readonly appPort: number;
  readonly inboundPort: number;
  readonly outboundPort: number;
  readonly adminPort: number;
  /** What this replica can take (requests/s); the zone agent advertises the sum per service. */
  readonly capacityRps: number;
}

/** Everything one zone runs. */
export interface ZonePlan {
  readonly zone: string;
  readonly cloud: string;
  readonly region: string;
  readonly cluster: string;
  readonly network: string;
  /** The east-west gateway's listener: what the agent advertises to other networks. */
  readonly gatewayPort: number;
  /** The gateway's admin port (/ready, /stats, /metrics); the gateway runs as its own process. */
  readonly gatewayAdminPort: number;
  readonly agentAdminPort: number;
  readonly agentRelayPort: number;
  readonly instances: readonly InstancePlan[];
}

/** The whole local federation, written to `<run>/plan.json` and read by every zone's workload process. */
export interface FederationPlan {
  readonly trustDomain: string;
  readonly layout: ShopLayout;
  /** Admin URLs of the global-lb replicas, e.g. http://127.0.0.1:40001. */
  readonly adminUrls: readonly string[];
  /** Federation gRPC addresses of the replicas, host:port. */
  readonly grpcAddresses: readonly string[];
  /** The etcd members (`etcd-1` ... `etcd-N`), each a supervised component; none on the embedded store. */
  readonly etcdMembers: readonly EtcdMemberAddress[];
  readonly zones: readonly ZonePlan[];
}

/** Thrown for a layout that does not fit the topology (a config error the user must fix). */
export class PlanError extends Error {}

/**
 * Builds the plan. `port()` hands out the next free port (injected so the plan stays pure and testable).
 * Invariant: every port in the plan is distinct, and every placement names a zone of the topology and a service of the layout.
 */
export function buildPlan(topology: Topology, layout: ShopLayout, replicas: number, port: () => number, etcdMembers = 0): FederationPlan {
  const zones = topologyZones(topology);
  const names = new Set(zones.map((z) => z.locality.zone));
  const services = new Map(layout.services.map((s) => [s.name, s]));
  for (const p of layout.placements) {
    if (!names.has(p.zone)) throw new PlanError(`the shop places ${p.service} in zone "${p.zone}", which the topology does not declare (zones: ${[...names].join(', ')})`);
    if (!services.has(p.service)) throw new PlanError(`the shop places unknown service "${p.service}" (services: ${[...services.keys()].join(', ')})`);
  }
  for (const s of layout.services) {
    if (s.upstream !== undefined && !services.has(s.upstream)) throw new PlanError(`service ${s.name} calls unknown service "${s.upstream}"`);
  }
  const members: EtcdMemberAddress[] = [];
  // TLS on client and peer ports, with certificates required; /health on a plain metrics port of its own.
  for (let k = 1; k <= etcdMembers; k++) members.push({ name: etcdMemberName(k), clientPort: port(), peerPort: port(), metricsPort: port(), tls: true });
  const grpcAddresses: string[] = [];
  const adminUrls: string[] = [];
  for (let i = 0; i < replicas; i++) {
    grpcAddresses.push(`127.0.0.1:${port()}`);
    adminUrls.push(`http://127.0.0.1:${port()}`);
  }
  const zonePlans: ZonePlan[] = zones.map((z) => {
    const instances: InstancePlan[] = [];
    for (const p of layout.placements.filter((x) => x.zone === z.locality.zone)) {
      for (let i = 0; i < p.replicas; i++) {
        instances.push({
          service: p.service, version: p.version, instance: `${p.service}-${p.version}-${i}`,
          appPort: port(), inboundPort: port(), outboundPort: port(), adminPort: port(), capacityRps: p.capacityRps ?? CAPACITY_RPS_PER_ENDPOINT,
        });
      }
    }
    return {
      zone: z.locality.zone, cloud: z.locality.cloud, region: z.locality.region, cluster: z.cluster, network: z.network,
      gatewayPort: port(), agentAdminPort: port(), agentRelayPort: port(), gatewayAdminPort: port(), instances,
    };
  });
  return { trustDomain: topology.trustDomain, layout, adminUrls, grpcAddresses, etcdMembers: members, zones: zonePlans };
}

/** The mesh service name of a shop service, "shop/catalog". */
export function meshService(service: string): string {
  return `${SHOP_NAMESPACE}/${service}`;
}

/** A service name as a user writes it (`catalog` or `shop/catalog`), as the mesh names it (`shop/catalog`). */
export function qualifiedService(service: string): string {
  return service.includes('/') ? service : meshService(service);
}

/** The SPIFFE ID a shop service's workloads present. */
export function serviceIdentity(trustDomain: string, service: string): string {
  return `spiffe://${trustDomain}/ns/${SHOP_NAMESPACE}/sa/${service}`;
}

/** The resilience policy of every shop service (sidecar config shape); the agents relay it, and the overlay carries it too. */
export const SHOP_POLICY = {
  timeout: '5s',
  // A try that hangs (a blackholed path: connected, but the TLS handshake never answers) is cut after 2 s and
  // retried elsewhere, instead of holding the request until the 5 s route timeout fails it.
  retry: { attempts: 3, perTryTimeout: '2s', retryOn: ['connect-failure', 'reset', '503'] },
  // When a whole zone dies, every try in flight to it fails at once; at demo rates a handful are in flight, so the
  // budget's floor decides: Envoy's 3 denied one of ~25 retries in 3 kills of us-east-1a's catalog (a failed request).
  retryBudget: { percent: 20, minConcurrency: 10 },
  outlierDetection: { consecutive5xx: 5, consecutiveConnectFailures: 3, baseEjectionTime: '10s' },
} as const;

/**
 * Active health checks of the shop's endpoints: a dead endpoint is out of the relayed sets within about 1 s and back
 * at its first passed probe, which also ends the callers' outlier ejection of it (sidecar/balancer/outlier.ts). The
 * start-up grace keeps an instance that has not started yet (its ports are written before it runs) in until it does.
 */
const SHOP_HEALTH_CHECK = { interval: '500ms', timeout: '500ms', unhealthyThreshold: 2, healthyThreshold: 1, initialDelay: '30s' } as const;

/**
 * The zone agent's static discovery file for one zone: each service's endpoints are its sidecars' inbound ports,
 * probed on their admin port, with the policy the agent relays to its sidecars.
 */
export function staticDiscoveryFor(plan: FederationPlan, zone: string): { services: { namespace: string; name: string; capacityRps: number; endpoints: { address: string; labels: Record<string, string>; healthCheckPort: number }[]; healthCheckPath: string; healthCheck: typeof SHOP_HEALTH_CHECK; policy: typeof SHOP_POLICY }[] } {
  const z = zonePlan(plan, zone);
  const byService = new Map<string, InstancePlan[]>();
  for (const i of z.instances) byService.set(i.service, [...(byService.get(i.service) ?? []), i]);
  return {
    services: [...byService].map(([service, list]) => ({
      namespace: SHOP_NAMESPACE, name: service, capacityRps: list.reduce((sum, i) => sum + i.capacityRps, 0),
      // The inbound is mTLS, which a plain probe cannot pass: probe the sidecar's admin /ready (up once app and sidecar serve).
      endpoints: list.map((i) => ({ address: `127.0.0.1:${i.inboundPort}`, labels: { version: i.version }, healthCheckPort: i.adminPort })),
      healthCheckPath: '/ready',
      healthCheck: SHOP_HEALTH_CHECK,
      policy: SHOP_POLICY,
    })),
  };
}

/**
 * What a relayed sidecar of the shop knows on its own (the agent does not carry it): each service's expected
 * identity, subsets and canary routes, plus the policy for services the zone's agent does not relay (those with
 * no endpoints in the zone). Endpoints, zones, weights and certificates all come from the agent. `routes: false`
 * leaves the canary routes out, for data planes that cannot express them (`meshfed up --proxy haproxy`).
 */
export function relayOverlayFor(plan: FederationPlan, opts: { readonly routes?: boolean } = {}): { services: Record<string, { port: number; identity: string; subsets: Record<string, Record<string, string>>; routes: unknown[]; policy: typeof SHOP_POLICY }> } {
  const services: Record<string, { port: number; identity: string; subsets: Record<string, Record<string, string>>; routes: unknown[]; policy: typeof SHOP_POLICY }> = {};
  for (const s of plan.layout.services) {
    const versions = [...new Set(plan.layout.placements.filter((p) => p.service === s.name).map((p) => p.version))].sort();
    services[meshService(s.name)] = {
      port: 80,
      identity: serviceIdentity(plan.trustDomain, s.name),
      subsets: Object.fromEntries(versions.map((v) => [v, { version: v }])),
      routes: versions.length > 1 && opts.routes !== false ? versions.map((v) => ({ name: `canary-${v}`, match: [{ headers: [{ name: 'x-canary', exact: v }] }], subset: v })) : [],
      policy: SHOP_POLICY,
    };
  }
  return { services };
}

/** The plan of one zone; throws for an unknown zone (a programming error: callers pass planned zones). */
export function zonePlan(plan: FederationPlan, zone: string): ZonePlan {
  const z = plan.zones.find((x) => x.zone === zone);
  if (!z) throw new PlanError(`zone "${zone}" is not in the plan (zones: ${plan.zones.map((x) => x.zone).join(', ')})`);
  return z;
}

/**
 * The `meshfed gateway` arguments of a zone's east-west gateway: it listens where the agent advertises it
 * (`--gateway` of the agent), takes its routes from the agent's relay plus the shop's overlay (relayOverlayFor, written
 * to `overlayFile`: the canary subsets the agent does not relay) and serves /ready on its admin port.
 */
export function gatewayArgs(z: ZonePlan, overlayFile: string, adminTokens?: string): string[] {
  return ['gateway', '--zone', z.zone, '--listen', `127.0.0.1:${z.gatewayPort}`, '--agent', `127.0.0.1:${z.agentRelayPort}`, '--overlay', overlayFile, '--admin', `127.0.0.1:${z.gatewayAdminPort}`,
    ...(adminTokens !== undefined ? ['--admin-tokens', adminTokens] : [])];
}

/** The frontend URL of a zone (the first instance of the entry service, default frontend), or undefined when the zone runs none. */
export function frontendUrl(z: ZonePlan, entry = 'frontend'): string | undefined {
  const f = z.instances.find((i) => i.service === entry);
  return f ? `http://127.0.0.1:${f.appPort}/` : undefined;
}

/** The supervised component that runs one app instance (its sample app and sidecar): `app-<zone>-<instance>`. */
export function appComponent(zone: string, instance: string): string {
  return `app-${zone}-${instance}`;
}

/** The plan with the zone's instances cut to one: what the process of that instance runs (the layout stays whole). */
export function planForInstance(plan: FederationPlan, zone: string, instance: string): FederationPlan {
  return { ...plan, zones: plan.zones.map((z) => (z.zone === zone ? { ...z, instances: z.instances.filter((i) => i.instance === instance) } : z)) };
}

/** The supervised component (and etcd member name) of the k-th etcd member, from 1: `etcd-<k>`. */
export function etcdMemberName(k: number): string {
  return `etcd-${k}`;
}

/** Every port of the plan, grouped by the component that binds it (etcd-K, global-lb-N, agent-Z, gateway-Z, app-Z-I). */
export function componentPorts(plan: FederationPlan): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const m of plan.etcdMembers) out.set(m.name, [m.clientPort, m.peerPort, ...(m.metricsPort !== undefined ? [m.metricsPort] : [])]);
  plan.adminUrls.forEach((u, i) => out.set(`global-lb-${i + 1}`, [Number(plan.grpcAddresses[i]!.split(':')[1]), Number(new URL(u).port)]));
  for (const z of plan.zones) {
    out.set(`agent-${z.zone}`, [z.agentAdminPort, z.agentRelayPort]);
    out.set(`gateway-${z.zone}`, [z.gatewayPort, z.gatewayAdminPort]);
    for (const i of z.instances) out.set(appComponent(z.zone, i.instance), [i.appPort, i.inboundPort, i.outboundPort, i.adminPort]);
  }
  return out;
}
