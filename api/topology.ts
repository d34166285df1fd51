// The federation topology file: trust domain, clouds → regions → zones, clusters and networks, checked across fields.
import { z } from 'zod';
import { isTrustDomain } from './identity.ts';
import { isLocalitySegment, type Locality } from './locality.ts';
import { dnsLabelSchema, hostPortSchema, type HostPort } from './fields.ts';
import { loadConfigFile, parseConfig } from './load.ts';
import { DEFAULT_EGRESS_COST, egressCostSchema, type LocalityPair } from './policy.ts';
import { deepFreeze, type DeepReadonly } from '../common/freeze.ts';

const segment = (what: string) =>
  z.string().refine(isLocalitySegment, {
    error: (issue) => `"${String(issue.input)}" is not a valid ${what} name (a DNS label: lowercase letters, digits and "-", at most 63 characters)`,
  });

const zoneSchema = z.strictObject({
  /** Unique across the whole federation: the zone's key everywhere. */
  name: segment('zone'),
  cluster: dnsLabelSchema,
  network: dnsLabelSchema,
});

const regionSchema = z.strictObject({
  name: segment('region'),
  zones: z.array(zoneSchema).min(1, { message: 'a region needs at least one zone' }),
});

const cloudSchema = z.strictObject({
  name: segment('cloud'),
  regions: z.array(regionSchema).min(1, { message: 'a cloud needs at least one region' }),
});

const clusterSchema = z.strictObject({
  name: dnsLabelSchema,
  /** The kubeconfig context that reaches this cluster, when it is a real Kubernetes cluster. */
  context: z.string().min(1).optional(),
});

const networkSchema = z.strictObject({
  name: dnsLabelSchema,
  /** East-west gateway address per zone of this network, as other networks reach it: zone name → host:port. */
  gateways: z.record(z.string(), hostPortSchema).default({}),
});

/** Where a value lives in the topology, for cross-field messages. */
type Path = (string | number)[];

/** The topology schema, strict about unknown keys, with the cross-field checks a valid federation needs. */
export const topologySchema = z
  .strictObject({
    trustDomain: z
      .string()
      .refine(isTrustDomain, { error: (issue) => `"${String(issue.input)}" is not a valid SPIFFE trust domain (lowercase letters, digits, ".", "-", "_", e.g. meshfed.local)` })
      .default('meshfed.local'),
    clouds: z.array(cloudSchema).min(1, { message: 'declare at least one cloud' }),
    clusters: z.array(clusterSchema).min(1, { message: 'declare at least one cluster' }),
    networks: z.array(networkSchema).min(1, { message: 'declare at least one network' }),
    /**
     * Relative egress cost per locality pair (sameZone, sameRegion, sameCloud, crossCloud), the federation's
     * defaults for every policy; a pair left out keeps DEFAULT_EGRESS_COST. A policy's `cost` overrides per pair.
     */
    egressCost: egressCostSchema
      .optional()
      .transform((c): Record<LocalityPair, number> => {
        const out: Record<LocalityPair, number> = { ...DEFAULT_EGRESS_COST };
        for (const [k, v] of Object.entries(c ?? {})) if (v !== undefined) out[k as LocalityPair] = v;
        return out;
      }),
  })
  .superRefine((t, ctx) => {
    const fail = (path: Path, message: string) => ctx.addIssue({ code: 'custom', path, message });
    const unique = (names: readonly string[], path: (i: number) => Path, what: string) => {
      const seen = new Map<string, number>();
      names.forEach((name, i) => {
        const first = seen.get(name);
        if (first === undefined) seen.set(name, i);
        else fail(path(i), `duplicate ${what} "${name}" (already declared at ${formatPathText(path(first))}); ${what} names must be unique`);
      });
    };
    const clusterNames = t.clusters.map((c) => c.name);
    const networkNames = t.networks.map((n) => n.name);
    unique(clusterNames, (i) => ['clusters', i, 'name'], 'cluster');
    unique(networkNames, (i) => ['networks', i, 'name'], 'network');
    unique(t.clouds.map((c) => c.name), (i) => ['clouds', i, 'name'], 'cloud');

    const zoneSeen = new Map<string, Path>();
    const zoneNetwork = new Map<string, string>();
    t.clouds.forEach((cloud, ci) => {
      unique(cloud.regions.map((r) => r.name), (i) => ['clouds', ci, 'regions', i, 'name'], 'region');
      cloud.regions.forEach((region, ri) => {
        region.zones.forEach((zone, zi) => {
          const here: Path = ['clouds', ci, 'regions', ri, 'zones', zi];
          const first = zoneSeen.get(zone.name);
          if (first) fail([...here, 'name'], `duplicate zone "${zone.name}" (already declared at ${formatPathText(first)}); zone names must be unique across the federation`);
          else zoneSeen.set(zone.name, [...here, 'name']);
          zoneNetwork.set(zone.name, zone.network);
          if (!clusterNames.includes(zone.cluster)) {
            fail([...here, 'cluster'], `unknown cluster "${zone.cluster}" (declared: ${clusterNames.join(', ')}); add it under clusters or fix the name`);
          }
          if (!networkNames.includes(zone.network)) {
            fail([...here, 'network'], `unknown network "${zone.network}" (declared: ${networkNames.join(', ')}); add it under networks or fix the name`);
          }
        });
      });
    });
    t.networks.forEach((network, ni) => {
      for (const zone of Object.keys(network.gateways)) {
        const actual = zoneNetwork.get(zone);
        // A zone on an undeclared network was already reported above; one mistake, one line.
        if (actual !== undefined && !networkNames.includes(actual)) continue;
        if (actual === undefined) fail(['networks', ni, 'gateways', zone], `unknown zone "${zone}" (declared: ${[...zoneNetwork.keys()].join(', ')})`);
        else if (actual !== network.name) fail(['networks', ni, 'gateways', zone], `zone "${zone}" is on network "${actual}", not "${network.name}"; move the gateway there`);
      }
    });
  });

