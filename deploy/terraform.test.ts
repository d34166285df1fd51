// The terraform/ folder: fmt, the core module's `terraform test`, each validation's own message, the federation file
// it outputs going through `meshfed render k8s`, and every variable and output docs/deploy.md names existing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const TF_DIR = join(ROOT, 'terraform');
const CORE = join(TF_DIR, 'modules', 'federation');
const TERRAFORM = (process.env['PATH'] ?? '').split(delimiter).map((d) => join(d, 'terraform')).find((p) => existsSync(p));
const noTerraform = TERRAFORM === undefined ? 'terraform is not on PATH: fmt, terraform test and the validation checks did not run (the .tf parse and docs checks still did)' : false;
if (noTerraform) console.log(`# skipped: ${noTerraform}`);

/** Runs terraform; never throws, so a failure's output reaches the assertion message. */
async function terraform(args: string[], cwd: string, input?: string): Promise<{ code: number; out: string }> {
  const env = { ...process.env, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1', NO_COLOR: '1' };
  try {
    const child = execFile(TERRAFORM!, args, { cwd, env, timeout: 120_000 });
    if (input !== undefined) child.stdin!.end(input);
    const r = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d) => (stdout += d));
      child.stderr!.on('data', (d) => (stderr += d));
      child.on('close', (code) => (code === 0 ? resolve({ stdout, stderr }) : reject(Object.assign(new Error(`exit ${code}`), { code, stdout, stderr }))));
    });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}
/** Terraform wraps messages in boxes at ~78 columns: compare on collapsed text. */
const flat = (s: string) => s.replace(/[│╷╵]/g, ' ').replace(/\s+/g, ' ');

function tfFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (e === '.terraform') continue;
    if (statSync(p).isDirectory()) tfFiles(p, out);
    else if (e.endsWith('.tf')) out.push(p);
  }
  return out;
}

/**
 * The top-level blocks of a .tf file (type and labels), from a small HCL scanner that skips strings, heredocs and
 * comments and checks that braces balance; enough to list variables and outputs, not a full HCL parser.
 */
