// `meshfed inject` as a pure function: adds the meshfed sidecar to the workloads of a multi-document YAML manifest.
import { Document, parseAllDocuments } from 'yaml';
import { deployError } from './errors.ts';
import { containerSecurityContext, DEFAULT_RESOURCES, httpProbe, MESHFED_VERSION, ZONE_LABEL } from './k8s.ts';
import { PORTS } from './render.ts';

/** The sidecar container's name; a pod template holding it is already injected. */
export const SIDECAR_NAME = 'meshfed-sidecar';
/** Set on every injected pod template; its presence makes inject leave the workload as it is. */
export const INJECTED_ANNOTATION = 'meshfed.io/injected';
/** `meshfed.io/inject: "false"` on a pod template opts it out. */
export const INJECT_ANNOTATION = 'meshfed.io/inject';
export const ZONE_ANNOTATION = 'meshfed.io/zone';
export const SERVICE_ANNOTATION = 'meshfed.io/service';
export const APP_PORT_ANNOTATION = 'meshfed.io/app-port';

/** What the sidecar needs beyond the manifest itself. */
export interface InjectOptions {
  readonly image: string;
  /** The namespace of the control plane (where each zone's agent Service lives). */
  readonly meshNamespace: string;
  readonly trustDomain: string;
  /** The zone every injected workload runs in, unless its pod template names one (meshfed.io/zone). */
  readonly zone?: string;
  /** The sidecar's requests and limits (deploy.resources.sidecar); default DEFAULT_RESOURCES.sidecar. */
  readonly resources?: Readonly<Record<string, unknown>>;
}

/** What one call did, per document, for the CLI's summary. */
export interface InjectResult {
  readonly text: string;
  readonly injected: readonly string[];
  readonly unchanged: readonly string[];
}

const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);
const REFUSED: Record<string, string> = {
  Job: 'a Job\'s pods must exit, and a sidecar container never does; run it without the mesh or inject its pods another way',
  CronJob: 'a CronJob\'s pods must exit, and a sidecar container never does',
  ReplicaSet: 'inject the Deployment that owns it instead (a bare ReplicaSet is replaced on the next rollout)',
  ReplicationController: 'inject a Deployment instead',
  List: 'a List wraps its items; write them as separate YAML documents (---) instead',
};
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Injects every supported workload of a multi-document manifest. Other objects (Services, ConfigMaps, …) pass
 * through unchanged; an already injected or opted-out workload too, so inject(inject(x)) = inject(x).
 * Throws MESHFED_E_INJECT_PARSE / _UNSUPPORTED / _INVALID naming the file, the document and the path.
 */
export function injectManifests(text: string, file: string, options: InjectOptions): InjectResult {
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  if (!Array.isArray(docs)) throw deployError('MESHFED_E_INJECT_PARSE', `${file}: not a YAML stream`);
  const out: string[] = [];
  const injected: string[] = [];
  const unchanged: string[] = [];
  docs.forEach((doc, i) => {
    if (doc.errors.length > 0) throw deployError('MESHFED_E_INJECT_PARSE', `${file}: document ${i + 1}: ${doc.errors[0]!.message}`);
    const js: unknown = doc.toJS();
    const where = `${file}: document ${i + 1}${describe(js)}`;
    const changed = isObj(js) ? injectObject(js, where, options) : false;
    const rendered = changed ? new Document(js).toString({ lineWidth: 0 }) : plain(doc);
    if (rendered.trim() !== '') out.push(rendered);
    (changed ? injected : unchanged).push(where.slice(file.length + 2));
  });
  return { text: out.map((d) => (d.endsWith('\n') ? d : `${d}\n`)).join('---\n'), injected, unchanged };
}

/** A document as it was written (comments kept), without its own `---` marker: documents are joined by one. */
function plain(doc: Document.Parsed): string {
  doc.directives.docStart = null;
  return doc.contents === null && doc.commentBefore == null ? '' : doc.toString({ lineWidth: 0 });
}

function describe(js: unknown): string {
  if (!isObj(js) || typeof js['kind'] !== 'string') return '';
  const md = isObj(js['metadata']) ? js['metadata'] : {};
  const ns = typeof md['namespace'] === 'string' ? `${md['namespace']}/` : '';
  return ` (${js['kind']} ${ns}${typeof md['name'] === 'string' ? md['name'] : '(unnamed)'})`;
}

