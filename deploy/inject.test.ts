// inject against the corpus in deploy/testdata/inject: what is added, what passes through, what is refused, idempotence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { MeshfedError } from '../common/errors.ts';
import { injectManifests, SIDECAR_NAME, type InjectOptions } from './inject.ts';

const DIR = join(import.meta.dirname, 'testdata', 'inject');
const OPTS: InjectOptions = { image: 'ghcr.io/meshfed/meshfed:test', meshNamespace: 'meshfed-system', trustDomain: 'meshfed.local', zone: 'us-east-1a' };
const REFUSED: Record<string, string> = {
  'host-network.yaml': 'MESHFED_E_INJECT_UNSUPPORTED',
  'job.yaml': 'MESHFED_E_INJECT_UNSUPPORTED',
  'no-port.yaml': 'MESHFED_E_INJECT_INVALID',
};

type Obj = Record<string, any>;
const read = (name: string) => readFileSync(join(DIR, name), 'utf8');
const docs = (text: string): Obj[] => parseAllDocuments(text).map((d) => d.toJS() as Obj).filter((d) => d !== null);
const podSpec = (o: Obj): Obj => (o['kind'] === 'Pod' ? o['spec'] : o['spec']['template']['spec']);
const podMeta = (o: Obj): Obj => (o['kind'] === 'Pod' ? o['metadata'] : o['spec']['template']['metadata']);
const sidecarOf = (o: Obj): Obj => podSpec(o)['containers'].find((c: Obj) => c['name'] === SIDECAR_NAME);
const arg = (c: Obj, flag: string): string => c['args'][c['args'].indexOf(flag) + 1];

test('the corpus covers the cases the issue names', () => {
  const files = readdirSync(DIR);
  for (const f of ['web.yaml', 'init-containers.yaml', 'several-containers.yaml', 'host-network.yaml', 'multi.yaml', 'job.yaml']) assert.ok(files.includes(f), f);
});

test('every injectable corpus file: injected once equals injected twice, byte for byte', () => {
  for (const f of readdirSync(DIR).filter((f) => f.endsWith('.yaml') && REFUSED[f] === undefined)) {
    const once = injectManifests(read(f), f, OPTS).text;
    const twice = injectManifests(once, f, OPTS);
    assert.equal(twice.text, once, f);
    assert.equal(twice.injected.length, 0, `${f}: nothing is injected the second time`);
  }
});

test('a Deployment gets the sidecar with the real sidecar flags, ports, probes, volume, zone pin and annotation', () => {
  const [d] = docs(injectManifests(read('web.yaml'), 'web.yaml', OPTS).text);
  const spec = podSpec(d!);
  assert.deepEqual(spec['containers'].map((c: Obj) => c['name']), ['web', SIDECAR_NAME]);
  const s = sidecarOf(d!);
  assert.equal(s['image'], OPTS.image);
  assert.equal(s['args'][0], 'sidecar');
  assert.equal(arg(s, '--service'), 'shop/web');
  assert.equal(arg(s, '--zone'), 'us-east-1a');
  assert.equal(arg(s, '--app-port'), '8080');
  assert.equal(arg(s, '--agent'), 'meshfed-zone-agent-us-east-1a.meshfed-system.svc:15101');
  assert.equal(arg(s, '--service-account'), 'default');
  assert.deepEqual(s['ports'].map((p: Obj) => p['containerPort']), [15000, 15001, 15006]);
  assert.deepEqual(s['readinessProbe']['httpGet'], { path: '/ready', port: 'meshfed-admin' });
  assert.equal(s['securityContext']['runAsNonRoot'], true);
  assert.equal(s['securityContext']['readOnlyRootFilesystem'], true);
  assert.deepEqual(s['volumeMounts'], [{ name: 'meshfed-tmp', mountPath: '/tmp' }]);
  assert.ok(spec['volumes'].some((v: Obj) => v['name'] === 'meshfed-tmp' && v['emptyDir']));
  assert.equal(spec['nodeSelector']['topology.kubernetes.io/zone'], 'us-east-1a');
  assert.equal(podMeta(d!)['annotations']['meshfed.io/injected'], 'sidecar');
});

test('initContainers stay first and untouched; the zone annotation and service account are honoured', () => {
  const before = docs(read('init-containers.yaml'))[0]!;
  const [d] = docs(injectManifests(read('init-containers.yaml'), 'x', OPTS).text);
  assert.deepEqual(podSpec(d!)['initContainers'], podSpec(before)['initContainers']);
  const s = sidecarOf(d!);
  assert.equal(arg(s, '--zone'), 'us-east-1b');
  assert.equal(arg(s, '--service'), 'shop/catalog-db');
  assert.equal(arg(s, '--app-port'), '5432');
  assert.equal(arg(s, '--service-account'), 'catalog');
  assert.deepEqual(d!['spec']['volumeClaimTemplates'], before['spec']['volumeClaimTemplates']);
});

