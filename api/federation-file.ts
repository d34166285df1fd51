// The `meshfed up --config` file: a topology plus the sample app's services, where their replicas run, and their policies.
import { z } from 'zod';
import { parseDocument } from 'yaml';
import { MeshfedError } from '../common/errors.ts';
import { deepFreeze, type DeepReadonly } from '../common/freeze.ts';
import { dnsLabelSchema } from './fields.ts';
import { parseConfig, readConfigText } from './load.ts';
import { policySchema } from './policy.ts';
import { deploySettingsSchema } from './deploy-settings.ts';
import { DEFAULT_TOPOLOGY, topologySchema, topologyZones, type Topology } from './topology.ts';

/** The sample app's namespace in the mesh. */
export const SHOP_NAMESPACE = 'shop';

/** Nominal capacity per replica when a workload names none; high enough that demo load never spills by capacity. */
export const CAPACITY_RPS_PER_ENDPOINT = 500;

/** One kind of sample service: what it calls next. */
export interface ShopService {
  readonly name: string;
  readonly upstream?: string;
}

/** How many replicas of which version of a service run in a zone, and what each can take. */
export interface ShopPlacement {
  readonly zone: string;
  readonly service: string;
  readonly version: string;
  readonly replicas: number;
  /** Per replica; the zone agent advertises the sum per service. Default CAPACITY_RPS_PER_ENDPOINT. */
  readonly capacityRps?: number;
}

/** The sample application: services (call chain) and where their replicas run. */
export interface ShopLayout {
  readonly services: readonly ShopService[];
  readonly placements: readonly ShopPlacement[];
}

/** A policy `meshfed up` applies at start: the api/policy.ts body without namespace and name, which the URL carries. */
export interface ShopPolicy {
  readonly namespace: string;
  readonly name: string;
  readonly body: Readonly<Record<string, unknown>>;
}

/**
 * The default shop on DEFAULT_TOPOLOGY. us-east-1b has no catalog and us-east-1a no pricing, so their calls must
 * leave the zone; europe-west1-b is on another network, so traffic to it crosses the east-west gateways.
 */
export const DEFAULT_SHOP: ShopLayout = deepFreeze({
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
});

/** What every shop service gets without a policy of its own: a short hold-down and no slow start keep demos quick. */
export const COMMON_SHOP_POLICY: Readonly<Record<string, unknown>> = deepFreeze({ holdDown: '2s', slowStart: '0s', maxStep: 5000 });

/**
 * The default federation's policies. catalog from us-east-1a is split 70/30 with europe-west1-b by `distribute`,
 * which still fails over.
 */
export function defaultPolicies(): ShopPolicy[] {
  const common = COMMON_SHOP_POLICY;
  return [
    { namespace: SHOP_NAMESPACE, name: 'catalog', body: { ...common, distribute: [{ from: 'us-east-1a', to: { 'us-east-1a': 70, 'europe-west1-b': 30 } }] } },
    { namespace: SHOP_NAMESPACE, name: 'pricing', body: { ...common } },
    { namespace: SHOP_NAMESPACE, name: 'frontend', body: { ...common } },
  ];
}

const DEFAULT_SERVICES = [{ name: 'frontend', calls: 'catalog' }, { name: 'catalog', calls: 'pricing' }, { name: 'pricing' }];

const serviceSchema = z.strictObject({
  name: dnsLabelSchema,
  /** The next service in the call chain; none for the last one. */
  calls: dnsLabelSchema.optional(),
});

const workloadSchema = z.strictObject({
  zone: z.string({ error: 'expected a zone name' }),
  service: z.string({ error: 'expected a service name' }),
  version: dnsLabelSchema.default('v1'),
  replicas: z.number({ error: 'expected a whole number of replicas' }).int('expected a whole number of replicas').min(1, 'at least 1 replica').max(20, 'at most 20 replicas per workload (each is its own process)').default(1),
  capacityRps: z.number({ error: 'expected requests per second (a number > 0)' }).positive('capacityRps must be above 0').default(CAPACITY_RPS_PER_ENDPOINT),
});

/** A policy body: the api/policy.ts schema without namespace and name (the namespace is shop, the name is the key). */
const policyBodySchema = policySchema.omit({ namespace: true, name: true });

