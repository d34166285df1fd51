// render k8s for the default federation: every object parses, and its image, args, ports, probes, RBAC and securityContext are checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { DEFAULT_FEDERATION, loadFederationFile } from '../api/federation-file.ts';
import { DEFAULT_DEPLOY_SETTINGS } from '../api/deploy-settings.ts';
import { MeshfedError } from '../common/errors.ts';
import { parseDeployInput } from './files.ts';
import { renderCluster, toYamlFiles } from './render.ts';

type Obj = Record<string, any>;
const ROOT = join(import.meta.dirname, '..');
const NODE = process.execPath;
const meshfed = (...args: string[]) => execFileSync(NODE, [join(ROOT, 'cli/meshfed.ts'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Renders through the CLI, reads every file back as YAML: what a user would `kubectl apply`. */
function renderedFromDisk(dir: string): Obj[] {
  const out: Obj[] = [];
  for (const f of readdirSync(dir).sort()) {
    for (const d of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      assert.equal(d.errors.length, 0, `${f}: ${d.errors.map((e) => e.message).join('; ')}`);
      out.push(d.toJS() as Obj);
    }
  }
  return out;
}

const find = (objs: Obj[], kind: string, name: string, ns?: string): Obj => {
  const o = objs.find((x) => x['kind'] === kind && x['metadata']['name'] === name && (ns === undefined || x['metadata']['namespace'] === ns));
  assert.ok(o, `${kind} ${name} is rendered (have: ${objs.map((x) => `${x['kind']}/${x['metadata']['name']}`).join(', ')})`);
  return o;
};
const containerOf = (d: Obj): Obj => d['spec']['template']['spec']['containers'][0];
const arg = (c: Obj, flag: string): string | undefined => (c['args'].includes(flag) ? c['args'][c['args'].indexOf(flag) + 1] : undefined);

const tmp = mkdtempSync(join(tmpdir(), 'meshfed-render-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

/** `meshfed trust init` + `intermediate` + `issue`, the files a real user renders from. */
function trustFiles(): { ca: string; glb: string } {
  meshfed('trust', 'init', '--trust-domain', 'meshfed.local', '--out', join(tmp, 'root'));
  meshfed('trust', 'intermediate', '--root', join(tmp, 'root'), '--cluster', 'aws-use1', '--out', join(tmp, 'aws-use1'));
  meshfed('trust', 'issue', '--ca', join(tmp, 'aws-use1'), '--spiffe-id', 'spiffe://meshfed.local/meshfed/global-lb', '--out', join(tmp, 'glb'));
  return { ca: join(tmp, 'aws-use1'), glb: join(tmp, 'glb') };
}

test('render k8s of the default federation for aws-use1: every object is a Kubernetes object with the fields that matter', () => {
  const files = trustFiles();
  const out = join(tmp, 'out');
  const stdout = meshfed('render', 'k8s', '--cluster', 'aws-use1', '--out', out, '--ca-dir', files.ca, '--global-lb-tls', files.glb);
  assert.match(stdout, /wrote \d+ objects for cluster aws-use1/);
  const objs = renderedFromDisk(out);
  for (const o of objs) {
    assert.equal(typeof o['apiVersion'], 'string');
    assert.equal(typeof o['kind'], 'string');
    assert.match(o['metadata']['name'], /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, `${o['kind']} name is a DNS subdomain`);
    if (o['kind'] !== 'Namespace' && !o['kind'].startsWith('Cluster')) assert.equal(o['metadata']['namespace'], 'meshfed-system', `${o['kind']}/${o['metadata']['name']}`);
    if (o['kind'] !== 'Namespace') assert.equal(o['metadata']['labels']['app.kubernetes.io/part-of'], 'meshfed');
  }
  const deployments = objs.filter((o) => o['kind'] === 'Deployment');
  // global-lb, and an agent and a gateway for each of us-east-1a and us-east-1b (both in aws-use1); none for europe-west1-b.
  assert.deepEqual(deployments.map((d) => d['metadata']['name']).sort(), [
    'meshfed-gateway-us-east-1a', 'meshfed-gateway-us-east-1b', 'meshfed-global-lb', 'meshfed-zone-agent-us-east-1a', 'meshfed-zone-agent-us-east-1b',
  ]);
  for (const d of deployments) {
    const pod = d['spec']['template'];
    assert.deepEqual(Object.entries(d['spec']['selector']['matchLabels']).filter(([k, v]) => pod['metadata']['labels'][k] !== v), [], 'the selector matches the pod labels');
    assert.equal(pod['spec']['securityContext']['runAsNonRoot'], true);
    const c = containerOf(d);
    assert.equal(c['image'], DEFAULT_DEPLOY_SETTINGS.image);
    assert.equal(c['command'], undefined, 'the image entrypoint (meshfed) runs; args name the command');
    const sc = c['securityContext'];
    assert.equal(sc['runAsNonRoot'], true);
    assert.equal(sc['readOnlyRootFilesystem'], true);
    assert.equal(sc['allowPrivilegeEscalation'], false);
    assert.deepEqual(sc['capabilities']['drop'], ['ALL']);
    assert.ok(c['resources']['requests']['cpu'] && c['resources']['requests']['memory'], 'resource requests');
    assert.ok(c['volumeMounts'].some((m: Obj) => m['mountPath'] === '/tmp'), 'a writable /tmp under the read-only root');
    for (const probe of [c['readinessProbe'], c['livenessProbe']]) {
      const port = probe['httpGet']?.['port'] ?? probe['tcpSocket']?.['port'];
      assert.ok(c['ports'].some((p: Obj) => p['name'] === port), `${d['metadata']['name']}: probe port ${port} is a declared container port`);
    }
  }

  const glb = containerOf(find(objs, 'Deployment', 'meshfed-global-lb'));
  assert.equal(glb['args'][0], 'global-lb');
  assert.equal(arg(glb, '--etcd'), 'https://etcd.meshfed-system.svc:2379');
  assert.equal(arg(glb, '--grpc-listen'), '0.0.0.0:15200');
  assert.equal(arg(glb, '--admin-listen'), '0.0.0.0:15201');
  assert.equal(arg(glb, '--tls-cert'), '/etc/meshfed/global-lb-tls/chain.pem');
  assert.deepEqual([arg(glb, '--etcd-ca'), arg(glb, '--etcd-cert'), arg(glb, '--etcd-key')], ['/etc/meshfed/etcd-tls/ca.crt', '/etc/meshfed/etcd-tls/tls.crt', '/etc/meshfed/etcd-tls/tls.key'], 'the etcd client certificate from its Secret');
  assert.equal(arg(glb, '--insecure'), undefined);
  assert.deepEqual(glb['ports'].map((p: Obj) => [p['name'], p['containerPort']]), [['grpc', 15200], ['admin', 15201]]);
  assert.deepEqual(glb['readinessProbe']['httpGet'], { path: '/readyz', port: 'admin' });
  assert.deepEqual(glb['livenessProbe']['httpGet'], { path: '/healthz', port: 'admin' });
  const glbDep = find(objs, 'Deployment', 'meshfed-global-lb');
  assert.equal(glbDep['spec']['replicas'], 2);
  assert.ok(glbDep['spec']['template']['spec']['topologySpreadConstraints'].some((t: Obj) => t['topologyKey'] === 'topology.kubernetes.io/zone'));
  assert.equal(find(objs, 'PodDisruptionBudget', 'meshfed-global-lb')['spec']['maxUnavailable'], 1);

  const agent = containerOf(find(objs, 'Deployment', 'meshfed-zone-agent-us-east-1b'));
  assert.equal(agent['args'][0], 'zone-agent');
  assert.equal(arg(agent, '--zone'), 'aws/us-east-1/us-east-1b');
  assert.equal(arg(agent, '--cluster'), 'aws-use1');
  assert.equal(arg(agent, '--network'), 'aws-net');
  assert.equal(arg(agent, '--global-lb'), 'meshfed-global-lb.meshfed-system.svc:15200');
  assert.equal(arg(agent, '--ca'), '/etc/meshfed/cacerts');
  assert.ok(agent['args'].includes('--in-cluster'));
  assert.deepEqual(agent['readinessProbe']['httpGet'], { path: '/healthz', port: 'admin' });
  assert.deepEqual(agent['ports'].map((p: Obj) => p['containerPort']), [15100, 15101]);

  const gw = containerOf(find(objs, 'Deployment', 'meshfed-gateway-us-east-1a'));
  assert.deepEqual(gw['args'], ['gateway', '--zone', 'us-east-1a', '--listen', '0.0.0.0:15443', '--agent', 'meshfed-zone-agent-us-east-1a.meshfed-system.svc:15101', '--admin', '0.0.0.0:15020']);
  assert.deepEqual(gw['readinessProbe']['httpGet'], { path: '/ready', port: 'admin' });
  const gwSvc = find(objs, 'Service', 'meshfed-gateway-us-east-1a');
  assert.equal(gwSvc['spec']['type'], 'LoadBalancer');
  assert.deepEqual(gwSvc['spec']['ports'].map((p: Obj) => p['port']), [15443]);

  const role = find(objs, 'ClusterRole', 'meshfed-zone-agent');
  const verbsOn = (res: string) => role['rules'].find((r: Obj) => r['resources'].includes(res))?.['verbs'];
  for (const res of ['endpointslices', 'services', 'pods', 'nodes']) assert.deepEqual(verbsOn(res), ['get', 'list', 'watch'], res);
  assert.equal(role['rules'].find((r: Obj) => r['resources'].includes('endpointslices'))['apiGroups'][0], 'discovery.k8s.io');
  assert.ok(!role['rules'].some((r: Obj) => r['verbs'].some((v: string) => ['create', 'update', 'patch', 'delete', '*'].includes(v))), 'read-only');
  const binding = find(objs, 'ClusterRoleBinding', 'meshfed-zone-agent');
  assert.deepEqual(binding['subjects'], [{ kind: 'ServiceAccount', name: 'meshfed-zone-agent', namespace: 'meshfed-system' }]);
  assert.equal(find(objs, 'Deployment', 'meshfed-zone-agent-us-east-1a')['spec']['template']['spec']['serviceAccountName'], 'meshfed-zone-agent');

  // The cacerts Secret holds exactly the plug-in CA files `meshfed trust intermediate` wrote, byte for byte.
  const cacerts = find(objs, 'Secret', 'cacerts');
  assert.deepEqual(Object.keys(cacerts['data']).sort(), ['ca-cert.pem', 'ca-key.pem', 'cert-chain.pem', 'root-cert.pem']);
  for (const k of Object.keys(cacerts['data'])) assert.equal(Buffer.from(cacerts['data'][k], 'base64').toString(), readFileSync(join(files.ca, k), 'utf8'), k);
  assert.equal(Buffer.from(cacerts['data']['root-cert.pem'], 'base64').toString(), readFileSync(join(tmp, 'root', 'root-cert.pem'), 'utf8'));
  const glbTls = find(objs, 'Secret', 'meshfed-global-lb-tls');
  assert.deepEqual(Object.keys(glbTls['data']).sort(), ['cert.pem', 'chain.pem', 'key.pem', 'root-cert.pem']);

  const policies = find(objs, 'ConfigMap', 'meshfed-policies');
  assert.deepEqual(Object.keys(policies['data']).sort(), ['shop.catalog.yaml', 'shop.frontend.yaml', 'shop.pricing.yaml']);
  assert.match(policies['data']['shop.catalog.yaml'], /distribute:/);
});

test('a policy in the ConfigMap is a valid policy file (meshfed policy validate accepts it)', () => {
  const result = renderCluster(DEFAULT_FEDERATION, DEFAULT_DEPLOY_SETTINGS, 'gcp-euw1');
  const cm = result.objects.find((o) => o.object.kind === 'ConfigMap')!.object as Obj;
  const file = join(tmp, 'catalog-policy.yaml');
  writeFileSync(file, cm['data']['shop.catalog.yaml']);
  meshfed('policy', 'validate', file);
});

test('the gcp-euw1 render holds only europe-west1-b, and names the Secrets it could not render', () => {
  const result = renderCluster(DEFAULT_FEDERATION, DEFAULT_DEPLOY_SETTINGS, 'gcp-euw1');
  const names = result.objects.filter((o) => o.object.kind === 'Deployment').map((o) => o.object.metadata.name).sort();
  assert.deepEqual(names, ['meshfed-gateway-europe-west1-b', 'meshfed-global-lb', 'meshfed-zone-agent-europe-west1-b']);
  assert.deepEqual([...result.missing].sort(), ['cacerts', 'meshfed-etcd-tls', 'meshfed-global-lb-tls']);
  assert.equal(new Set(result.objects.map((o) => o.file)).size, result.objects.length, 'one file per object');
  assert.equal(toYamlFiles(result).size, result.objects.length);
});

test('an unknown cluster is refused with the declared ones', () => {
  assert.throws(() => renderCluster(DEFAULT_FEDERATION, DEFAULT_DEPLOY_SETTINGS, 'azure-weu'),
    (e: unknown) => e instanceof MeshfedError && e.code === 'MESHFED_E_DEPLOY_UNKNOWN_CLUSTER' && /clusters: aws-use1, gcp-euw1/.test(e.message));
});

test('the deploy: section: `meshfed up` still accepts the file, and render takes image, etcd, replicas, gateway addresses from it', () => {
  const text = `${readFileSync(join(ROOT, 'examples/federation-5-zones.yaml'), 'utf8')}
deploy:
  image: registry.example.com/meshfed:1.2.3
  etcd: { endpoints: [https://etcd-0.example.com:2379, https://etcd-1.example.com:2379] }
  globalLb: { replicas: 3, remoteAddresses: [glb.gcp.example.com:15200], externalService: true }
  istioNamespace: istio-system
`;
  const file = join(tmp, 'fed.yaml');
  writeFileSync(file, text);
  assert.equal(loadFederationFile(file).topology.clusters.length, 3, 'the federation loader (meshfed up --config) accepts deploy:');
  const { federation, settings } = parseDeployInput(text, file);
  const result = renderCluster(federation, settings, 'gcp-euw1', { cacerts: { 'root-cert.pem': 'r', 'ca-cert.pem': 'c', 'ca-key.pem': 'k', 'cert-chain.pem': 'ch' } });
  const objs = result.objects.map((o) => o.object as Obj);
  const glb = objs.find((o) => o['metadata']['name'] === 'meshfed-global-lb' && o['kind'] === 'Deployment')!;
  assert.equal(glb['spec']['replicas'], 3);
  assert.equal(containerOf(glb)['image'], 'registry.example.com/meshfed:1.2.3');
  assert.equal(arg(containerOf(glb), '--etcd'), 'https://etcd-0.example.com:2379,https://etcd-1.example.com:2379');
  const agent = objs.find((o) => o['metadata']['name'] === 'meshfed-zone-agent-europe-west1-c' && o['kind'] === 'Deployment')!;
  assert.equal(arg(containerOf(agent), '--global-lb'), 'meshfed-global-lb.meshfed-system.svc:15200,glb.gcp.example.com:15200');
  assert.deepEqual(objs.filter((o) => o['kind'] === 'Secret').map((o) => o['metadata']['namespace']).sort(), ['istio-system', 'meshfed-system']);
  const external = objs.find((o) => o['kind'] === 'Service' && o['metadata']['name'] === 'meshfed-global-lb-external')!;
  assert.equal(external['spec']['type'], 'LoadBalancer');
  assert.deepEqual(external['spec']['ports'].map((p: Obj) => p['port']), [15200], 'only the Federation port leaves the cluster, not the admin API');
  assert.ok(!renderCluster(DEFAULT_FEDERATION, DEFAULT_DEPLOY_SETTINGS, 'aws-use1').objects.some((o) => o.object.metadata.name === 'meshfed-global-lb-external'), 'not rendered by default');
});

test('a bad deploy: section is refused with a path-named error', () => {
  const bad = 'deploy:\n  globalLb: { replicas: 0 }\n  colour: blue\n';
  assert.throws(() => parseDeployInput(bad, 'fed.yaml'), (e: unknown) => {
    assert.ok(e instanceof MeshfedError && e.code === 'MESHFED_E_CONFIG_INVALID');
    const text = [e.message, ...e.details].join('\n');
    assert.match(text, /fed\.yaml: deploy\.globalLb\.replicas/);
    assert.match(text, /colour/);
    return true;
  });
});

test('render k8s --help and a missing --cluster', () => {
  assert.match(meshfed('render', 'k8s', '--help'), /Usage: meshfed render k8s --cluster NAME --out DIR/);
  assert.throws(() => meshfed('render', 'k8s', '--out', join(tmp, 'x')), (e: { status: number; stderr: string }) => e.status === 2 && /missing required option --cluster/.test(e.stderr));
  assert.throws(() => meshfed('render', 'k8s', '--cluster', 'aws-use1', '--out', join(tmp, 'y'), '--ca-dir', join(tmp, 'nope')),
    (e: { status: number; stderr: string }) => e.status === 1 && /MESHFED_E_DEPLOY_FILES: --ca-dir: .*root-cert\.pem: cannot read/.test(e.stderr));
});

test('the federation file shown in docs/deploy.md (step 3) is valid and renders both clusters', () => {
  const doc = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8');
  const step3 = doc.slice(doc.indexOf('## Step 3'));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(step3)?.[1];
  assert.ok(yaml, 'a yaml block in step 3');
  const { federation, settings } = parseDeployInput(yaml, 'docs/deploy.md');
  assert.equal(settings.image, 'registry.example.com/meshfed:0.1.0');
  for (const cluster of ['aws-use1', 'gcp-euw1']) {
    const result = renderCluster(federation, settings, cluster);
    assert.ok(result.objects.some((o) => o.object.metadata.name === 'meshfed-global-lb-external'));
  }
  const agent = renderCluster(federation, settings, 'aws-use1').objects.find((o) => o.object.metadata.name === 'meshfed-zone-agent-us-east-1a' && o.object.kind === 'Deployment')!.object as Obj;
  assert.equal(arg(containerOf(agent), '--gateway'), 'a1b2.elb.amazonaws.com:15443');
  const sidecarRequests = settings.resources.sidecar?.requests;
  assert.deepEqual(sidecarRequests, { cpu: '200m', memory: '160Mi' });
});

test('--admin-tokens: a checked tokens file becomes a Secret that every rendered admin port gets as --admin-tokens', () => {
  const tokens = join(tmp, 'admin-tokens.yaml');
  const sha = 'a'.repeat(64);
  writeFileSync(tokens, `tokens:\n  - { name: ops, role: write, sha256: ${sha} }\n`);
  const out = join(tmp, 'with-tokens');
  meshfed('render', 'k8s', '--cluster', 'gcp-euw1', '--out', out, '--admin-tokens', tokens);
  const objs = renderedFromDisk(out);
  const secretObj = find(objs, 'Secret', 'meshfed-admin-tokens');
  assert.equal(Buffer.from(secretObj['data']['admin-tokens.yaml'], 'base64').toString(), readFileSync(tokens, 'utf8'));
  const deployments = objs.filter((o) => o['kind'] === 'Deployment');
  assert.equal(deployments.length, 3);
  for (const d of deployments) {
    const c = containerOf(d);
    assert.equal(arg(c, '--admin-tokens'), '/etc/meshfed/admin-tokens/admin-tokens.yaml', d['metadata']['name']);
    assert.ok(c['volumeMounts'].some((m: Obj) => m['mountPath'] === '/etc/meshfed/admin-tokens'));
    assert.ok(d['spec']['template']['spec']['volumes'].some((v: Obj) => v['secret']?.['secretName'] === 'meshfed-admin-tokens'));
  }
  assert.ok(!containerOf(find(renderedFromDisk(join(tmp, 'out')), 'Deployment', 'meshfed-global-lb'))['args'].includes('--admin-tokens'), 'not without the flag');
  writeFileSync(tokens, 'tokens:\n  - { name: ops, role: admin, sha256: nope }\n');
  assert.throws(() => meshfed('render', 'k8s', '--cluster', 'gcp-euw1', '--out', join(tmp, 'bad-tokens'), '--admin-tokens', tokens), (e: { status: number; stderr: string }) => e.status === 1 && /admin-tokens\.yaml: tokens\[0\]/.test(e.stderr));
});