function formatPathText(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** A validated, frozen federation topology. */
export type Topology = DeepReadonly<z.output<typeof topologySchema>>;

/** One zone with everything the topology says about it, flattened. */
export interface TopologyZone {
  readonly locality: Locality;
  readonly cluster: string;
  readonly network: string;
  /** The zone's east-west gateway, when its network declares one. */
  readonly gateway?: HostPort;
}

/** Parses and validates topology text (YAML or JSON). Throws MeshfedError (MESHFED_E_CONFIG_PARSE / _INVALID) naming file and path. */
export function parseTopology(text: string, file: string): Topology {
  return parseConfig(topologySchema, text, file);
}

/** Reads, parses and validates a topology file. Throws MeshfedError (MESHFED_E_CONFIG_READ / _PARSE / _INVALID). */
export function loadTopologyFile(path: string): Topology {
  return loadConfigFile(topologySchema, path);
}

/** Every zone in declaration order, flattened with its locality, cluster, network and gateway. */
export function topologyZones(t: Topology): readonly TopologyZone[] {
  const out: TopologyZone[] = [];
  for (const cloud of t.clouds) {
    for (const region of cloud.regions) {
      for (const zone of region.zones) {
        const gateway = t.networks.find((n) => n.name === zone.network)?.gateways[zone.name];
        out.push({
          locality: { cloud: cloud.name, region: region.name, zone: zone.name },
          cluster: zone.cluster,
          network: zone.network,
          ...(gateway ? { gateway } : {}),
        });
      }
    }
  }
  return deepFreeze(out);
}

/** The zone of that name, or undefined. */
export function findZone(t: Topology, zone: string): TopologyZone | undefined {
  return topologyZones(t).find((z) => z.locality.zone === zone);
}

/**
 * The default demo: three zones in two clouds on two networks. The two AWS zones share aws-net and reach each
 * other directly; the GCP zone is on gcp-net and is reached through gateways.
 */
export const DEFAULT_TOPOLOGY: Topology = validateDefault({
  trustDomain: 'meshfed.local',
  clouds: [
    {
      name: 'aws',
      regions: [{ name: 'us-east-1', zones: [
        { name: 'us-east-1a', cluster: 'aws-use1', network: 'aws-net' },
        { name: 'us-east-1b', cluster: 'aws-use1', network: 'aws-net' },
      ] }],
    },
    {
      name: 'gcp',
      regions: [{ name: 'europe-west1', zones: [{ name: 'europe-west1-b', cluster: 'gcp-euw1', network: 'gcp-net' }] }],
    },
  ],
  clusters: [{ name: 'aws-use1' }, { name: 'gcp-euw1' }],
  networks: [{ name: 'aws-net' }, { name: 'gcp-net' }],
});

function validateDefault(value: z.input<typeof topologySchema>): Topology {
  // Going through the schema keeps the default honest: it cannot drift from what a file may say.
  return deepFreeze(topologySchema.parse(value));
}
