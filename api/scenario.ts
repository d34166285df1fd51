// The chaos scenario file (scenarios/*.yaml): topology, load, steady-state hypothesis, fault timeline, expectations and stop conditions.
import { dirname, isAbsolute, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { MeshfedError } from '../common/errors.ts';
import { deepFreeze, type DeepReadonly } from '../common/freeze.ts';
import { durationBetween } from './fields.ts';
import { parseConfig, readConfigText } from './load.ts';
import { DEFAULT_FEDERATION, loadFederationFile, parseFederation, type Federation } from './federation-file.ts';
import { topologyZones } from './topology.ts';

const MIN = 60_000;
const name = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected a name of lowercase letters, digits and "-"');
const share = z.number().min(0).max(1);
const percent = z.number().min(0).max(100);
const bp = z.number().int().min(0).max(10_000);

/** What a process fault hits: a component by name (globs with *), the apps of a service in a zone, or a role found at run time. */
export const componentTargetSchema = z.union([
  z.string().min(1),
  z.strictObject({ zone: z.string(), service: z.string() }),
  z.strictObject({ role: z.enum(['global-lb-leader', 'global-lb-follower', 'etcd-member', 'etcd-all']) }),
]);

/** Sidecars a fault or probe talks to: every instance of `service` in `zone` (the gateway of a zone with `gateway: true`). */
const sidecarTargetSchema = z.strictObject({ zone: z.string(), service: z.string() });
const l4TargetSchema = z.union([sidecarTargetSchema, z.strictObject({ gateway: z.string() })]);

const common = {
  /** Names the fault for expectations (`fault: ID`); default `<kind>-<index>`. */
  id: name.optional(),
  /** When the fault starts, counted from the start of the fault phase. */
  at: durationBetween(0, 30 * MIN).default(0),
  /** How long it lasts before it is reverted. Trust faults may last 0 s (a one-time change, checked and then kept until rollback). */
  duration: durationBetween(0, 30 * MIN),
};

const l7Fault = z.strictObject({
  kind: z.literal('l7'), ...common,
  target: sidecarTargetSchema,
  direction: z.enum(['outbound', 'inbound']).default('inbound'),
  /** Outbound only: the destination service; default every service. */
  to: z.string().optional(),
  headers: z.record(z.string(), z.string()).default({}),
  abort: z.strictObject({ status: z.number().int().min(200).max(599), percent: percent.default(100) }).optional(),
  delay: z.strictObject({ by: durationBetween(1, MIN), percent: percent.default(100) }).optional(),
}).refine((f) => f.abort !== undefined || f.delay !== undefined, { message: 'an l7 fault needs abort, delay, or both', path: ['abort'] });

const l4Fault = z.strictObject({
  kind: z.literal('l4'), ...common,
  target: l4TargetSchema,
  latency: durationBetween(0, MIN).default(0),
  bandwidthBytesPerSec: z.number().min(0).default(0),
  resetPercent: percent.default(0),
  blackholePercent: percent.default(0),
});

const processFault = z.strictObject({
  kind: z.literal('process'), ...common,
  target: componentTargetSchema,
  /** kill: SIGKILL, kept down by the supervisor for the duration; pause: SIGSTOP then SIGCONT; restart: SIGTERM, the supervisor restarts it at once. */
  action: z.enum(['kill', 'pause', 'restart']),
});

const networkFault = z.strictObject({
  kind: z.literal('network'), ...common,
  /** isolate: nothing reaches the zone's endpoints or gateway across networks; partition: cut every path between the two sides (zones or clouds). */
  action: z.enum(['isolate', 'partition']),
  zone: z.string().optional(),
  between: z.tuple([z.string(), z.string()]).optional(),
}).refine((f) => (f.action === 'isolate' ? f.zone !== undefined && f.between === undefined : f.between !== undefined && f.zone === undefined), {
  message: 'isolate takes zone, partition takes between: [A, B]', path: ['action'],
});

const trustFault = z.strictObject({
  kind: z.literal('trust'), ...common,
  /** rotate-root: a new root by overlap (both trusted, then the old one retired); revoke-intermediate: a cluster's intermediate CA is revoked. */
  action: z.enum(['rotate-root', 'revoke-intermediate']),
  cluster: z.string().optional(),
}).refine((f) => (f.action === 'revoke-intermediate') === (f.cluster !== undefined), { message: 'revoke-intermediate takes cluster (and rotate-root does not)', path: ['cluster'] });

export const faultSchema = z.discriminatedUnion('kind', [l7Fault, l4Fault, processFault, networkFault, trustFault]);

/** A steady-state probe: measured over the last `steady.window` of the load. */
const probeSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('success'), name: name.optional(), min: share }),
  z.strictObject({ kind: z.literal('latency'), name: name.optional(), quantile: z.enum(['p50', 'p99']), max: durationBetween(1, MIN) }),
  z.strictObject({ kind: z.literal('share'), name: name.optional(), service: z.string(), zone: z.string(), min: share.default(0), max: share.default(1) }),
  z.strictObject({ kind: z.literal('weights'), name: name.optional(), service: z.string(), from: z.string(), zone: z.string(), minBp: bp.default(0), maxBp: bp.default(10_000) }),
  z.strictObject({
    kind: z.literal('metric'), name: name.optional(),
    /** A component of up.json with a /metrics URL: global-lb-N, agent-ZONE, gateway-ZONE, or app-ZONE-INSTANCE (its sidecar). */
    component: z.string(), metric: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/), labels: z.record(z.string(), z.string()).default({}),
    min: z.number().optional(), max: z.number().optional(),
  }),
]);