function topLevelBlocks(text: string, file: string): { type: string; labels: string[] }[] {
  const blocks: { type: string; labels: string[] }[] = [];
  let depth = 0;
  let i = 0;
  let header = '';
  while (i < text.length) {
    const c = text[i]!;
    if (c === '#' || (c === '/' && text[i + 1] === '/')) { i = text.indexOf('\n', i); if (i < 0) break; continue; }
    if (c === '/' && text[i + 1] === '*') { i = text.indexOf('*/', i) + 2; continue; }
    if (c === '<' && text.startsWith('<<', i)) {
      const m = /^<<-?([A-Z_]+)\n/.exec(text.slice(i));
      if (m) { i = text.indexOf(`\n${m[1]}`, i + m[0].length); i = text.indexOf('\n', i + 1); continue; }
    }
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 0) header += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '{') {
      if (depth === 0) {
        const m = /^\s*([a-z_]+)((?:\s+"[^"]*")*)\s*$/.exec(header);
        assert.ok(m, `${file}: cannot read the block header "${header.trim()}"`);
        blocks.push({ type: m[1]!, labels: [...m[2]!.matchAll(/"([^"]*)"/g)].map((x) => x[1]!) });
        header = '';
      }
      depth++;
    } else if (c === '}') {
      depth--;
      assert.ok(depth >= 0, `${file}: unbalanced "}"`);
    } else if (depth === 0) header += c;
    i++;
  }
  assert.equal(depth, 0, `${file}: unbalanced braces`);
  assert.equal(header.trim(), '', `${file}: text after the last block`);
  return blocks;
}

test('every .tf file parses, and every variable and output docs/deploy.md names exists (and each one is documented)', () => {
  const files = tfFiles(TF_DIR);
  assert.ok(files.length >= 12, `found ${files.length} .tf files`);
  const defined = new Map<string, Set<string>>();
  for (const f of files) {
    const mod = relative(TF_DIR, join(f, '..'));
    for (const b of topLevelBlocks(readFileSync(f, 'utf8'), relative(ROOT, f))) {
      if (b.type !== 'variable' && b.type !== 'output') continue;
      const key = `${mod}:${b.type}`;
      if (!defined.has(key)) defined.set(key, new Set());
      defined.get(key)!.add(b.labels[0]!);
    }
  }
  for (const mod of ['modules/federation', 'modules/cluster-kubernetes', 'examples/aws-gcp']) {
    assert.ok(defined.get(`${mod}:variable`)?.size, `${mod} declares variables`);
    assert.ok(defined.get(`${mod}:output`)?.size, `${mod} declares outputs`);
  }
  const doc = readFileSync(join(ROOT, 'docs', 'deploy.md'), 'utf8');
  // docs/deploy.md names them per module as `terraform/<mod>`: `var.x`, `output.y` in that module's section.
  const sections = doc.split(/^### Module `terraform\//m).slice(1);
  assert.ok(sections.length >= 3, 'docs/deploy.md has a section per Terraform module');
  const named = new Set<string>();
  for (const s of sections) {
    const mod = s.slice(0, s.indexOf('`'));
    for (const m of s.matchAll(/`(var|output)\.([a-z0-9_]+)`/g)) {
      const kind = m[1] === 'var' ? 'variable' : 'output';
      assert.ok(defined.get(`${mod}:${kind}`)?.has(m[2]!), `docs/deploy.md names ${kind} ${m[2]} of terraform/${mod}, which does not declare it`);
      named.add(`${mod}:${kind}:${m[2]}`);
    }
  }
  for (const [key, names] of defined) for (const n of names) assert.ok(named.has(`${key}:${n}`), `terraform/${key.replace(':', ' ')} ${n} is not documented in docs/deploy.md`);
});

test('terraform fmt -check -recursive terraform/', { skip: noTerraform }, async () => {
  const r = await terraform(['fmt', '-check', '-recursive', '-no-color', TF_DIR], ROOT);
  assert.equal(r.code, 0, `files need terraform fmt:\n${r.out}`);
});

test('terraform test in terraform/modules/federation passes offline, with at least 5 expect_failures runs', { skip: noTerraform }, async () => {
  const tests = readdirSync(join(CORE, 'tests')).filter((f) => f.endsWith('.tftest.hcl')).map((f) => readFileSync(join(CORE, 'tests', f), 'utf8')).join('\n');
  const expecting = (tests.match(/expect_failures\s*=/g) ?? []).length;
  assert.ok(expecting >= 5, `${expecting} expect_failures runs`);
  const init = await terraform(['init', '-backend=false', '-input=false', '-no-color'], CORE);
  assert.equal(init.code, 0, init.out);
  const r = await terraform(['test', '-no-color'], CORE);
  assert.equal(r.code, 0, r.out);
  const m = /Success! (\d+) passed, 0 failed/.exec(r.out);
  assert.ok(m, r.out);
  assert.equal(Number(m[1]), (tests.match(/^run "/gm) ?? []).length, 'every run block passed');
});

const GOOD = {
  clusters: [{ name: 'aws-use1' }, { name: 'gcp-euw1' }],
  networks: [{ name: 'aws-net', gateways: { 'us-east-1a': 'gw-a.example.com:15443' } }, { name: 'gcp-net', gateways: { 'europe-west1-b': 'gw-b.example.com:15443' } }],
  clouds: [
    { name: 'aws', regions: [{ name: 'us-east-1', zones: [{ name: 'us-east-1a', cluster: 'aws-use1', network: 'aws-net' }, { name: 'us-east-1b', cluster: 'aws-use1', network: 'aws-net' }] }] },
    { name: 'gcp', regions: [{ name: 'europe-west1', zones: [{ name: 'europe-west1-b', cluster: 'gcp-euw1', network: 'gcp-net' }] }] },
  ],
  etcd_endpoints: ['https://etcd-0.example.com:2379'],
};

/** Each bad input and the message its validation must give (so an expect_failures pass is for the right reason). */
const BAD: [string, Record<string, unknown>, string][] = [
  ['trust domain', { trust_domain: 'Corp Example' }, 'trust_domain must be a SPIFFE trust domain'],
  ['zone name', { clouds: [{ name: 'aws', regions: [{ name: 'r', zones: [{ name: 'Z_1', cluster: 'aws-use1', network: 'aws-net' }] }] }], networks: [{ name: 'aws-net' }, { name: 'gcp-net' }] }, 'must be a DNS label'],
  ['duplicate zone', { clouds: [{ name: 'aws', regions: [{ name: 'r', zones: [{ name: 'z', cluster: 'aws-use1', network: 'aws-net' }, { name: 'z', cluster: 'aws-use1', network: 'aws-net' }] }] }], networks: [{ name: 'aws-net' }, { name: 'gcp-net' }] }, 'zone names must be unique'],
  ['undeclared cluster', { clouds: [{ name: 'aws', regions: [{ name: 'r', zones: [{ name: 'z', cluster: 'nope', network: 'aws-net' }] }] }], networks: [{ name: 'aws-net' }, { name: 'gcp-net' }] }, "every zone's cluster must be declared in clusters"],
  ['undeclared network', { clouds: [{ name: 'aws', regions: [{ name: 'r', zones: [{ name: 'z', cluster: 'aws-use1', network: 'nope' }] }] }], networks: [{ name: 'aws-net' }, { name: 'gcp-net' }] }, "every zone's network must be declared in networks"],
  ['gateway on the wrong network', { networks: [{ name: 'aws-net', gateways: { 'europe-west1-b': 'gw.example.com:15443' } }, { name: 'gcp-net' }] }, 'a gateway is keyed by a zone of that same network'],
  ['gateway address', { networks: [{ name: 'aws-net', gateways: { 'us-east-1a': 'https://gw' } }, { name: 'gcp-net' }] }, 'every gateway address must be host:port'],
  ['etcd endpoint', { etcd_endpoints: ['etcd:2379'] }, 'etcd_endpoints: list at least one endpoint'],
  ['replicas', { global_lb_replicas: 12 }, 'global_lb_replicas must be a whole number from 1 to 9'],
  ['unknown service', { services: [{ name: 'web', calls: 'db' }] }, 'calls must name a declared service'],
];

test('each bad input fails `terraform plan` with its own validation message, and good input plans', { skip: noTerraform }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-tf-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal((await terraform(['init', '-backend=false', '-input=false', '-no-color'], CORE)).code, 0);
  const plan = async (vars: Record<string, unknown>) => {
    const file = join(dir, `${Math.random().toString(36).slice(2)}.tfvars.json`);
    writeFileSync(file, JSON.stringify({ ...GOOD, ...vars }));
    return terraform(['plan', '-input=false', '-lock=false', '-no-color', `-var-file=${file}`], CORE);
  };
  const good = await plan({});
  assert.equal(good.code, 0, good.out);
  for (const [what, vars, message] of BAD) {
    const r = await plan(vars);
    assert.notEqual(r.code, 0, `${what}: plan must fail`);
    assert.ok(flat(r.out).includes(message), `${what}: expected "${message}" in:\n${r.out}`);
  }
});

test('the module\'s federation_file is a federation file `meshfed render k8s` renders both clusters from', { skip: noTerraform }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-tf-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const vars = join(dir, 'good.tfvars.json');
  writeFileSync(vars, JSON.stringify(GOOD));
  assert.equal((await terraform(['init', '-backend=false', '-input=false', '-no-color'], CORE)).code, 0);
  const r = await terraform(['console', `-var-file=${vars}`], CORE, 'jsonencode(yamlencode(local.federation_file))\n');
  assert.equal(r.code, 0, r.out);
  const line = r.out.split('\n').find((l) => l.startsWith('"') && l.endsWith('"'));
  assert.ok(line, r.out);
  // The YAML text exactly as output.federation_file gives it (console cannot read outputs without state).
  const federation = join(dir, 'federation.yaml');
  // console prints the value HCL-quoted, and the value is jsonencode's JSON string of the YAML: two decodings.
  writeFileSync(federation, JSON.parse(JSON.parse(line) as string) as string);
  for (const cluster of ['aws-use1', 'gcp-euw1']) {
    const out = join(dir, cluster);
    const rendered = await run(process.execPath, [join(ROOT, 'cli/meshfed.ts'), 'render', 'k8s', '--federation', federation, '--cluster', cluster, '--out', out]);
    assert.match(rendered.stdout, new RegExp(`wrote \\d+ objects for cluster ${cluster}`));
    const agent = readFileSync(join(out, `40-deployment-meshfed-zone-agent-${cluster === 'aws-use1' ? 'us-east-1a' : 'europe-west1-b'}.yaml`), 'utf8');
    assert.match(agent, cluster === 'aws-use1' ? /gw-a\.example\.com:15443/ : /gw-b\.example\.com:15443/, 'the gateway address reaches the agent\'s --gateway');
  }
});
