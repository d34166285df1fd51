// kubectl apply --dry-run=client --validate=false on the rendered manifests and on inject's output, where kubectl is installed.
//
// What this proves: kubectl's own decoder reads every rendered file as Kubernetes objects, maps each apiVersion/kind
// to a resource through API discovery, and builds the apply request for it (each object "created (dry run)").
// kubectl cannot map kinds without a server, so it talks to test/fakes/kube-api.ts, which serves the legacy discovery
// documents of the built-in groups and 404s every object. Not proven: schema validation (--validate=false; no
// OpenAPI document is served), admission, or that a real apiserver would accept the objects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_FEDERATION } from '../api/federation-file.ts';
import { DEFAULT_DEPLOY_SETTINGS } from '../api/deploy-settings.ts';
import { FakeKubeApi } from '../test/fakes/kube-api.ts';
import { injectManifests } from './inject.ts';
import { renderCluster, toYamlFiles } from './render.ts';

const run = promisify(execFile);
const KUBECTL = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((p) => existsSync(p));
const reason = KUBECTL === undefined ? 'kubectl is not installed (looked in /usr/bin and /usr/local/bin): the dry-run check did not run' : false;
if (reason) console.log(`# skipped: ${reason}`);

async function dryRun(kubeconfig: string, path: string): Promise<{ code: number; out: string }> {
  try {
    const r = await run(KUBECTL!, ['apply', '--dry-run=client', '--validate=false', '-f', path], { env: { ...process.env, KUBECONFIG: kubeconfig, HOME: join(path, '..') }, timeout: 60_000 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

test('rendered manifests of every default cluster and inject output pass kubectl apply --dry-run=client --validate=false', { skip: reason }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-kubectl-'));
  const api = await new FakeKubeApi().start();
  t.after(async () => {
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const kubeconfig = api.writeKubeconfig(join(dir, 'kubeconfig'));
  for (const cluster of DEFAULT_FEDERATION.topology.clusters.map((c) => c.name)) {
    const result = renderCluster(DEFAULT_FEDERATION, DEFAULT_DEPLOY_SETTINGS, cluster, { cacerts: { 'root-cert.pem': 'r', 'ca-cert.pem': 'c', 'ca-key.pem': 'k', 'cert-chain.pem': 'ch' } });
    const out = join(dir, cluster);
    mkdirSync(out);
    for (const [name, text] of toYamlFiles(result)) writeFileSync(join(out, name), text);
    const r = await dryRun(kubeconfig, out);
    assert.equal(r.code, 0, r.out);
    const created = r.out.split('\n').filter((l) => l.endsWith(' created (dry run)'));
    assert.equal(created.length, result.objects.length, `every object is created (dry run):\n${r.out}`);
    for (const o of result.objects) assert.ok(r.out.includes(`/${o.object.metadata.name} created (dry run)`), `${o.object.kind} ${o.object.metadata.name}`);
  }
  assert.ok(api.stats.discovery > 0, 'kubectl used the discovery documents');

  const injected = join(dir, 'injected.yaml');
  const corpus = readFileSync(join(import.meta.dirname, 'testdata/inject/multi.yaml'), 'utf8');
  writeFileSync(injected, injectManifests(corpus, 'multi.yaml', { image: 'm:1', meshNamespace: 'meshfed-system', trustDomain: 'meshfed.local', zone: 'us-east-1a' }).text);
  const r = await dryRun(kubeconfig, injected);
  assert.equal(r.code, 0, r.out);
  assert.equal(r.out.split('\n').filter((l) => l.endsWith(' created (dry run)')).length, 4, r.out);

  // The check can fail: a misspelt kind has no resource in discovery, and kubectl says so.
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'apiVersion: apps/v1\nkind: Deploymnet\nmetadata: { name: x, namespace: default }\n');
  const b = await dryRun(kubeconfig, bad);
  assert.notEqual(b.code, 0);
  assert.match(b.out, /no matches for kind "Deploymnet"/);
});
