// Kubernetes discovery: informers (list + watch via @kubernetes/client-node) on federated Services, EndpointSlices and Nodes.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from '../../common/logger.ts';
import { backoffDelay, type BackoffPolicy } from '../report/backoff.ts';
import {
  buildServices, FEDERATE_LABEL, parseEndpointSlice, parseNode, parseService, SERVICE_NAME_LABEL, servicesKey, sliceInZone,
  type Discovery, type LocalService, type NodeTopology, type ParsedSlice,
} from './model.ts';

/** How to reach the API server and how to behave when it fails. */
export interface KubernetesDiscoveryOptions {
  /** A kubeconfig file; omitted with inCluster = true. */
  readonly kubeconfig?: string;
  readonly inCluster?: boolean;
  /** A kubeconfig context other than the file's current one. */
  readonly context?: string;
  /** Only services in these namespaces; every namespace when empty or absent. */
  readonly namespaces?: readonly string[];
  /**
   * The agent's zone: endpoints labelled with another zone (topology.kubernetes.io/zone) are left to that zone's
   * agent. Absent: every endpoint of the cluster is this agent's.
   */
  readonly zone?: string;
  /** Relist every resource this often (default RESYNC_MS; 0 = never), repairing a cache that missed an event. */
  readonly resyncMs?: number;
  readonly logger: Logger;
  /** Restart delay after a failed list or watch; jitter comes from `random`. */
  readonly backoff?: BackoffPolicy;
  readonly random?: () => number;
  /** Called once per skipped malformed object (and per resourceVersion), for metrics. */
  readonly onMalformed?: (kind: string, name: string) => void;
  /** Called when a list or watch failed and a restart was scheduled. */
  readonly onWatchError?: (resource: string) => void;
}

/** Default full relist period: long enough that 5,000 slices cost nothing noticeable, short enough to repair drift. */
export const RESYNC_MS = 10 * 60_000;

const RESTART_BACKOFF: BackoffPolicy = { initialMs: 200, maxMs: 10_000, multiplier: 2, jitter: 0.5 };

type AnyInformer = k8s.Informer<k8s.KubernetesObject> & k8s.ObjectCache<k8s.KubernetesObject>;

/**
 * Discovery from a Kubernetes API server.
 *
 * Invariants: the view is recomputed from the three informer caches, never patched by events, so a relist
 * after 410 Gone (the informer replaces its cache and fires add/update/delete for the difference) can neither
 * lose nor duplicate endpoints; a failed list or watch restarts the informer after a jittered backoff, and the
 * informer itself resumes a closed watch from its last resourceVersion.
 */
export class KubernetesDiscovery implements Discovery {
  private readonly options: KubernetesDiscoveryOptions;
  private readonly informers = new Map<string, AnyInformer>();
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private readonly factories = new Map<string, () => AnyInformer>();
  /** A resync's fresh informer per resource until it has listed; one that failed meanwhile is never adopted. */
  private readonly pending = new Map<string, AnyInformer>();
  private readonly pendingFailed = new WeakSet<AnyInformer>();
  private resyncTimer: NodeJS.Timeout | undefined;
  private resyncs = 0;
  private readonly failures = new Map<string, number>();
  private readonly warned = new Set<string>();
  private readonly listeners: (() => void)[] = [];
  private services: readonly LocalService[] = [];
  private key = servicesKey([]);
  private recomputeQueued = false;
  private stopped = false;

  constructor(options: KubernetesDiscoveryOptions) {
    this.options = options;
    const kc = new k8s.KubeConfig();
    if (options.inCluster) kc.loadFromCluster();
    else if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
    else kc.loadFromDefault();
    if (options.context !== undefined) kc.setCurrentContext(options.context);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
    const federated = `${FEDERATE_LABEL}=true`;
    this.factories.set('services', () => k8s.makeInformer(kc, '/api/v1/services', () => core.listServiceForAllNamespaces({ labelSelector: federated }), federated));
    this.factories.set('endpointslices', () => k8s.makeInformer(kc, '/apis/discovery.k8s.io/v1/endpointslices',
      () => discovery.listEndpointSliceForAllNamespaces({ labelSelector: SERVICE_NAME_LABEL }), SERVICE_NAME_LABEL));
    this.factories.set('nodes', () => k8s.makeInformer(kc, '/api/v1/nodes', () => core.listNode()));
    for (const [resource, make] of this.factories) {
      const informer = make();
      this.wire(resource, informer);
      this.informers.set(resource, informer);
    }
  }

  /** Events and errors count only from the informer in use; a retired or not yet adopted one is ignored. */
  private wire(resource: string, informer: AnyInformer): void {
    const changed = (): void => {
      if (this.informers.get(resource) !== informer) return;
      this.failures.set(resource, 0);
      this.queueRecompute();
    };
    informer.on('add', changed);
    informer.on('update', changed);
    informer.on('delete', changed);
    informer.on('error', (e: unknown) => {
      if (this.informers.get(resource) === informer) this.restart(resource, informer, e);
      else if (this.pending.get(resource) === informer) this.pendingFailed.add(informer);
    });
  }

