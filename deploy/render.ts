// Renders one cluster's Kubernetes objects from a federation: global-lb, zone agents, gateways, RBAC, Secrets, policies.
import type { Federation } from '../api/federation-file.ts';
import type { DeploySettings } from '../api/deploy-settings.ts';
import { formatHostPort } from '../api/fields.ts';
import { topologyZones, type TopologyZone } from '../api/topology.ts';
import { stringify } from 'yaml';
import { deployError } from './errors.ts';
import {
  componentLabels, containerSecurityContext, httpProbe, podSecurityContext, resourcesFor, selectorLabels,
  HOSTNAME_LABEL, TMP_MOUNT, TMP_VOLUME, ZONE_LABEL, type KubeObject,
} from './k8s.ts';

/** The real ports of each component (cli/global-lb.ts, cli/zone-agent.ts, cli/gateway.ts, cli/sidecar.ts). */
export const PORTS = {
  globalLbGrpc: 15200, globalLbAdmin: 15201,
  agentAdmin: 15100, agentRelay: 15101,
  gatewayTls: 15443, gatewayAdmin: 15020,
  sidecarAdmin: 15000, sidecarOutbound: 15001, sidecarInbound: 15006,
} as const;

/** Secret names the Deployments mount; render writes each only when given its files. */
export const SECRETS = { cacerts: 'cacerts', globalLbTls: 'meshfed-global-lb-tls', etcdTls: 'meshfed-etcd-tls', adminTokens: 'meshfed-admin-tokens' } as const;
/** Where the Secrets are mounted. */
export const MOUNTS = { cacerts: '/etc/meshfed/cacerts', globalLbTls: '/etc/meshfed/global-lb-tls', etcdTls: '/etc/meshfed/etcd-tls', adminTokens: '/etc/meshfed/admin-tokens', agentState: '/var/lib/meshfed' } as const;

/** The key of the admin-tokens Secret: the `--admin-tokens` file (hashed bearer tokens, docs/security.md). */
export const ADMIN_TOKENS_KEY = 'admin-tokens.yaml';

/** File contents (name → text) for the Secrets; each is optional. */
export interface RenderSecrets {
  /** Istio plug-in CA files of this cluster (`meshfed trust intermediate`): root-cert.pem, ca-cert.pem, ca-key.pem, cert-chain.pem. */
  readonly cacerts?: Readonly<Record<string, string>>;
  /** `meshfed trust issue --spiffe-id spiffe://TD/meshfed/global-lb` output: cert.pem, key.pem, chain.pem, root-cert.pem. */
  readonly globalLbTls?: Readonly<Record<string, string>>;
  /** etcd client TLS: ca.crt, tls.crt, tls.key. */
  readonly etcdTls?: Readonly<Record<string, string>>;
  /**
   * The `--admin-tokens` file (ADMIN_TOKENS_KEY) for every admin port render writes (global-lb, agents, gateways).
   * Without it the admin ports run as before: reads open, writes same-origin only.
   */
  readonly adminTokens?: Readonly<Record<string, string>>;
}

/** One rendered object and the file it is written to (ordered so `kubectl apply -f DIR` creates namespaces first). */
export interface RenderedObject {
  readonly file: string;
  readonly object: KubeObject;
}

/** What render produced, and what it could not (a Secret whose files were not given). */
export interface RenderResult {
  readonly objects: readonly RenderedObject[];
  readonly missing: readonly string[];
}

const ORDER: Record<string, string> = {
  Namespace: '00', ServiceAccount: '10', ClusterRole: '11', ClusterRoleBinding: '12', Secret: '20', ConfigMap: '21',
  Service: '30', Deployment: '40', PodDisruptionBudget: '50',
};

/** Renders every object one cluster needs. Pure: file contents come in through `secrets`. */
export function renderCluster(federation: Federation, settings: DeploySettings, cluster: string, secrets: RenderSecrets = {}): RenderResult {
  const clusters = federation.topology.clusters.map((c) => c.name);
  if (!clusters.includes(cluster)) throw deployError('MESHFED_E_DEPLOY_UNKNOWN_CLUSTER', `--cluster: "${cluster}" is not declared in the federation (clusters: ${clusters.join(', ')})`);
  const zones = topologyZones(federation.topology).filter((z) => z.cluster === cluster);
  const ns = settings.namespace;
  const objects: KubeObject[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'app.kubernetes.io/part-of': 'meshfed', 'app.kubernetes.io/managed-by': 'meshfed-render' } } },
    ...rbac(ns),
    ...renderSecrets(ns, settings, secrets),
    policiesConfigMap(federation, ns),
    ...globalLb(federation, settings),
  ];
  for (const zone of zones) objects.push(...zoneAgent(federation, settings, zone), ...gateway(settings, zone));
  if (secrets.adminTokens) for (const o of objects) if (o.kind === 'Deployment') withAdminTokens(o);
  // The admin tokens are optional (the admin ports run without them), so their absence is not reported.
  const missing = (Object.keys(SECRETS) as (keyof typeof SECRETS)[]).filter((k) => k !== 'adminTokens' && secrets[k] === undefined).map((k) => SECRETS[k]);
  return { objects: objects.map((object) => ({ file: fileName(object), object })), missing };
}

