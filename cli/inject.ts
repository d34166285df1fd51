// `meshfed inject`: adds the meshfed sidecar to Deployments, StatefulSets, DaemonSets and Pods, like `istioctl kube-inject`.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseCommand, required } from './args.ts';
import { MeshfedError } from '../common/errors.ts';
import { loadDeployInput } from '../deploy/files.ts';
import { injectManifests } from '../deploy/inject.ts';
import { resourcesFor } from '../deploy/k8s.ts';

const spec = {
  name: 'inject',
  summary: 'add the meshfed sidecar to Deployments, StatefulSets, DaemonSets and Pods (multi-document YAML)',
  usage: 'meshfed inject -f FILE|- [-o OUT] [--zone ZONE] [--federation FILE] [--image IMAGE]',
  options: {
    filename: { type: 'string', short: 'f', value: 'FILE', description: 'the manifest (multi-document YAML); - reads stdin' },
    output: { type: 'string', short: 'o', value: 'OUT', description: 'write here instead of stdout' },
    zone: { type: 'string', value: 'ZONE', description: 'the zone the workloads run in (a pod template\'s meshfed.io/zone annotation wins)' },
    federation: { type: 'string', value: 'FILE', description: 'take the image, control-plane namespace and trust domain from this federation file (default: the built-in one)' },
    image: { type: 'string', value: 'IMAGE', description: 'the sidecar image (default: deploy.image of the federation file)' },
  },
  details: `
Each workload gets a meshfed-sidecar container (sidecar --agent meshfed-zone-agent-ZONE.NAMESPACE.svc:15101), a
meshfed-tmp volume, a nodeSelector on topology.kubernetes.io/zone and the meshfed.io/injected annotation. The
service is the pod label app.kubernetes.io/name (or app, or the meshfed.io/service annotation); the app port is
the first container's first containerPort (or meshfed.io/app-port). Other objects pass through unchanged. A
workload that is already injected, or annotated meshfed.io/inject: "false", is left as it is, so injecting twice
gives the same output as once. Jobs, CronJobs, ReplicaSets, Lists and hostNetwork pods are refused.
Exit codes: 0 written, 1 a manifest cannot be injected (the message names the document and path), 2 usage error.
Example: meshfed inject -f deploy/testdata/inject/web.yaml --zone us-east-1a | kubectl apply -f -`,
} as const;

export async function run(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  const file = required(v.filename, 'filename');
  const { federation, settings } = loadDeployInput(v.federation);
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (cause) {
    throw new MeshfedError('MESHFED_E_CONFIG_READ', `-f: cannot read ${file}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
  }
  const result = injectManifests(text, file === '-' ? '(stdin)' : file, {
    image: v.image ?? settings.image, meshNamespace: settings.namespace, trustDomain: federation.topology.trustDomain,
    resources: resourcesFor(settings, 'sidecar'),
    ...(v.zone !== undefined ? { zone: v.zone } : {}),
  });
  if (v.output !== undefined) {
    writeFileSync(v.output, result.text);
    process.stderr.write(`injected ${result.injected.length}, unchanged ${result.unchanged.length}: wrote ${v.output}\n`);
  } else process.stdout.write(result.text);
  return 0;
}