test('several containers: all kept, the app-port annotation wins, existing volumes and nodeSelector kept', () => {
  const [d] = docs(injectManifests(read('several-containers.yaml'), 'x', OPTS).text);
  const spec = podSpec(d!);
  assert.deepEqual(spec['containers'].map((c: Obj) => c['name']), ['shipper', 'api', SIDECAR_NAME]);
  assert.equal(arg(sidecarOf(d!), '--app-port'), '9000');
  assert.deepEqual(spec['volumes'].map((v: Obj) => v['name']), ['varlog', 'meshfed-tmp']);
  assert.deepEqual(spec['nodeSelector'], { 'kubernetes.io/os': 'linux', 'topology.kubernetes.io/zone': 'us-east-1a' });
});

test('multi-document: the Service and ConfigMap pass through untouched, the Deployment and Pod are injected', () => {
  const before = docs(read('multi.yaml'));
  const result = injectManifests(read('multi.yaml'), 'multi.yaml', OPTS);
  const after = docs(result.text);
  assert.deepEqual(after.map((d) => d['kind']), ['Service', 'Deployment', 'Pod', 'ConfigMap']);
  assert.deepEqual(after[0], before[0]);
  assert.deepEqual(after[3], before[3]);
  assert.ok(sidecarOf(after[1]!));
  assert.ok(sidecarOf(after[2]!));
  assert.equal(arg(sidecarOf(after[2]!), '--app-port'), '8081');
  assert.equal(result.injected.length, 2);
  assert.match(result.text, /# opted in to federation/, 'comments of untouched documents are kept');
});

test('an opted-out workload is left exactly as it was', () => {
  assert.deepEqual(docs(injectManifests(read('opted-out.yaml'), 'x', OPTS).text), docs(read('opted-out.yaml')));
});

test('refused manifests fail with their code, naming the file, the document and the path', () => {
  for (const [f, code] of Object.entries(REFUSED)) {
    assert.throws(() => injectManifests(read(f), f, OPTS), (e: unknown) => {
      assert.ok(e instanceof MeshfedError);
      assert.equal(e.code, code, f);
      assert.match(e.message, new RegExp(`^${f.replace('.', '\\.')}: document 1 \\(`), e.message);
      return true;
    });
  }
  assert.throws(() => injectManifests(read('host-network.yaml'), 'h', OPTS), /spec\.template\.spec\.hostNetwork: true/);
});

test('a second document that cannot be injected names document 2, and nothing is half-written', () => {
  const text = `${read('web.yaml')}---\n${read('job.yaml')}`;
  assert.throws(() => injectManifests(text, 'two.yaml', OPTS), /two\.yaml: document 2 \(Job shop\/reindex\): kind: Job/);
});

test('no zone anywhere, a contradicting zone pin, a sidecar port taken, a fake injected annotation: each refused', () => {
  const { zone: _zone, ...noZone } = OPTS;
  assert.throws(() => injectManifests(read('web.yaml'), 'w', noZone), /no zone: give --zone ZONE/);
  const pinned = read('web.yaml').replace('containers:', 'nodeSelector: { topology.kubernetes.io/zone: us-east-1b }\n      containers:');
  assert.throws(() => injectManifests(pinned, 'w', OPTS), /nodeSelector\.topology\.kubernetes\.io\/zone: "us-east-1b" contradicts/);
  assert.throws(() => injectManifests(read('web.yaml').replace('8080', '15001'), 'w', OPTS), /containers\[0\]\.ports\[0\]\.containerPort: 15001 is a sidecar port/);
  const fake = read('web.yaml').replace('labels: { app.kubernetes.io/name: web }\n    spec:', 'labels: { app.kubernetes.io/name: web }\n      annotations: { meshfed.io/injected: sidecar }\n    spec:');
  assert.throws(() => injectManifests(fake, 'w', OPTS), /says it is injected/);
  assert.throws(() => injectManifests('a: [1\n', 'bad.yaml', OPTS), (e: unknown) => e instanceof MeshfedError && e.code === 'MESHFED_E_INJECT_PARSE');
});

test('an already injected manifest comes out byte for byte as it went in', () => {
  const text = read('already-injected.yaml');
  const result = injectManifests(text, 'a', OPTS);
  assert.equal(result.text, text);
  assert.equal(result.injected.length, 0);
  assert.equal(podSpec(docs(text)[0]!)['containers'].filter((c: Obj) => c['name'] === SIDECAR_NAME).length, 1);
});

test('the sidecar takes the resources it is given (deploy.resources.sidecar), else the benchmark defaults', () => {
  const given = { requests: { cpu: '200m', memory: '160Mi' }, limits: { memory: '300Mi' } };
  const [d] = docs(injectManifests(read('web.yaml'), 'w', { ...OPTS, resources: given }).text);
  assert.deepEqual(sidecarOf(d!)['resources'], given);
  const [e] = docs(injectManifests(read('web.yaml'), 'w', OPTS).text);
  assert.deepEqual(sidecarOf(e!)['resources'], { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } });
});