/** Mounts the admin-tokens Secret into a rendered Deployment and passes it as --admin-tokens. */
function withAdminTokens(d: KubeObject): void {
  const pod = (d['spec'] as { template: { spec: { containers: { args: string[]; volumeMounts: unknown[] }[]; volumes: unknown[] } } }).template.spec;
  pod.volumes.push(secretVolume('admin-tokens', SECRETS.adminTokens));
  const c = pod.containers[0]!;
  c.volumeMounts.push({ name: 'admin-tokens', mountPath: MOUNTS.adminTokens, readOnly: true });
  c.args.push('--admin-tokens', `${MOUNTS.adminTokens}/${ADMIN_TOKENS_KEY}`);
}

function fileName(o: KubeObject): string {
  const ns = o.metadata.namespace && o.kind === 'Secret' ? `-${o.metadata.namespace}` : '';
  return `${ORDER[o.kind] ?? '90'}-${o.kind.toLowerCase()}-${o.metadata.name}${ns}.yaml`;
}

/** The objects as one multi-document YAML text each, keyed by file name. */
export function toYamlFiles(result: RenderResult): Map<string, string> {
  return new Map(result.objects.map((r) => [r.file, stringify(r.object, { lineWidth: 0 })]));
}

function rbac(ns: string): KubeObject[] {
  const sa = (component: string): KubeObject => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: `meshfed-${component}`, namespace: ns, labels: componentLabels(component) } });
  return [
    sa('global-lb'), sa('zone-agent'), sa('gateway'),
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'meshfed-zone-agent', labels: componentLabels('zone-agent') },
      // What zone-agent/discovery/kubernetes.ts lists and watches; pods for attesting workloads by their service account.
      rules: [
        { apiGroups: [''], resources: ['services', 'pods', 'nodes'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'meshfed-zone-agent', labels: componentLabels('zone-agent') },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'meshfed-zone-agent' },
      subjects: [{ kind: 'ServiceAccount', name: 'meshfed-zone-agent', namespace: ns }],
    },
  ];
}

function secret(name: string, ns: string, data: Readonly<Record<string, string>>, component: string): KubeObject {
  const encoded: Record<string, string> = {};
  for (const [k, v] of Object.entries(data).sort(([a], [b]) => (a < b ? -1 : 1))) encoded[k] = Buffer.from(v).toString('base64');
  return { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, namespace: ns, labels: componentLabels(component) }, data: encoded };
}

function renderSecrets(ns: string, settings: DeploySettings, s: RenderSecrets): KubeObject[] {
  const out: KubeObject[] = [];
  if (s.cacerts) {
    out.push(secret(SECRETS.cacerts, ns, s.cacerts, 'zone-agent'));
    // Istio's plug-in CA reads the same four keys from `cacerts` in its own namespace.
    if (settings.istioNamespace) out.push(secret(SECRETS.cacerts, settings.istioNamespace, s.cacerts, 'zone-agent'));
  }
  if (s.globalLbTls) out.push(secret(SECRETS.globalLbTls, ns, s.globalLbTls, 'global-lb'));
  if (s.etcdTls) out.push(secret(SECRETS.etcdTls, ns, s.etcdTls, 'global-lb'));
  if (s.adminTokens) out.push(secret(SECRETS.adminTokens, ns, s.adminTokens, 'global-lb'));
  return out;
}

function policiesConfigMap(f: Federation, ns: string): KubeObject {
  const data: Record<string, string> = {};
  // One file per service in the api/policy.ts shape, ready for `meshfed policy apply -f`.
  for (const p of f.policies) data[`${p.namespace}.${p.name}.yaml`] = stringify({ namespace: p.namespace, name: p.name, ...p.body }, { lineWidth: 0 });
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'meshfed-policies', namespace: ns, labels: componentLabels('global-lb') }, data };
}