type Path = (string | number)[];

/** The federation file schema (strict about unknown keys), with the cross-field checks a runnable federation needs. */
export const federationFileSchema = z
  .strictObject({
    /** Inline, the api/topology.ts shape; default DEFAULT_TOPOLOGY. */
    topology: topologySchema.optional(),
    /** The call chain; default frontend -> catalog -> pricing. */
    services: z.array(serviceSchema).min(1, 'declare at least one service').optional(),
    /** Where replicas run; default the built-in shop placement (which fits only the default topology). */
    workloads: z.array(workloadSchema).min(1, 'declare at least one workload').optional(),
    /** Policy bodies by service name (namespace shop); a service without one gets COMMON_SHOP_POLICY. */
    policies: z.record(z.string(), policyBodySchema).optional(),
    /** What `meshfed render k8s` needs beyond this (image, etcd, replicas); `meshfed up` ignores it. See docs/deploy.md. */
    deploy: deploySettingsSchema.optional(),
  })
  .superRefine((f, ctx) => {
    const fail = (path: Path, message: string) => ctx.addIssue({ code: 'custom', path, message });
    const topology = f.topology ?? DEFAULT_TOPOLOGY;
    const zones = topologyZones(topology as Topology).map((z) => z.locality.zone);
    const services = f.services ?? DEFAULT_SERVICES;
    const names = services.map((s) => s.name);
    services.forEach((s, i) => {
      if (names.indexOf(s.name) !== i) fail(['services', i, 'name'], `duplicate service "${s.name}"; service names must be unique`);
      if (s.calls !== undefined && !names.includes(s.calls)) fail(['services', i, 'calls'], `unknown service "${s.calls}" (services: ${names.join(', ')})`);
    });
    const cycle = callCycle(services);
    if (cycle) fail(['services'], `the call chain loops (${cycle.join(' -> ')}); a request would never end`);
    if (f.workloads === undefined) {
      const misfit = DEFAULT_SHOP.placements.find((p) => !zones.includes(p.zone));
      if (misfit) fail(['workloads'], `omitted, so the built-in shop runs, but it places ${misfit.service} in zone "${misfit.zone}", which the topology does not declare (zones: ${zones.join(', ')}); list workloads for these zones`);
      const unknown = DEFAULT_SHOP.placements.find((p) => !names.includes(p.service));
      if (unknown) fail(['workloads'], `omitted, so the built-in shop runs, but it places service "${unknown.service}", which services does not declare; list workloads`);
    }
    const seen = new Map<string, number>();
    (f.workloads ?? []).forEach((w, i) => {
      if (!zones.includes(w.zone)) fail(['workloads', i, 'zone'], `unknown zone "${w.zone}" (zones: ${zones.join(', ')})`);
      if (!names.includes(w.service)) fail(['workloads', i, 'service'], `unknown service "${w.service}" (services: ${names.join(', ')})`);
      const key = `${w.zone}/${w.service}/${w.version}`;
      const first = seen.get(key);
      if (first !== undefined) fail(['workloads', i], `${w.service} ${w.version} in ${w.zone} is already placed by workloads[${first}]; raise its replicas instead`);
      else seen.set(key, i);
    });
    if (f.workloads !== undefined) {
      services.forEach((s, i) => {
        if (!f.workloads!.some((w) => w.service === s.name)) fail(['services', i], `service "${s.name}" has no workloads, so calls to it would fail; place it in a zone under workloads`);
      });
    }
    for (const name of Object.keys(f.policies ?? {})) {
      if (!names.includes(name)) fail(['policies', name], `unknown service "${name}" (services: ${names.join(', ')})`);
    }
  });

/** The services of a call chain that loop back on themselves, in order, or undefined. */
function callCycle(services: readonly { name: string; calls?: string | undefined }[]): string[] | undefined {
  const next = new Map(services.map((s) => [s.name, s.calls]));
  for (const start of next.keys()) {
    const path = [start];
    for (let cur = next.get(start); cur !== undefined; cur = next.get(cur)) {
      if (path.includes(cur)) return [...path.slice(path.indexOf(cur)), cur];
      path.push(cur);
    }
  }
  return undefined;
}