/** Mutates a workload in place; false when it is not a workload, already injected or opted out. */
function injectObject(obj: Obj, where: string, options: InjectOptions): boolean {
  const kind = obj['kind'];
  if (typeof kind === 'string' && REFUSED[kind] !== undefined) throw deployError('MESHFED_E_INJECT_UNSUPPORTED', `${where}: kind: ${kind} is not injected: ${REFUSED[kind]}`);
  let meta: Obj;
  let spec: Obj;
  let at: string;
  if (kind === 'Pod') {
    meta = child(obj, 'metadata');
    spec = requireObj(obj['spec'], `${where}: spec`);
    at = 'spec';
  } else if (typeof kind === 'string' && WORKLOADS.has(kind)) {
    const template = child(requireObj(obj['spec'], `${where}: spec`), 'template');
    meta = child(template, 'metadata');
    spec = requireObj(template['spec'], `${where}: spec.template.spec`);
    at = 'spec.template.spec';
  } else {
    const s = obj['spec'];
    if (isObj(s) && (isObj(s['template']) || isObj(s['jobTemplate']) || Array.isArray(s['containers']))) {
      throw deployError('MESHFED_E_INJECT_UNSUPPORTED', `${where}: kind: ${String(kind)} holds pods, but inject handles only Deployment, StatefulSet, DaemonSet and Pod`);
    }
    return false;
  }
  const annotations = isObj(meta['annotations']) ? (meta['annotations'] as Record<string, unknown>) : {};
  if (annotations[INJECT_ANNOTATION] === 'false') return false;
  const containers = spec['containers'];
  if (!Array.isArray(containers) || containers.length === 0 || !containers.every(isObj)) throw deployError('MESHFED_E_INJECT_INVALID', `${where}: ${at}.containers: must be a non-empty list of containers`);
  const hasSidecar = containers.some((c) => c['name'] === SIDECAR_NAME);
  if (annotations[INJECTED_ANNOTATION] !== undefined || hasSidecar) {
    if (!hasSidecar) throw deployError('MESHFED_E_INJECT_INVALID', `${where}: ${at}.containers: the pod says it is injected (${INJECTED_ANNOTATION}) but has no ${SIDECAR_NAME} container; remove the annotation and inject again`);
    return false;
  }
  if (spec['hostNetwork'] === true) {
    throw deployError('MESHFED_E_INJECT_UNSUPPORTED', `${where}: ${at}.hostNetwork: true: the sidecar's ports (${PORTS.sidecarAdmin}, ${PORTS.sidecarOutbound}, ${PORTS.sidecarInbound}) would bind on the node; leave this pod out of the mesh (annotate ${INJECT_ANNOTATION}: "false")`);
  }
  const sidecar = sidecarFor(obj, meta, spec, containers, `${where}: ${at}`, annotations, options);
  spec['containers'] = [...containers, sidecar.container];
  const volumes = Array.isArray(spec['volumes']) ? spec['volumes'] : [];
  if (volumes.some((v) => isObj(v) && v['name'] === 'meshfed-tmp')) throw deployError('MESHFED_E_INJECT_INVALID', `${where}: ${at}.volumes: a volume named meshfed-tmp exists already; rename it`);
  spec['volumes'] = [...volumes, { name: 'meshfed-tmp', emptyDir: { sizeLimit: '64Mi' } }];
  const nodeSelector = isObj(spec['nodeSelector']) ? spec['nodeSelector'] : {};
  spec['nodeSelector'] = { ...nodeSelector, [ZONE_LABEL]: sidecar.zone };
  meta['annotations'] = { ...annotations, [INJECTED_ANNOTATION]: 'sidecar', 'meshfed.io/sidecar-version': MESHFED_VERSION };
  return true;
}

function child(o: Obj, key: string): Obj {
  if (!isObj(o[key])) o[key] = {};
  return o[key] as Obj;
}

function requireObj(v: unknown, where: string): Obj {
  if (!isObj(v)) throw deployError('MESHFED_E_INJECT_INVALID', `${where}: must be an object`);
  return v;
}