const fault = z.string();
const expectationSchema = z.discriminatedUnion('kind', [
  /** The share a zone serves of a service reaches [min, max] within `within` of the fault's start, and stays there until it ends. */
  z.strictObject({ kind: z.literal('share'), name: name.optional(), fault, service: z.string(), zone: z.string(), min: share.default(0), max: share.default(1), within: durationBetween(0, 10 * MIN) }),
  /** At most `max` failed requests from the fault's start to `settle` after its end (idempotent ones only by default). */
  z.strictObject({ kind: z.literal('failed-requests'), name: name.optional(), fault, max: z.number().int().min(0), idempotentOnly: z.boolean().default(true), settle: durationBetween(0, 10 * MIN).default(5000) }),
  /** The data plane: the last failed request in the fault window comes no later than `within` after its start. */
  z.strictObject({ kind: z.literal('errors-stop'), name: name.optional(), fault, within: durationBetween(0, 10 * MIN) }),
  /** The global weights: every source row (or those in `from`) gives `zone` at most `maxBp` within `within` of the fault's start. */
  z.strictObject({ kind: z.literal('weights-shift'), name: name.optional(), fault, service: z.string(), zone: z.string(), maxBp: bp.default(0), from: z.array(z.string()).optional(), within: durationBetween(0, 10 * MIN) }),
  /** After rollback, every steady-state probe holds again within `within`. */
  z.strictObject({ kind: z.literal('steady-again'), name: name.optional(), within: durationBetween(0, 10 * MIN) }),
  /** A metric's value (or, with delta, its growth over the fault) at the fault's end lies in [min, max]. */
  z.strictObject({
    kind: z.literal('metric'), name: name.optional(), fault, component: z.string(), metric: z.string(), labels: z.record(z.string(), z.string()).default({}),
    delta: z.boolean().default(true), min: z.number().optional(), max: z.number().optional(),
  }),
]);

const stopSchema = z.strictObject({
  /** The probe that must hold; the run stops when it fails for `for` in a row. */
  probe: probeSchema,
  for: durationBetween(0, 10 * MIN).default(5000),
});

/** The scenario file schema, strict about unknown keys. */
export const scenarioSchema = z.strictObject({
  name,
  description: z.string().default(''),
  /** Part of the `--quick` subset CI runs. */
  quick: z.boolean().default(false),
  /**
   * A federation file (relative to the scenario file, or under examples/), "default" for the built-in shop, or one
   * inline: a federation file's content (topology, services, workloads, policies) or a bare topology (clouds, ...).
   * Inline content is checked by the federation file's own schema, its errors prefixed with `topology`.
   */
  topology: z.union([z.string(), z.record(z.string(), z.unknown())]).default('default'),
  load: z.strictObject({
    rps: z.number().min(1).max(500).default(40),
    /** The load's longest run; it stops when the run ends. */
    duration: durationBetween(1000, 60 * MIN).default(10 * MIN),
    /** Zones whose frontend gets load; default every zone with one. */
    targets: z.array(z.string()).min(1).optional(),
    headers: z.record(z.string(), z.string()).default({}),
    /** Share of requests that are idempotent (GET); the rest are POSTs, which expectations may leave out. */
    idempotentPercent: percent.default(100),
    timeout: durationBetween(100, MIN).default(10_000),
  }).prefault({}),
  steady: z.strictObject({
    /** Probes measure the last `window` of traffic. */
    window: durationBetween(500, MIN).default(3000),
    /** Traffic measured before the first fault (and the longest wait for steady state after rollback, with --quick halved). */
    before: durationBetween(1000, 10 * MIN).default(8000),
    after: durationBetween(1000, 10 * MIN).default(20_000),
    /** Also require the probes during the fault phase. */
    during: z.boolean().default(false),
    probes: z.array(probeSchema).min(1, 'give at least one probe: the steady state is what the run proves comes back'),
  }),
  /** The etcd cluster `meshfed up` starts for the run: 3 members for an etcd-member fault (the default then), else 1. */
  etcd: z.strictObject({ members: z.union([z.literal(1), z.literal(3), z.literal(5)]) }).optional(),
  faults: z.array(faultSchema).min(1, 'give at least one fault'),
  expect: z.array(expectationSchema).default([]),
  stop: z.array(stopSchema).default([]),
});