/** A validated, defaulted, frozen federation: what `meshfed up` runs. */
export interface Federation {
  readonly topology: Topology;
  readonly layout: ShopLayout;
  /** One per service, in service order: the file's body, or COMMON_SHOP_POLICY (the default federation: defaultPolicies()). */
  readonly policies: readonly ShopPolicy[];
}

/** The federation `meshfed up` runs without --config: DEFAULT_TOPOLOGY, DEFAULT_SHOP, defaultPolicies(). */
export const DEFAULT_FEDERATION: Federation = deepFreeze({ topology: DEFAULT_TOPOLOGY, layout: DEFAULT_SHOP, policies: defaultPolicies() });

type FileOutput = DeepReadonly<z.output<typeof federationFileSchema>>;

/**
 * The federation a validated file describes, with every default filled in. Policy bodies are sent as the user wrote
 * them (`rawPolicies`, already checked by the schema), so the balancer applies its own defaults exactly once.
 */
function fromFile(f: FileOutput, rawPolicies: Readonly<Record<string, unknown>>): Federation {
  const topology = f.topology ?? DEFAULT_TOPOLOGY;
  if (f.services === undefined && f.workloads === undefined && f.policies === undefined && f.topology === undefined) return DEFAULT_FEDERATION;
  const services: ShopService[] = (f.services ?? DEFAULT_SERVICES).map((s) => (s.calls !== undefined ? { name: s.name, upstream: s.calls } : { name: s.name }));
  const placements: ShopPlacement[] = f.workloads
    ? f.workloads.map((w) => ({ zone: w.zone, service: w.service, version: w.version, replicas: w.replicas, capacityRps: w.capacityRps }))
    : [...DEFAULT_SHOP.placements];
  // The built-in shop on its own topology keeps its 70/30 catalog split; anything else starts from the common policy.
  const builtIn = f.services === undefined && f.workloads === undefined && f.policies === undefined;
  const policies = builtIn ? defaultPolicies() : services.map((s) => ({
    namespace: SHOP_NAMESPACE, name: s.name, body: f.policies?.[s.name] !== undefined ? (rawPolicies[s.name] as Record<string, unknown>) : { ...COMMON_SHOP_POLICY },
  }));
  return deepFreeze({ topology, layout: { services, placements }, policies });
}

/**
 * Parses federation text (YAML or JSON). A bare topology (top-level `clouds:`) is accepted too and runs the built-in
 * shop, which must fit it. Throws MeshfedError (MESHFED_E_CONFIG_PARSE / _INVALID) with `file: path: message` lines.
 */
export function parseFederation(text: string, file: string): Federation {
  const doc = parseDocument(text, { uniqueKeys: true });
  const js: unknown = doc.errors.length === 0 ? doc.toJS() : undefined;
  if (js !== null && typeof js === 'object' && !Array.isArray(js) && 'clouds' in js) return bareTopology(parseConfig(topologySchema, text, file), file);
  const parsed = parseConfig(federationFileSchema, text, file);
  const raw = ((js ?? {}) as { policies?: Record<string, unknown> }).policies ?? {};
  return fromFile(parsed, raw);
}

/** Reads, parses and validates a federation (or bare topology) file. Throws MESHFED_E_CONFIG_READ / _PARSE / _INVALID. */
export function loadFederationFile(path: string): Federation {
  return parseFederation(readConfigText(path), path);
}

/** A bare topology runs the built-in shop and its policies; a topology the shop does not fit is refused with the fix. */
function bareTopology(topology: Topology, file: string): Federation {
  const zones = topologyZones(topology).map((z) => z.locality.zone);
  const misfit = DEFAULT_SHOP.placements.find((p) => !zones.includes(p.zone));
  if (misfit) {
    const line = `${file}: (top level): a bare topology runs the built-in shop, which places ${misfit.service} in zone "${misfit.zone}", which this topology does not declare (zones: ${zones.join(', ')}); move the topology under "topology:" and list "workloads:" (see docs/configuration.md)`;
    throw new MeshfedError('MESHFED_E_CONFIG_INVALID', line, { details: [line] });
  }
  return deepFreeze({ topology, layout: DEFAULT_SHOP, policies: defaultPolicies() });
}