  private restart(resource: string, informer: AnyInformer, e: unknown): void {
    if (this.stopped) return;
    const attempt = this.failures.get(resource) ?? 0;
    this.failures.set(resource, attempt + 1);
    const delay = backoffDelay(this.options.backoff ?? RESTART_BACKOFF, attempt, this.options.random ?? Math.random);
    this.options.onWatchError?.(resource);
    this.options.logger.warn({ code: 'MESHFED_E_AGENT_DISCOVERY_FAILED', resource, attempt, delayMs: delay, err: String(e) },
      `list/watch of ${resource} failed; restarting in ${delay} ms`);
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      if (!this.stopped && this.informers.get(resource) === informer) informer.start().catch((err: unknown) => this.restart(resource, informer, err));
    }, delay);
    this.restartTimers.add(timer);
  }

  async start(): Promise<void> {
    this.stopped = false;
    await Promise.all([...this.informers.entries()].map(async ([resource, inf]) => {
      try {
        await inf.start();
      } catch (e) {
        this.restart(resource, inf, e);
      }
    }));
    this.recompute();
    const every = this.options.resyncMs ?? RESYNC_MS;
    if (every > 0) {
      this.resyncTimer = setInterval(() => void this.resync(), every);
      this.resyncTimer.unref();
    }
  }

  /**
   * Relists every resource from scratch, repairing a cache that missed an event (client-go's resync only replays its
   * cache, which would repair nothing here: the view is always recomputed from the caches). A fresh informer lists
   * and watches beside the old one and replaces it only once its list succeeded; on failure the old one stays.
   */
  async resync(): Promise<void> {
    if (this.stopped) return;
    this.resyncs += 1;
    await Promise.all([...this.factories.entries()].map(async ([resource, make]) => {
      if (this.pending.has(resource)) return;
      const next = make();
      this.wire(resource, next);
      this.pending.set(resource, next);
      try {
        await next.start();
      } catch {
        this.pendingFailed.add(next);
      }
      this.pending.delete(resource);
      const old = this.informers.get(resource);
      if (this.stopped || this.pendingFailed.has(next)) {
        await next.stop();
        if (!this.stopped) this.options.logger.warn({ code: 'MESHFED_E_AGENT_DISCOVERY_FAILED', resource }, `resync of ${resource} failed; keeping the current cache`);
        return;
      }
      this.informers.set(resource, next);
      this.failures.set(resource, 0);
      if (old) await old.stop();
      this.queueRecompute();
    }));
  }

  /** How many periodic (or requested) relists ran, for status pages and tests. */
  resyncCount(): number {
    return this.resyncs;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.resyncTimer = undefined;
    for (const t of this.restartTimers) clearTimeout(t);
    this.restartTimers.clear();
    await Promise.all([...this.informers.values(), ...this.pending.values()].map((i) => i.stop()));
  }

  current(): readonly LocalService[] {
    return this.services;
  }

  /** The resourceVersion each informer would resume its watch from (for status pages and tests). */
  resourceVersions(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [resource, inf] of this.informers) {
      // ListWatch has it; the Informer interface does not declare it.
      const rv = (inf as unknown as { latestResourceVersion?: () => string }).latestResourceVersion?.();
      out[resource] = rv ?? '';
    }
    return out;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Coalesces a burst of informer events (e.g. a relist) into one recompute. */
  private queueRecompute(): void {
    if (this.recomputeQueued) return;
    this.recomputeQueued = true;
    setImmediate(() => {
      this.recomputeQueued = false;
      if (!this.stopped) this.recompute();
    });
  }

  private warnOnce(kind: string, obj: k8s.KubernetesObject, message: string): void {
    const id = `${kind}/${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}@${obj.metadata?.resourceVersion ?? ''}`;
    if (this.warned.has(id)) return;
    this.warned.add(id);
    this.options.onMalformed?.(kind, `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`);
    this.options.logger.warn({ code: 'MESHFED_E_AGENT_MALFORMED_OBJECT', kind, object: `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? '(unnamed)'}` },
      `skipped malformed object: ${message}`);
  }

  private inScope(namespace: string): boolean {
    const ns = this.options.namespaces;
    return ns === undefined || ns.length === 0 || ns.includes(namespace);
  }

  private recompute(): void {
    const nodes = new Map<string, NodeTopology>();
    for (const n of this.informers.get('nodes')?.list() ?? []) {
      const r = parseNode(n);
      if (r.ok) nodes.set(r.value.name, r.value.topology);
      else this.warnOnce('Node', n, r.error);
    }
    const services: { namespace: string; name: string; capacityRps: number }[] = [];
    for (const s of this.informers.get('services')?.list() ?? []) {
      const r = parseService(s);
      if (!r.ok) this.warnOnce('Service', s, r.error);
      else if (r.value.federated && this.inScope(r.value.namespace)) services.push(r.value);
    }
    const slices: ParsedSlice[] = [];
    for (const s of this.informers.get('endpointslices')?.list() ?? []) {
      const r = parseEndpointSlice(s, nodes);
      if (r.ok) slices.push(this.options.zone === undefined ? r.value : sliceInZone(r.value, this.options.zone));
      else this.warnOnce('EndpointSlice', s, r.error);
    }
    const next = buildServices(services, slices);
    const key = servicesKey(next);
    if (key === this.key) return;
    this.key = key;
    this.services = next;
    for (const l of this.listeners) l();
  }
}
