// `meshfed render k8s`: writes one cluster's Kubernetes manifests, generated from the federation file `meshfed up` reads.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCommand, required, UsageError } from './args.ts';
import { loadDeployInput, readSecretDir, SECRET_FILES } from '../deploy/files.ts';
import { deployError } from '../deploy/errors.ts';
import { ADMIN_TOKENS_KEY, renderCluster, toYamlFiles, type RenderSecrets } from '../deploy/render.ts';
import { loadAdminAuth } from '../common/admin-auth.ts';

const spec = {
  name: 'render k8s',
  summary: 'write the Kubernetes manifests of one cluster from the federation file',
  usage: 'meshfed render k8s --cluster NAME --out DIR [--federation FILE] [--ca-dir DIR] [--global-lb-tls DIR] [--etcd-tls DIR] [--admin-tokens FILE]',
  options: {
    federation: { type: 'string', value: 'FILE', description: 'the federation file `meshfed up --config` reads, with an optional deploy: section (default: the built-in federation)' },
    cluster: { type: 'string', value: 'NAME', description: 'the cluster to render, as the topology names it under clusters:' },
    out: { type: 'string', value: 'DIR', description: 'where to write one YAML file per object (its old *.yaml files are replaced)' },
    'ca-dir': { type: 'string', value: 'DIR', description: 'this cluster\'s plug-in CA from `meshfed trust intermediate` -> the cacerts Secret' },
    'global-lb-tls': { type: 'string', value: 'DIR', description: 'global-lb\'s certificate from `meshfed trust issue` -> the meshfed-global-lb-tls Secret' },
    'etcd-tls': { type: 'string', value: 'DIR', description: 'etcd client TLS (ca.crt, tls.crt, tls.key) -> the meshfed-etcd-tls Secret' },
    'admin-tokens': { type: 'string', value: 'FILE', description: 'the --admin-tokens file (docs/security.md) -> the meshfed-admin-tokens Secret, passed to every admin port' },
  },
  details: `
Writes, for one cluster: the meshfed-system Namespace; the zone agent's ServiceAccount, ClusterRole (get/list/watch on
services, pods, nodes, endpointslices) and binding; the Secrets whose directories were given; the policies ConfigMap;
the global-lb Deployment, Service and PodDisruptionBudget; and per zone of the cluster a zone-agent Deployment and
Service and an east-west gateway Deployment, Service and PodDisruptionBudget. A Secret whose directory is not given
is named on stderr: create it before applying (see docs/deploy.md).
Exit codes: 0 written, 1 bad federation file or unreadable directory, 2 usage error.
Example: meshfed render k8s --federation examples/federation-5-zones.yaml --cluster aws-use1 --ca-dir ca/aws-use1 --out out/aws-use1
Then:    kubectl apply -f out/aws-use1`,
} as const;

export async function run(argv: readonly string[]): Promise<number> {
  const [target, ...rest] = argv;
  if (target === '--help' || target === '-h' || target === undefined) {
    parseCommand(spec, ['--help']);
    return target === undefined ? 2 : 0;
  }
  if (target !== 'k8s') throw new UsageError(`unknown target "${target}" (use: meshfed render k8s ...)`);
  const parsed = parseCommand(spec, rest);
  if (!parsed) return 0;
  const v = parsed.values;
  const cluster = required(v.cluster, 'cluster');
  const out = required(v.out, 'out');
  const { federation, settings } = loadDeployInput(v.federation);
  const secrets: { -readonly [K in keyof RenderSecrets]: RenderSecrets[K] } = {};
  if (v['ca-dir'] !== undefined) secrets.cacerts = readSecretDir(v['ca-dir'], SECRET_FILES.cacerts, 'ca-dir');
  if (v['global-lb-tls'] !== undefined) secrets.globalLbTls = readSecretDir(v['global-lb-tls'], SECRET_FILES.globalLbTls, 'global-lb-tls');
  if (v['etcd-tls'] !== undefined) secrets.etcdTls = readSecretDir(v['etcd-tls'], SECRET_FILES.etcdTls, 'etcd-tls');
  if (v['admin-tokens'] !== undefined) {
    // Checked as the components will check it, so a bad file fails here and not in every pod.
    loadAdminAuth(v['admin-tokens']);
    secrets.adminTokens = { [ADMIN_TOKENS_KEY]: readFileSync(v['admin-tokens'], 'utf8') };
  }
  const result = renderCluster(federation, settings, cluster, secrets);
  const files = toYamlFiles(result);
  try {
    mkdirSync(out, { recursive: true });
    // A zone removed from the topology must not leave its old Deployment behind in DIR.
    for (const f of readdirSync(out)) if (f.endsWith('.yaml')) rmSync(join(out, f));
    for (const [name, text] of files) writeFileSync(join(out, name), text);
  } catch (cause) {
    throw deployError('MESHFED_E_DEPLOY_OUT', `--out: ${out}: cannot write: ${(cause as Error).message}`, cause);
  }
  process.stdout.write(`wrote ${files.size} objects for cluster ${cluster} to ${out}\n`);
  for (const m of result.missing) process.stderr.write(`not rendered: Secret ${m} (no directory given for it); create it in namespace ${settings.namespace} before applying\n`);
  return 0;
}
