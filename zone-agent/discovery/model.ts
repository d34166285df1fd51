// Pure discovery model: parses raw Kubernetes objects defensively and folds them into the zone's federated services.
import { isIP } from 'node:net';
import type { Result } from '../../common/errors.ts';

/** One endpoint of a local service, as the agent reports and relays it. */
export interface LocalEndpoint {
  readonly address: string;
  readonly port: number;
  /** Ready and not terminating: takes new traffic. */
  readonly healthy: boolean;
  /** Terminating but still serving: used only when nothing healthy is left (like kube-proxy). */
  readonly terminating: boolean;
  readonly labels: Readonly<Record<string, string>>;
}

/** A federated service in this zone and its endpoints. */
export interface LocalService {
  readonly namespace: string;
  readonly name: string;
  readonly endpoints: readonly LocalEndpoint[];
  /** Requests per second the service can take at full utilisation; 0 when unknown. */
  readonly capacityRps: number;
}

/** What one EndpointSlice contributes. */
export interface ParsedSlice {
  readonly namespace: string;
  readonly name: string;
  readonly service: string;
  readonly endpoints: readonly LocalEndpoint[];
}

/** A node's topology labels. */
export interface NodeTopology {
  readonly region?: string;
  readonly zone?: string;
}

export const FEDERATE_LABEL = 'meshfed.io/federate';
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const CAPACITY_ANNOTATION = 'meshfed.io/capacity-rps';
export const REGION_LABEL = 'topology.kubernetes.io/region';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** `namespace/name` of any object, or a placeholder, so warnings can always name what they skipped. */
export function objectName(raw: unknown): string {
  const md = isObj(raw) && isObj(raw['metadata']) ? raw['metadata'] : {};
  const ns = str(md['namespace']);
  return `${ns ? `${ns}/` : ''}${str(md['name']) ?? '(unnamed)'}`;
}

