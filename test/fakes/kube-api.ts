// An in-process fake Kubernetes API server speaking the real REST list + watch protocol for nodes, services and EndpointSlices.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { writeFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';

/** The resources the fake serves, keyed by the collection path the client lists and watches. */
export const KUBE_RESOURCES = {
  nodes: { path: '/api/v1/nodes', kind: 'Node', apiVersion: 'v1', namespaced: false },
  services: { path: '/api/v1/services', kind: 'Service', apiVersion: 'v1', namespaced: true },
  endpointslices: { path: '/apis/discovery.k8s.io/v1/endpointslices', kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', namespaced: true },
} as const;

export type KubeResource = keyof typeof KUBE_RESOURCES;

/**
 * The built-in API groups the fake announces through legacy discovery (/api, /apis, /api/v1, /apis/G/V), as a real
 * apiserver does, so kubectl can map kinds to resources: [resource, kind, namespaced] per group version. It serves
 * list and watch only for KUBE_RESOURCES; any other GET is a 404 NotFound Status, which kubectl reads as "absent".
 */
export const KUBE_DISCOVERY: Readonly<Record<string, readonly (readonly [string, string, boolean])[]>> = {
  v1: [['namespaces', 'Namespace', false], ['nodes', 'Node', false], ['pods', 'Pod', true], ['services', 'Service', true],
    ['serviceaccounts', 'ServiceAccount', true], ['secrets', 'Secret', true], ['configmaps', 'ConfigMap', true]],
  'apps/v1': [['deployments', 'Deployment', true], ['statefulsets', 'StatefulSet', true], ['daemonsets', 'DaemonSet', true], ['replicasets', 'ReplicaSet', true]],
  'batch/v1': [['jobs', 'Job', true], ['cronjobs', 'CronJob', true]],
  'policy/v1': [['poddisruptionbudgets', 'PodDisruptionBudget', true]],
  'rbac.authorization.k8s.io/v1': [['clusterroles', 'ClusterRole', false], ['clusterrolebindings', 'ClusterRoleBinding', false], ['roles', 'Role', true], ['rolebindings', 'RoleBinding', true]],
  'discovery.k8s.io/v1': [['endpointslices', 'EndpointSlice', true]],
};

/** The legacy discovery document at a path, or undefined when the path is not a discovery path. */
export function discoveryDocument(path: string): object | undefined {
  const groups = Object.keys(KUBE_DISCOVERY).filter((gv) => gv.includes('/'));
  if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] };
  if (path === '/apis') {
    return {
      kind: 'APIGroupList', apiVersion: 'v1',
      groups: groups.map((gv) => {
        const [group, version] = gv.split('/') as [string, string];
        return { name: group, versions: [{ groupVersion: gv, version }], preferredVersion: { groupVersion: gv, version } };
      }),
    };
  }
  const gv = path === '/api/v1' ? 'v1' : path.startsWith('/apis/') ? path.slice('/apis/'.length) : undefined;
  const resources = gv === undefined ? undefined : KUBE_DISCOVERY[gv];
  if (resources === undefined) return undefined;
  return {
    kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv,
    resources: resources.map(([name, kind, namespaced]) => ({
      name, singularName: kind.toLowerCase(), namespaced, kind,
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    })),
  };
}

/** A Kubernetes object as JSON; the fake stamps metadata.resourceVersion and uid. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; resourceVersion?: string; uid?: string; [k: string]: unknown };
  [k: string]: unknown;
}

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface StoredEvent {
  readonly rv: number;
  readonly type: EventType;
  readonly object: KubeObject;
}

interface OpenWatch {
  readonly resource: KubeResource;
  readonly selector: Selector;
  readonly res: ServerResponse;
}

type Requirement = { key: string; op: '=' | '!=' | 'exists' | '!exists'; value?: string };
type Selector = readonly Requirement[];

/** Parses the equality-based label selector syntax (`a=b,c!=d,e,!f`). Set-based selectors are not needed by meshfed. */
export function parseLabelSelector(text: string | null): Selector {
  if (!text) return [];
  return text.split(',').map((part) => part.trim()).filter((p) => p !== '').map((part): Requirement => {
    const ne = part.indexOf('!=');
    if (ne > 0) return { key: part.slice(0, ne), op: '!=', value: part.slice(ne + 2) };
    const eq = part.indexOf('=');
    if (eq > 0) return { key: part.slice(0, eq), op: '=', value: part.slice(part[eq + 1] === '=' ? eq + 2 : eq + 1) };
    if (part.startsWith('!')) return { key: part.slice(1), op: '!exists' };
    return { key: part, op: 'exists' };
  });
}