type ScenarioOut = DeepReadonly<z.output<typeof scenarioSchema>>;
export type Fault = ScenarioOut['faults'][number];
export type Probe = ScenarioOut['steady']['probes'][number];
export type Expectation = ScenarioOut['expect'][number];
export type ComponentTarget = DeepReadonly<z.output<typeof componentTargetSchema>>;
export type L7FaultSpec = Extract<Fault, { kind: 'l7' }>;
export type L4FaultSpec = Extract<Fault, { kind: 'l4' }>;
export type ProcessFaultSpec = Extract<Fault, { kind: 'process' }>;
export type NetworkFaultSpec = Extract<Fault, { kind: 'network' }>;
export type TrustFaultSpec = Extract<Fault, { kind: 'trust' }>;

/** A validated scenario with its federation resolved and every fault given an id. */
export interface Scenario extends Omit<ScenarioOut, 'topology' | 'faults'> {
  readonly file: string;
  readonly federation: Federation;
  /** Where the federation came from: "default", a file path, or "inline". */
  readonly federationSource: string;
  readonly faults: readonly (Fault & { readonly id: string })[];
}

/** Parses and checks a scenario. Throws MESHFED_E_CONFIG_* with `file: path: message` lines; nothing has started yet. */
export function parseScenario(text: string, file: string, examplesDir?: string): Scenario {
  const s = parseConfig(scenarioSchema, text, file);
  const { federation, source } = resolveFederation(s.topology, file, examplesDir);
  const faults = s.faults.map((f, i) => ({ ...f, id: f.id ?? `${f.kind}-${i + 1}` }));
  const errors = checkReferences(s, faults, federation);
  if (errors.length > 0) {
    throw new MeshfedError('MESHFED_E_CONFIG_INVALID', `${file}: ${errors.length} problem(s):\n${errors.map((e) => `  ${file}: ${e}`).join('\n')}`, { details: errors.map((e) => `${file}: ${e}`) });
  }
  return deepFreeze({ ...s, file, federation, federationSource: source, faults });
}

/** Reads and checks a scenario file. */
export function loadScenarioFile(path: string, examplesDir?: string): Scenario {
  return parseScenario(readConfigText(path), path, examplesDir);
}

function resolveFederation(topology: ScenarioOut['topology'], file: string, examplesDir?: string): { federation: Federation; source: string } {
  if (typeof topology !== 'string') return { federation: parseFederation(JSON.stringify(topology), `${file}: topology`), source: 'inline' };
  // (parseFederation reads JSON as YAML's subset, so an inline federation gets the same checks and messages as a file.)
  if (topology === 'default') return { federation: DEFAULT_FEDERATION, source: 'default' };
  const candidates = isAbsolute(topology) ? [topology] : [resolve(dirname(file), topology), ...(examplesDir ? [resolve(examplesDir, topology)] : [])];
  const found = candidates.find((c) => existsSync(c));
  if (found === undefined) {
    throw new MeshfedError('MESHFED_E_CONFIG_INVALID', `${file}: topology: no federation file "${topology}" (looked in ${candidates.join(', ')}); give a path relative to the scenario, "default", or an inline federation`);
  }
  return { federation: loadFederationFile(found), source: found };
}

/** How many etcd members the run starts: as the scenario says, else 3 when a fault takes one member down, else 1. */
export function etcdMembers(s: { etcd?: { members: number } | undefined; faults: readonly Fault[] }): number {
  if (s.etcd !== undefined) return s.etcd.members;
  return s.faults.some((f) => f.kind === 'process' && typeof f.target === 'object' && 'role' in f.target && f.target.role === 'etcd-member') ? 3 : 1;
}