function labelsOf(md: Obj): Record<string, string> {
  const labels = md['labels'];
  if (!isObj(labels)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * Parses an EndpointSlice. A slice with anything malformed is refused whole, so a half-read slice never
 * shrinks or grows a service by accident. Conditions follow the EndpointSlice API: a nil `ready` means ready,
 * a nil `serving` follows `ready`, a nil `terminating` means not terminating.
 */
export function parseEndpointSlice(raw: unknown, nodes: ReadonlyMap<string, NodeTopology> = new Map()): Result<ParsedSlice, string> {
  const fail = (why: string): Result<ParsedSlice, string> => ({ ok: false, error: `EndpointSlice ${objectName(raw)}: ${why}` });
  if (!isObj(raw) || !isObj(raw['metadata'])) return fail('not an object with metadata');
  const md = raw['metadata'];
  const name = str(md['name']);
  const namespace = str(md['namespace']);
  if (!name || !namespace) return fail('metadata.name and metadata.namespace are required');
  const service = labelsOf(md)[SERVICE_NAME_LABEL];
  if (!service) return fail(`label ${SERVICE_NAME_LABEL} is missing`);
  const addressType = raw['addressType'];
  if (addressType !== undefined && addressType !== 'IPv4' && addressType !== 'IPv6') return fail(`unsupported addressType ${JSON.stringify(addressType)}`);
  const ports = raw['ports'];
  if (!Array.isArray(ports) || ports.length === 0) return fail('ports must be a non-empty list');
  const chosen = (ports.find((p) => isObj(p) && p['name'] === 'http') ?? ports[0]) as unknown;
  if (!isObj(chosen)) return fail('ports[0] is not an object');
  const port = chosen['port'];
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return fail(`port ${JSON.stringify(port)} is not 1..65535`);
  const eps = raw['endpoints'] ?? [];
  if (!Array.isArray(eps)) return fail('endpoints must be a list');
  const endpoints: LocalEndpoint[] = [];
  for (const [i, ep] of eps.entries()) {
    if (!isObj(ep)) return fail(`endpoints[${i}] is not an object`);
    const addresses = ep['addresses'];
    if (!Array.isArray(addresses) || addresses.length === 0) return fail(`endpoints[${i}].addresses must be a non-empty list`);
    const address = addresses[0];
    if (typeof address !== 'string' || isIP(address) === 0) return fail(`endpoints[${i}].addresses[0] ${JSON.stringify(address)} is not an IP address`);
    const cond = isObj(ep['conditions']) ? ep['conditions'] : {};
    for (const c of ['ready', 'serving', 'terminating']) {
      if (cond[c] !== undefined && cond[c] !== null && typeof cond[c] !== 'boolean') return fail(`endpoints[${i}].conditions.${c} is not a boolean`);
    }
    const ready = cond['ready'] !== false;
    const serving = typeof cond['serving'] === 'boolean' ? cond['serving'] : ready;
    const terminating = cond['terminating'] === true;
    // Not serving: gone for every purpose. Kubernetes keeps such endpoints only for information.
    if (!serving) continue;
    const labels: Record<string, string> = {};
    const nodeName = str(ep['nodeName']);
    if (nodeName) labels['node'] = nodeName;
    const topo = nodeName ? nodes.get(nodeName) : undefined;
    const zone = str(ep['zone']) ?? topo?.zone;
    if (zone) labels[ZONE_LABEL] = zone;
    if (topo?.region) labels[REGION_LABEL] = topo.region;
    if (terminating) labels['meshfed.io/state'] = 'terminating';
    endpoints.push({ address, port, healthy: ready && !terminating, terminating, labels });
  }
  return { ok: true, value: { namespace, name, service, endpoints } };
}

/** A federated Service's identity and capacity, or why it is not one. */
export function parseService(raw: unknown): Result<{ namespace: string; name: string; federated: boolean; capacityRps: number }, string> {
  if (!isObj(raw) || !isObj(raw['metadata'])) return { ok: false, error: `Service ${objectName(raw)}: not an object with metadata` };
  const md = raw['metadata'];
  const name = str(md['name']);
  const namespace = str(md['namespace']);
  if (!name || !namespace) return { ok: false, error: `Service ${objectName(raw)}: metadata.name and metadata.namespace are required` };
  const annotations = isObj(md['annotations']) ? md['annotations'] : {};
  const cap = Number(annotations[CAPACITY_ANNOTATION] ?? 0);
  return { ok: true, value: { namespace, name, federated: labelsOf(md)[FEDERATE_LABEL] === 'true', capacityRps: Number.isFinite(cap) && cap > 0 ? cap : 0 } };
}

/** A node's topology labels, or why they cannot be read. */
export function parseNode(raw: unknown): Result<{ name: string; topology: NodeTopology }, string> {
  if (!isObj(raw) || !isObj(raw['metadata'])) return { ok: false, error: `Node ${objectName(raw)}: not an object with metadata` };
  const md = raw['metadata'];
  const name = str(md['name']);
  if (!name) return { ok: false, error: 'Node (unnamed): metadata.name is required' };
  const labels = labelsOf(md);
  const topology: { region?: string; zone?: string } = {};
  if (labels[REGION_LABEL]) topology.region = labels[REGION_LABEL];
  if (labels[ZONE_LABEL]) topology.zone = labels[ZONE_LABEL];
  return { ok: true, value: { name, topology } };
}

/**
 * Folds services and slices into the zone's federated services. Invariant: an endpoint (address:port) appears
 * at most once per service even when two slices list it (the controller moves endpoints between slices);
 * the healthier copy wins. Output order is deterministic, so equal inputs give equal outputs.
 */
export function buildServices(
  services: Iterable<{ namespace: string; name: string; capacityRps: number }>,
  slices: Iterable<ParsedSlice>,
): LocalService[] {
  const byService = new Map<string, Map<string, LocalEndpoint>>();
  for (const s of slices) {
    const key = `${s.namespace}/${s.service}`;
    let eps = byService.get(key);
    if (!eps) byService.set(key, (eps = new Map()));
    for (const e of s.endpoints) {
      const id = `${e.address}:${e.port}`;
      const prev = eps.get(id);
      if (!prev || (e.healthy && !prev.healthy)) eps.set(id, e);
    }
  }
  const out: LocalService[] = [];
  for (const svc of services) {
    const eps = [...(byService.get(`${svc.namespace}/${svc.name}`)?.values() ?? [])];
    eps.sort((a, b) => (a.address === b.address ? a.port - b.port : a.address < b.address ? -1 : 1));
    out.push({ namespace: svc.namespace, name: svc.name, endpoints: eps, capacityRps: svc.capacityRps });
  }
  out.sort((a, b) => (a.namespace === b.namespace ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.namespace < b.namespace ? -1 : 1));
  return out;
}

/**
 * Keeps the slices' endpoints that belong to `zone`: one agent runs per zone, so in a cluster with several zones
 * each agent reports only the endpoints whose topology.kubernetes.io/zone (the EndpointSlice endpoint's `zone`,
 * else its node's label) is its own. An endpoint whose zone is unknown is kept: a single-zone cluster need not
 * label its nodes. Returns the input itself when nothing is dropped.
 */
export function sliceInZone(slice: ParsedSlice, zone: string): ParsedSlice {
  const kept = slice.endpoints.filter((e) => e.labels[ZONE_LABEL] === undefined || e.labels[ZONE_LABEL] === zone);
  return kept.length === slice.endpoints.length ? slice : { ...slice, endpoints: kept };
}

/** A stable content key for a service set, so unchanged discovery causes no push. */
export function servicesKey(services: readonly LocalService[]): string {
  return JSON.stringify(services);
}

/** Discovery as the agent sees it, whatever the source (Kubernetes or a static file). */
export interface Discovery {
  /** Starts watching; resolves after the first full view is known (or the first attempt failed). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The current federated services, deterministic and frozen-by-convention. */
  current(): readonly LocalService[];
  /** Called after the service set changed. */
  onChange(listener: () => void): void;
}