function matches(selector: Selector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return selector.every((r) => {
    const has = Object.hasOwn(l, r.key);
    switch (r.op) {
      case '=': return has && l[r.key] === r.value;
      case '!=': return !has || l[r.key] !== r.value;
      case 'exists': return has;
      case '!exists': return !has;
    }
  });
}

function keyOf(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}

/** Counters a test can assert on, e.g. that a relist really happened after a 410. */
export interface KubeApiStats {
  lists: Record<KubeResource, number>;
  watches: Record<KubeResource, number>;
  goneSent: number;
  /** Discovery documents served (kubectl's kind-to-resource mapping). */
  discovery: number;
}

/**
 * The fake server. Invariants: resourceVersions are one global, strictly increasing counter (like etcd's
 * revision); every change is kept in an event log; a watch from a version older than the compaction point
 * gets an ERROR event carrying a 410 Status and is closed, exactly as the real apiserver does.
 */
export class FakeKubeApi {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly objects: Record<KubeResource, Map<string, KubeObject>> = { nodes: new Map(), services: new Map(), endpointslices: new Map() };
  private readonly log: Record<KubeResource, StoredEvent[]> = { nodes: [], services: [], endpointslices: [] };
  private readonly watches = new Set<OpenWatch>();
  private revision = 100;
  private compactedAt = 0;
  private uidCounter = 0;
  readonly stats: KubeApiStats = { lists: { nodes: 0, services: 0, endpointslices: 0 }, watches: { nodes: 0, services: 0, endpointslices: 0 }, goneSent: 0, discovery: 0 };
  port = 0;