/** A Deployment with everything meshfed pods share: non-root, read-only root, /tmp, labels, service account. */
function deployment(o: {
  settings: DeploySettings; component: string; name: string; zone?: string; replicas: number; args: string[];
  ports: { name: string; containerPort: number }[]; readiness: Record<string, unknown>; liveness: Record<string, unknown>;
  resources: Record<string, unknown>; volumes?: Record<string, unknown>[]; mounts?: Record<string, unknown>[];
  env?: Record<string, unknown>[]; spread?: Record<string, unknown>[]; affinity?: Record<string, unknown>; strategy?: Record<string, unknown>;
}): KubeObject {
  const labels = componentLabels(o.component, o.zone);
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: o.name, namespace: o.settings.namespace, labels },
    spec: {
      replicas: o.replicas,
      selector: { matchLabels: selectorLabels(o.component, o.zone) },
      ...(o.strategy ? { strategy: o.strategy } : {}),
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: `meshfed-${o.component}`,
          automountServiceAccountToken: o.component === 'zone-agent',
          securityContext: podSecurityContext(),
          ...(o.spread ? { topologySpreadConstraints: o.spread } : {}),
          ...(o.affinity ? { affinity: o.affinity } : {}),
          containers: [{
            name: o.component,
            image: o.settings.image,
            imagePullPolicy: o.settings.imagePullPolicy,
            args: o.args,
            ports: o.ports.map((p) => ({ ...p, protocol: 'TCP' })),
            env: [{ name: 'NODE_COMPILE_CACHE', value: '/tmp/meshfed-compile-cache' }, ...(o.env ?? [])],
            readinessProbe: o.readiness,
            livenessProbe: o.liveness,
            resources: o.resources,
            securityContext: containerSecurityContext(),
            volumeMounts: [TMP_MOUNT, ...(o.mounts ?? [])],
          }],
          volumes: [TMP_VOLUME, ...(o.volumes ?? [])],
        },
      },
    },
  };
}

function spreadOver(key: string, component: string, zone?: string): Record<string, unknown> {
  return { maxSkew: 1, topologyKey: key, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selectorLabels(component, zone) } };
}

function secretVolume(name: string, secretName: string, mode = 0o400): Record<string, unknown> {
  return { name, secret: { secretName, defaultMode: mode } };
}

function pdb(settings: DeploySettings, component: string, name: string, zone?: string): KubeObject {
  return {
    apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name, namespace: settings.namespace, labels: componentLabels(component, zone) },
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(component, zone) } },
  };
}

/** The Service address agents of this cluster dial for global-lb. */
export function globalLbAddress(settings: DeploySettings): string {
  return `meshfed-global-lb.${settings.namespace}.svc:${PORTS.globalLbGrpc}`;
}

function globalLb(f: Federation, settings: DeploySettings): KubeObject[] {
  const tls = MOUNTS.globalLbTls;
  const args = [
    'global-lb', '--etcd', settings.etcd.endpoints.join(','),
    '--grpc-listen', `0.0.0.0:${PORTS.globalLbGrpc}`, '--admin-listen', `0.0.0.0:${PORTS.globalLbAdmin}`,
    '--tls-cert', `${tls}/chain.pem`, '--tls-key', `${tls}/key.pem`, '--tls-bundle', `${tls}/root-cert.pem`,
    '--trust-domain', f.topology.trustDomain, '--replica-id', '$(POD_NAME)',
    // The etcd client certificate from the meshfed-etcd-tls Secret (ca.crt, tls.crt, tls.key), as etcd requires.
    '--etcd-ca', `${MOUNTS.etcdTls}/ca.crt`, '--etcd-cert', `${MOUNTS.etcdTls}/tls.crt`, '--etcd-key', `${MOUNTS.etcdTls}/tls.key`,
  ];
  const name = 'meshfed-global-lb';
  return [
    deployment({
      settings, component: 'global-lb', name, replicas: settings.globalLb.replicas, args,
      ports: [{ name: 'grpc', containerPort: PORTS.globalLbGrpc }, { name: 'admin', containerPort: PORTS.globalLbAdmin }],
      readiness: httpProbe('/readyz', 'admin'), liveness: httpProbe('/healthz', 'admin', 10),
      resources: resourcesFor(settings, 'globalLb'),
      env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
      volumes: [secretVolume('global-lb-tls', SECRETS.globalLbTls), secretVolume('etcd-tls', SECRETS.etcdTls)],
      mounts: [{ name: 'global-lb-tls', mountPath: tls, readOnly: true }, { name: 'etcd-tls', mountPath: MOUNTS.etcdTls, readOnly: true }],
      spread: [spreadOver(ZONE_LABEL, 'global-lb'), spreadOver(HOSTNAME_LABEL, 'global-lb')],
    }),
    service(settings, 'global-lb', name, 'ClusterIP', [{ name: 'grpc', port: PORTS.globalLbGrpc }, { name: 'admin', port: PORTS.globalLbAdmin }]),
    // The admin API stays inside the cluster; only the agents' Federation port is offered to other clusters.
    ...(settings.globalLb.externalService ? [service(settings, 'global-lb', `${name}-external`, 'LoadBalancer', [{ name: 'grpc', port: PORTS.globalLbGrpc }])] : []),
    pdb(settings, 'global-lb', name),
  ];
}

