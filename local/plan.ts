// Pure planning of a local federation: which sample instances run where, on which ports, and the files each part reads.
import type { Topology } from '../api/topology.ts';
import { topologyZones } from '../api/topology.ts';

/** The shop's namespace in the mesh. */
export const SHOP_NAMESPACE = 'shop';

/** One kind of sample service: what it calls next. */
export interface ShopService {
  readonly name: string;
  readonly upstream?: string;
}

/** How many replicas of which version of a service run in a zone. */
export interface ShopPlacement {
  readonly zone: string;
  readonly service: string;
  readonly version: string;
  readonly replicas: number;
}

/** The sample application: services (call chain) and where their replicas run. */
export interface ShopLayout {
  readonly services: readonly ShopService[];
  readonly placements: readonly ShopPlacement[];
}

/**
 * The default shop on DEFAULT_TOPOLOGY. us-east-1b has no catalog and us-east-1a no pricing, so their calls must
 * leave the zone; europe-west1-b is on another network, so traffic to it crosses the east-west gateways.
 */
export const DEFAULT_SHOP: ShopLayout = {
  services: [{ name: 'frontend', upstream: 'catalog' }, { name: 'catalog', upstream: 'pricing' }, { name: 'pricing' }],
  placements: [
    { zone: 'us-east-1a', service: 'frontend', version: 'v1', replicas: 1 },
    { zone: 'us-east-1a', service: 'catalog', version: 'v1', replicas: 2 },
    { zone: 'us-east-1a', service: 'catalog', version: 'v2', replicas: 1 },
    { zone: 'us-east-1b', service: 'frontend', version: 'v1', replicas: 1 },
    { zone: 'us-east-1b', service: 'pricing', version: 'v1', replicas: 2 },
    { zone: 'europe-west1-b', service: 'frontend', version: 'v1', replicas: 1 },
    { zone: 'europe-west1-b', service: 'catalog', version: 'v1', replicas: 2 },
    { zone: 'europe-west1-b', service: 'pricing', version: 'v1', replicas: 2 },
  ],
};

/**
 * The policies `up` applies at start. catalog from us-east-1a is split 70/30 with europe-west1-b by `distribute`,
 * which still fails over; short hold-down and no slow start keep the demo's drain/undrain quick to watch.
 */
export function defaultPolicies(): { namespace: string; name: string; body: Record<string, unknown> }[] {
  const common = { holdDown: '2s', slowStart: '0s', maxStep: 5000 };
  return [
    { namespace: SHOP_NAMESPACE, name: 'catalog', body: { ...common, distribute: [{ from: 'us-east-1a', to: { 'us-east-1a': 70, 'europe-west1-b': 30 } }] } },
    { namespace: SHOP_NAMESPACE, name: 'pricing', body: { ...common } },
    { namespace: SHOP_NAMESPACE, name: 'frontend', body: { ...common } },
  ];
}

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
  readonly zones: readonly ZonePlan[];
}

/** Thrown for a layout that does not fit the topology (a config error the user must fix). */
export class PlanError extends Error {}

/**
 * Builds the plan. `port()` hands out the next free port (injected so the plan stays pure and testable).
 * Invariant: every port in the plan is distinct, and every placement names a zone of the topology and a service of the layout.
 */
export function buildPlan(topology: Topology, layout: ShopLayout, replicas: number, port: () => number): FederationPlan {
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
          appPort: port(), inboundPort: port(), outboundPort: port(), adminPort: port(),
        });
      }
    }
    return {
      zone: z.locality.zone, cloud: z.locality.cloud, region: z.locality.region, cluster: z.cluster, network: z.network,
      gatewayPort: port(), agentAdminPort: port(), agentRelayPort: port(), gatewayAdminPort: port(), instances,
    };
  });
  return { trustDomain: topology.trustDomain, layout, adminUrls, grpcAddresses, zones: zonePlans };
}