/** Every reference to a zone, service, cluster, component or fault, checked against the federation; path-named lines. */
function checkReferences(s: ScenarioOut, faults: readonly (Fault & { id: string })[], f: Federation): string[] {
  const errors: string[] = [];
  const zones = topologyZones(f.topology);
  const zoneNames = zones.map((z) => z.locality.zone);
  const clouds = [...new Set(zones.map((z) => z.locality.cloud))];
  const services = f.layout.services.map((x) => x.name);
  const clusters = f.topology.clusters.map((c) => c.name);
  const placed = (zone: string, service: string) => f.layout.placements.some((p) => p.zone === zone && p.service === service);
  const zone = (path: string, z: string) => {
    if (!zoneNames.includes(z)) errors.push(`${path}: unknown zone "${z}" (zones: ${zoneNames.join(', ')})`);
  };
  const service = (path: string, x: string) => {
    if (!services.includes(x.replace(/^shop\//, ''))) errors.push(`${path}: unknown service "${x}" (services: ${services.join(', ')})`);
  };
  const sidecars = (path: string, t: { zone: string; service: string }) => {
    zone(`${path}.zone`, t.zone);
    service(`${path}.service`, t.service);
    if (zoneNames.includes(t.zone) && services.includes(t.service) && !placed(t.zone, t.service)) errors.push(`${path}: no ${t.service} runs in ${t.zone}`);
  };
  const components = componentNames(f, etcdMembers(s));
  // As `meshfed hold` matches: an exact name, or a prefix ending in "*".
  const component = (path: string, c: string) => {
    const hit = c.endsWith('*') ? components.some((n) => n.startsWith(c.slice(0, -1))) : components.includes(c);
    if (!hit) errors.push(`${path}: "${c}" matches no component (components: ${components.join(', ')})`);
  };
  const ids = new Set<string>();
  faults.forEach((x, i) => {
    const p = `faults[${i}]`;
    if (ids.has(x.id)) errors.push(`${p}.id: duplicate fault id "${x.id}"`);
    ids.add(x.id);
    if (x.kind === 'l7') {
      sidecars(`${p}.target`, x.target);
      if (x.to !== undefined) service(`${p}.to`, x.to);
    } else if (x.kind === 'l4') {
      if ('gateway' in x.target) zone(`${p}.target.gateway`, x.target.gateway);
      else sidecars(`${p}.target`, x.target);
    } else if (x.kind === 'process') {
      if (typeof x.target === 'string') component(`${p}.target`, x.target);
      else if ('zone' in x.target) sidecars(`${p}.target`, x.target);
    } else if (x.kind === 'network') {
      if (x.zone !== undefined) zone(`${p}.zone`, x.zone);
      x.between?.forEach((b, j) => {
        if (!zoneNames.includes(b) && !clouds.includes(b)) errors.push(`${p}.between[${j}]: "${b}" is neither a zone nor a cloud (zones: ${zoneNames.join(', ')}; clouds: ${clouds.join(', ')})`);
      });
    } else if (x.cluster !== undefined && !clusters.includes(x.cluster)) {
      errors.push(`${p}.cluster: unknown cluster "${x.cluster}" (clusters: ${clusters.join(', ')})`);
    }
  });
  const probe = (p: string, x: Probe) => {
    if (x.kind === 'share') { service(`${p}.service`, x.service); zone(`${p}.zone`, x.zone); }
    if (x.kind === 'weights') { service(`${p}.service`, x.service); zone(`${p}.from`, x.from); zone(`${p}.zone`, x.zone); }
    if (x.kind === 'metric') component(`${p}.component`, x.component);
  };
  s.steady.probes.forEach((x, i) => probe(`steady.probes[${i}]`, x));
  s.stop.forEach((x, i) => probe(`stop[${i}].probe`, x.probe));
  s.load.targets?.forEach((t, i) => {
    zone(`load.targets[${i}]`, t);
    if (zoneNames.includes(t) && !placed(t, services[0]!)) errors.push(`load.targets[${i}]: no ${services[0]} (the entry service) runs in ${t}`);
  });
  s.expect.forEach((x, i) => {
    const p = `expect[${i}]`;
    if ('fault' in x && !ids.has(x.fault)) errors.push(`${p}.fault: unknown fault "${x.fault}" (faults: ${[...ids].join(', ')})`);
    if (x.kind === 'share' || x.kind === 'weights-shift') { service(`${p}.service`, x.service); zone(`${p}.zone`, x.zone); }
    if (x.kind === 'weights-shift') x.from?.forEach((z, j) => zone(`${p}.from[${j}]`, z));
    if (x.kind === 'metric') component(`${p}.component`, x.component);
  });
  return errors;
}

/**
 * Every component name `meshfed up` will run for this federation: etcd-1..N, global-lb-1..2,
 * agent-/gateway-ZONE and app-ZONE-SERVICE-VERSION-I.
 */
export function componentNames(f: Federation, etcdMembers = 1): string[] {
  const out = [...Array.from({ length: etcdMembers }, (_, i) => `etcd-${i + 1}`), 'global-lb-1', 'global-lb-2'];
  for (const z of topologyZones(f.topology)) out.push(`agent-${z.locality.zone}`, `gateway-${z.locality.zone}`);
  for (const p of f.layout.placements) for (let i = 0; i < p.replicas; i++) out.push(`app-${p.zone}-${p.service}-${p.version}-${i}`);
  return out;
}
