// The list of meshfed commands. Each entry loads its module lazily, so `meshfed --help` stays fast.

/** What every command module exports. The return value is the process exit code. */
export interface CommandModule {
  run(argv: readonly string[]): Promise<number>;
}

export interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  readonly load: () => Promise<CommandModule>;
}

/** Ordered as `meshfed --help` shows them. */
export const COMMANDS: readonly CommandEntry[] = [
  { name: 'up', summary: 'run a whole multi-zone federation with a sample shop on this machine', load: () => import('./up.ts') },
  { name: 'down', summary: 'stop the federation started by `meshfed up` and remove its temporary state', load: () => import('./down.ts') },
  { name: 'status', summary: 'show the federation: replicas and leader, zones and health, agent streams, staleness', load: () => import('./status.ts') },
  { name: 'fault', summary: 'inject or clear L7 faults in the sidecars started by `meshfed up`', load: () => import('./fault.ts') },
  { name: 'hold', summary: 'keep components of `meshfed up` down (not restarted) for a while; --kill also kills them', load: () => import('./hold.ts') },
  { name: 'release', summary: 'end holds set by `meshfed hold`: `meshfed up` restarts the components at once', load: async () => ({ run: (await import('./hold.ts')).runRelease }) },
  { name: 'chaos', summary: 'run, validate or list chaos scenarios (faults at every depth, verified rollback, plotted report)', load: () => import('./chaos.ts') },
  { name: 'sample-app', summary: "run one zone's demo shop (apps, sidecars, gateway); used by `meshfed up`", load: () => import('./sample-app.ts') },
  { name: 'version', summary: 'print the meshfed and Node.js versions', load: () => import('./version.ts') },
  { name: 'global-lb', summary: 'run a global balancer replica (federation gRPC, admin API, weights)', load: () => import('./global-lb.ts') },
  { name: 'weights', summary: 'show the weight table of a service (--explain for reasons)', load: () => import('./weights.ts') },
  { name: 'zones', summary: 'list zones: alive, drained, eligible, last report age', load: () => import('./zones.ts') },
  { name: 'policy', summary: 'apply, validate, get or delete a service policy', load: () => import('./policy.ts') },
  { name: 'drain', summary: 'take a zone out of rotation for every service', load: () => import('./drain.ts') },
  { name: 'undrain', summary: 'put a drained zone back into rotation', load: () => import('./undrain.ts') },
  { name: 'zone-agent', summary: 'run a zone agent (endpoint discovery, reports to global-lb, relay to sidecars)', load: () => import('./zone-agent.ts') },
  { name: 'trust', summary: 'federation CA: root, cluster intermediates (Istio plug-in files), workload certs, verify, bundles', load: () => import('./trust.ts') },
  { name: 'sidecar', summary: 'run a sidecar: outbound HTTP/1.1, h2c and gRPC; inbound mTLS with authz; admin port', load: () => import('./sidecar.ts') },
  { name: 'proxy', summary: 'run a native data plane (HAProxy) for a workload, driven through its Runtime API by the zone agent\'s relay', load: () => import('./proxy.ts') },
  { name: 'gateway', summary: 'run an east-west gateway: TLS passthrough by SNI to this zone\'s endpoints', load: () => import('./gateway.ts') },
  { name: 'render', summary: 'write one cluster\'s Kubernetes manifests from the federation file (meshfed render k8s)', load: () => import('./render.ts') },
  { name: 'inject', summary: 'add the meshfed sidecar to Deployments, StatefulSets, DaemonSets and Pods (multi-document YAML)', load: () => import('./inject.ts') },
];