function service(settings: DeploySettings, component: string, name: string, type: string, ports: { name: string; port: number }[], zone?: string): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: settings.namespace, labels: componentLabels(component, zone) },
    spec: { type, selector: selectorLabels(component, zone), ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: 'TCP' })) },
  };
}

/** The Service name of a zone's agent; sidecars and the gateway of that zone dial it on the relay port. */
export function agentServiceName(zone: string): string {
  return `meshfed-zone-agent-${zone}`;
}

/** host:port of a zone's agent relay inside the cluster. */
export function agentRelayAddress(settings: DeploySettings, zone: string): string {
  return `${agentServiceName(zone)}.${settings.namespace}.svc:${PORTS.agentRelay}`;
}

function preferZone(zone: string): Record<string, unknown> {
  return { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, preference: { matchExpressions: [{ key: ZONE_LABEL, operator: 'In', values: [zone] }] } }] } };
}

function zoneAgent(f: Federation, settings: DeploySettings, z: TopologyZone): KubeObject[] {
  const zone = z.locality.zone;
  const args = [
    'zone-agent', '--zone', `${z.locality.cloud}/${z.locality.region}/${zone}`, '--cluster', z.cluster, '--network', z.network,
    '--global-lb', [globalLbAddress(settings), ...settings.globalLb.remoteAddresses].join(','),
    '--in-cluster', '--ca', MOUNTS.cacerts, '--trust-domain', f.topology.trustDomain,
    '--relay-listen', `0.0.0.0:${PORTS.agentRelay}`, '--admin-listen', `0.0.0.0:${PORTS.agentAdmin}`,
    '--state-dir', `${MOUNTS.agentState}/agent-state`,
    ...(z.gateway ? ['--gateway', formatHostPort(z.gateway)] : []),
  ];
  const name = agentServiceName(zone);
  return [
    deployment({
      settings, component: 'zone-agent', name, zone, replicas: 1, args,
      // One agent per zone reports for it: never two at once during a rollout.
      strategy: { type: 'Recreate' },
      ports: [{ name: 'admin', containerPort: PORTS.agentAdmin }, { name: 'relay', containerPort: PORTS.agentRelay }],
      // The agent serves /healthz only (zone-agent/agent.ts); it answers once discovery and the relay are up.
      readiness: httpProbe('/healthz', 'admin'), liveness: httpProbe('/healthz', 'admin', 10),
      resources: resourcesFor(settings, 'zoneAgent'),
      volumes: [secretVolume('cacerts', SECRETS.cacerts), { name: 'state', emptyDir: {} }],
      mounts: [{ name: 'cacerts', mountPath: MOUNTS.cacerts, readOnly: true }, { name: 'state', mountPath: MOUNTS.agentState }],
      affinity: preferZone(zone),
    }),
    service(settings, 'zone-agent', name, 'ClusterIP', [{ name: 'relay', port: PORTS.agentRelay }, { name: 'admin', port: PORTS.agentAdmin }], zone),
  ];
}

function gateway(settings: DeploySettings, z: TopologyZone): KubeObject[] {
  const zone = z.locality.zone;
  const name = `meshfed-gateway-${zone}`;
  const args = ['gateway', '--zone', zone, '--listen', `0.0.0.0:${PORTS.gatewayTls}`, '--agent', agentRelayAddress(settings, zone), '--admin', `0.0.0.0:${PORTS.gatewayAdmin}`];
  return [
    deployment({
      settings, component: 'gateway', name, zone, replicas: settings.gateway.replicas, args,
      ports: [{ name: 'tls', containerPort: PORTS.gatewayTls }, { name: 'admin', containerPort: PORTS.gatewayAdmin }],
      readiness: httpProbe('/ready', 'admin'), liveness: { tcpSocket: { port: 'admin' }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
      resources: resourcesFor(settings, 'gateway'),
      spread: [spreadOver(HOSTNAME_LABEL, 'gateway', zone)],
      affinity: preferZone(zone),
    }),
    service(settings, 'gateway', name, settings.gateway.serviceType, [{ name: 'tls', port: PORTS.gatewayTls }], zone),
    pdb(settings, 'gateway', name, zone),
  ];
}