/** The mesh service name of a shop service, "shop/catalog". */
export function meshService(service: string): string {
  return `${SHOP_NAMESPACE}/${service}`;
}

/** The SPIFFE ID a shop service's workloads present. */
export function serviceIdentity(trustDomain: string, service: string): string {
  return `spiffe://${trustDomain}/ns/${SHOP_NAMESPACE}/sa/${service}`;
}

/** Nominal capacity per endpoint, high enough that the demo's load never spills by capacity (shares stay policy-driven). */
export const CAPACITY_RPS_PER_ENDPOINT = 500;

/** The resilience policy of every shop service (sidecar config shape); the agents relay it, and the overlay carries it too. */
export const SHOP_POLICY = {
  timeout: '5s',
  retry: { attempts: 3, retryOn: ['connect-failure', 'reset', '503'] },
  outlierDetection: { consecutive5xx: 5, consecutiveConnectFailures: 3, baseEjectionTime: '10s' },
} as const;

/**
 * The zone agent's static discovery file for one zone: each service's endpoints are its sidecars' inbound ports,
 * with the policy the agent relays to its sidecars.
 */
export function staticDiscoveryFor(plan: FederationPlan, zone: string): { services: { namespace: string; name: string; capacityRps: number; endpoints: { address: string; labels: Record<string, string> }[]; policy: typeof SHOP_POLICY }[] } {
  const z = zonePlan(plan, zone);
  const byService = new Map<string, InstancePlan[]>();
  for (const i of z.instances) byService.set(i.service, [...(byService.get(i.service) ?? []), i]);
  return {
    services: [...byService].map(([service, list]) => ({
      namespace: SHOP_NAMESPACE, name: service, capacityRps: CAPACITY_RPS_PER_ENDPOINT * list.length,
      endpoints: list.map((i) => ({ address: `127.0.0.1:${i.inboundPort}`, labels: { version: i.version } })),
      policy: SHOP_POLICY,
    })),
  };
}

/**
 * What a relayed sidecar of the shop knows on its own (the agent does not carry it): each service's expected
 * identity, subsets and canary routes, plus the policy for services the zone's agent does not relay (those with
 * no endpoints in the zone). Endpoints, zones, weights and certificates all come from the agent.
 */
export function relayOverlayFor(plan: FederationPlan): { services: Record<string, { port: number; identity: string; subsets: Record<string, Record<string, string>>; routes: unknown[]; policy: typeof SHOP_POLICY }> } {
  const services: Record<string, { port: number; identity: string; subsets: Record<string, Record<string, string>>; routes: unknown[]; policy: typeof SHOP_POLICY }> = {};
  for (const s of plan.layout.services) {
    const versions = [...new Set(plan.layout.placements.filter((p) => p.service === s.name).map((p) => p.version))].sort();
    services[meshService(s.name)] = {
      port: 80,
      identity: serviceIdentity(plan.trustDomain, s.name),
      subsets: Object.fromEntries(versions.map((v) => [v, { version: v }])),
      routes: versions.length > 1 ? versions.map((v) => ({ name: `canary-${v}`, match: [{ headers: [{ name: 'x-canary', exact: v }] }], subset: v })) : [],
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
export function gatewayArgs(z: ZonePlan, overlayFile: string): string[] {
  return ['gateway', '--zone', z.zone, '--listen', `127.0.0.1:${z.gatewayPort}`, '--agent', `127.0.0.1:${z.agentRelayPort}`, '--overlay', overlayFile, '--admin', `127.0.0.1:${z.gatewayAdminPort}`];
}

/** The frontend URL of a zone (the first frontend instance's app port), or undefined when the zone runs no frontend. */
export function frontendUrl(z: ZonePlan): string | undefined {
  const f = z.instances.find((i) => i.service === 'frontend');
  return f ? `http://127.0.0.1:${f.appPort}/` : undefined;
}