  constructor() {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  /** Listens on 127.0.0.1, on a free port unless one is given (to bring a "restarted" server back on the same URL). */
  async start(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', resolve);
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * Writes a kubeconfig pointing at this server and returns its path. Plain http: client-node only allows it
   * with insecure-skip-tls-verify set, so the file sets it.
   */
  writeKubeconfig(path: string): string {
    const text = [
      'apiVersion: v1', 'kind: Config', 'current-context: fake',
      'clusters:', '- name: fake', '  cluster:', `    server: ${this.url}`, '    insecure-skip-tls-verify: true',
      'users:', '- name: fake', '  user:', '    token: fake-token',
      'contexts:', '- name: fake', '  context:', '    cluster: fake', '    user: fake',
    ].join('\n');
    writeFileSync(path, `${text}\n`);
    return path;
  }

  async stop(): Promise<void> {
    for (const w of this.watches) w.res.destroy();
    this.watches.clear();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Creates or replaces an object; emits ADDED or MODIFIED. Returns the stored copy. */
  apply(resource: KubeResource, obj: KubeObject): KubeObject {
    const spec = KUBE_RESOURCES[resource];
    const stored: KubeObject = structuredClone(obj);
    stored.apiVersion = spec.apiVersion;
    stored.kind = spec.kind;
    if (spec.namespaced) stored.metadata.namespace ??= 'default';
    const prev = this.objects[resource].get(keyOf(stored));
    this.revision += 1;
    stored.metadata.resourceVersion = String(this.revision);
    stored.metadata.uid = prev?.metadata.uid ?? `uid-${++this.uidCounter}`;
    this.objects[resource].set(keyOf(stored), stored);
    this.emit(resource, prev ? 'MODIFIED' : 'ADDED', stored);
    return stored;
  }

  /** Deletes an object; emits DELETED. Returns false when it did not exist. */
  delete(resource: KubeResource, namespace: string | undefined, name: string): boolean {
    const ns = KUBE_RESOURCES[resource].namespaced ? (namespace ?? 'default') : '';
    const key = `${ns}/${name}`;
    const prev = this.objects[resource].get(key);
    if (!prev) return false;
    this.objects[resource].delete(key);
    this.revision += 1;
    const gone = structuredClone(prev);
    gone.metadata.resourceVersion = String(this.revision);
    this.emit(resource, 'DELETED', gone);
    return true;
  }

  /**
   * Deletes an object without telling any watcher, as if the DELETED event were lost on the way: only a relist
   * (an informer resync) can notice. Returns false when it did not exist.
   */
  forget(resource: KubeResource, namespace: string | undefined, name: string): boolean {
    const ns = KUBE_RESOURCES[resource].namespaced ? (namespace ?? 'default') : '';
    const gone = this.objects[resource].delete(`${ns}/${name}`);
    if (gone) this.revision += 1;
    return gone;
  }

  /** Closes every open watch connection, as an apiserver restart or a load balancer timeout would. */
  dropWatches(): number {
    const n = this.watches.size;
    for (const w of this.watches) w.res.end();
    this.watches.clear();
    return n;
  }

  /** Forgets the event log up to now, so any watch resuming from an older version gets 410 Gone. */
  compact(): void {
    this.compactedAt = this.revision;
    for (const r of Object.keys(this.log) as KubeResource[]) this.log[r] = [];
  }

  /**
   * Sends a BOOKMARK (an object carrying only the current resourceVersion) on every open watch, as the apiserver
   * does periodically, so clients can resume from a recent version even when nothing they watch changed.
   */
  bookmark(): number {
    let n = 0;
    for (const w of this.watches) {
      const spec = KUBE_RESOURCES[w.resource];
      this.send(w.res, 'BOOKMARK', { apiVersion: spec.apiVersion, kind: spec.kind, metadata: { resourceVersion: String(this.revision) } });
      n++;
    }
    return n;
  }

  /** The number of watch connections currently open. */
  openWatches(resource?: KubeResource): number {
    let n = 0;
    for (const w of this.watches) if (resource === undefined || w.resource === resource) n++;
    return n;
  }

  private emit(resource: KubeResource, type: EventType, object: KubeObject): void {
    const event: StoredEvent = { rv: this.revision, type, object };
    this.log[resource].push(event);
    for (const w of this.watches) {
      if (w.resource === resource && matches(w.selector, object.metadata.labels)) this.send(w.res, type, object);
    }
  }

  private send(res: ServerResponse, type: string, object: unknown): void {
    res.write(`${JSON.stringify({ type, object })}\n`);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const resource = (Object.keys(KUBE_RESOURCES) as KubeResource[]).find((r) => KUBE_RESOURCES[r].path === url.pathname);
    const discovery = req.method === 'GET' ? discoveryDocument(url.pathname) : undefined;
    if (discovery !== undefined) {
      this.stats.discovery += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(discovery));
      return;
    }
    if (req.method !== 'GET' || resource === undefined) {
      this.status(res, 404, 'NotFound', `the server could not find the requested resource (${req.method} ${url.pathname})`);
      return;
    }
    const selector = parseLabelSelector(url.searchParams.get('labelSelector'));
    const watch = url.searchParams.get('watch');
    if (watch === 'true' || watch === '1') this.watch(resource, selector, url.searchParams.get('resourceVersion') ?? '', res);
    else this.list(resource, selector, res);
  }

  private list(resource: KubeResource, selector: Selector, res: ServerResponse): void {
    this.stats.lists[resource] += 1;
    const spec = KUBE_RESOURCES[resource];
    const items = [...this.objects[resource].values()].filter((o) => matches(selector, o.metadata.labels));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ apiVersion: spec.apiVersion, kind: `${spec.kind}List`, metadata: { resourceVersion: String(this.revision) }, items }));
  }

  private watch(resource: KubeResource, selector: Selector, rvText: string, res: ServerResponse): void {
    this.stats.watches[resource] += 1;
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const rv = rvText === '' || rvText === '0' ? undefined : Number(rvText);
    if (rv !== undefined && (!Number.isFinite(rv) || rv < this.compactedAt)) {
      this.stats.goneSent += 1;
      this.send(res, 'ERROR', {
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
        message: `too old resource version: ${rvText} (${this.compactedAt})`, reason: 'Expired', code: 410,
      });
      res.end();
      return;
    }
    if (rv === undefined) {
      // "Any version": the real apiserver starts with synthetic ADDED events for the current state.
      for (const o of this.objects[resource].values()) if (matches(selector, o.metadata.labels)) this.send(res, 'ADDED', o);
    } else {
      for (const e of this.log[resource]) if (e.rv > rv && matches(selector, e.object.metadata.labels)) this.send(res, e.type, e.object);
    }
    const w: OpenWatch = { resource, selector, res };
    this.watches.add(w);
    res.on('close', () => this.watches.delete(w));
  }

  private status(res: ServerResponse, code: number, reason: string, message: string): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
  }
}

/** An EndpointSlice for a service, with one endpoint per address. */
export function endpointSlice(
  namespace: string, name: string, service: string, port: number,
  endpoints: readonly { ip: string; ready?: boolean; serving?: boolean; terminating?: boolean; nodeName?: string; zone?: string }[],
): KubeObject {
  return {
    metadata: { name, namespace, labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port, protocol: 'TCP' }],
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false },
      ...(e.nodeName ? { nodeName: e.nodeName } : {}),
      ...(e.zone ? { zone: e.zone } : {}),
    })),
  };
}

/** A Service, opted in to federation unless federate is false. */
export function service(namespace: string, name: string, federate = true): KubeObject {
  return {
    metadata: { name, namespace, labels: federate ? { 'meshfed.io/federate': 'true', app: name } : { app: name } },
    spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }], selector: { app: name }, type: 'ClusterIP' },
  };
}

/** A Node with topology labels. */
export function node(name: string, region: string, zone: string): KubeObject {
  return { metadata: { name, labels: { 'topology.kubernetes.io/region': region, 'topology.kubernetes.io/zone': zone } }, spec: {} };
}