/** The sidecar container and the zone it serves, from the workload and the options; refuses what does not fit. */
function sidecarFor(
  obj: Obj, meta: Obj, spec: Obj, containers: Obj[], where: string, annotations: Record<string, unknown>, options: InjectOptions,
): { container: Obj; zone: string } {
  const labels = isObj(meta['labels']) ? meta['labels'] : {};
  const fail = (path: string, message: string) => deployError('MESHFED_E_INJECT_INVALID', `${where}${path}: ${message}`);
  const zone = typeof annotations[ZONE_ANNOTATION] === 'string' ? (annotations[ZONE_ANNOTATION] as string) : options.zone;
  if (zone === undefined) throw fail('', `no zone: give --zone ZONE or annotate the pod template with ${ZONE_ANNOTATION}`);
  if (!DNS_LABEL.test(zone)) throw fail('', `zone "${zone}" is not a DNS label`);
  const pinned = isObj(spec['nodeSelector']) ? spec['nodeSelector'][ZONE_LABEL] : undefined;
  if (pinned !== undefined && pinned !== zone) throw fail(`.nodeSelector.${ZONE_LABEL}`, `"${String(pinned)}" contradicts the sidecar's zone "${zone}"`);
  const service = [annotations[SERVICE_ANNOTATION], labels['app.kubernetes.io/name'], labels['app']].find((s) => typeof s === 'string') as string | undefined;
  if (service === undefined) throw fail('', `no service name: set the pod label app.kubernetes.io/name (or app), or the annotation ${SERVICE_ANNOTATION}`);
  if (!DNS_LABEL.test(service)) throw fail('', `service name "${service}" is not a DNS label`);
  const md = isObj(obj['metadata']) ? obj['metadata'] : {};
  const namespace = typeof md['namespace'] === 'string' ? md['namespace'] : 'default';
  const firstPort = Array.isArray(containers[0]!['ports']) && isObj(containers[0]!['ports'][0]) ? containers[0]!['ports'][0]['containerPort'] : undefined;
  const appPort = annotations[APP_PORT_ANNOTATION] !== undefined ? Number(annotations[APP_PORT_ANNOTATION]) : firstPort;
  if (typeof appPort !== 'number' || !Number.isInteger(appPort) || appPort < 1 || appPort > 65535) {
    throw fail('.containers[0].ports', `no app port: declare containerPort on the first container or annotate ${APP_PORT_ANNOTATION}`);
  }
  const taken = new Set<number>([PORTS.sidecarAdmin, PORTS.sidecarOutbound, PORTS.sidecarInbound]);
  containers.forEach((c, ci) => (Array.isArray(c['ports']) ? c['ports'] : []).forEach((p, pi) => {
    if (isObj(p) && taken.has(p['containerPort'] as number)) throw fail(`.containers[${ci}].ports[${pi}].containerPort`, `${String(p['containerPort'])} is a sidecar port; move the app off ${[...taken].join(', ')}`);
  }));
  const sa = typeof spec['serviceAccountName'] === 'string' ? spec['serviceAccountName'] : 'default';
  const container: Obj = {
    name: SIDECAR_NAME,
    image: options.image,
    args: [
      'sidecar', '--service', `${namespace}/${service}`, '--zone', zone, '--app-port', String(appPort),
      '--agent', `meshfed-zone-agent-${zone}.${options.meshNamespace}.svc:${PORTS.agentRelay}`,
      '--host', '0.0.0.0', '--trust-domain', options.trustDomain, '--service-account', sa,
    ],
    ports: [
      { name: 'meshfed-admin', containerPort: PORTS.sidecarAdmin, protocol: 'TCP' },
      { name: 'meshfed-out', containerPort: PORTS.sidecarOutbound, protocol: 'TCP' },
      { name: 'meshfed-in', containerPort: PORTS.sidecarInbound, protocol: 'TCP' },
    ],
    env: [{ name: 'NODE_COMPILE_CACHE', value: '/tmp/meshfed-compile-cache' }],
    readinessProbe: httpProbe('/ready', 'meshfed-admin'),
    livenessProbe: { tcpSocket: { port: 'meshfed-admin' }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
    resources: options.resources ? structuredClone(options.resources) : { requests: { ...DEFAULT_RESOURCES.sidecar.requests }, limits: { ...DEFAULT_RESOURCES.sidecar.limits } },
    securityContext: containerSecurityContext(),
    volumeMounts: [{ name: 'meshfed-tmp', mountPath: '/tmp' }],
  };
  return { container, zone };
}
