// The container image without a container runtime: the Dockerfile's shape, a build context (.dockerignore applied as
// Docker does) that holds every module and data file meshfed loads, and `npm ci --omit=dev` + `meshfed --help` in it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, relative } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const instructions = dockerfile.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));

/** A .dockerignore pattern as a RegExp (Go filepath.Match plus `**`, as Docker's patternmatcher reads it). */
function patternRegExp(pattern: string): RegExp {
  let p = normalize(pattern.replace(/^\/+/, '')).replace(/\/+$/, '');
  if (p === '.') p = '';
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*' && p[i + 1] === '*') {
      re += '.*';
      i++;
      if (p[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  // A pattern matching a directory excludes (or includes) everything below it.
  return new RegExp(`^${re}(/.*)?$`);
}

/** The files of the build context: every file under root that .dockerignore does not exclude (last match wins). */
function buildContext(root: string): Set<string> {
  const rules = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => (l.startsWith('!') ? { keep: true, re: patternRegExp(l.slice(1)) } : { keep: false, re: patternRegExp(l) }));
  const out = new Set<string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir)) {
      const abs = join(dir, e);
      const rel = relative(root, abs);
      if (e === '.git' || rel === 'node_modules') continue;
      if (statSync(abs).isDirectory()) walk(abs);
      else {
        let included = true;
        for (const r of rules) if (r.re.test(rel)) included = r.keep;
        if (included) out.add(rel);
      }
    }
  };
  walk(root);
  return out;
}

/** Every project file reachable from the entry point and each command module through relative imports. */
function importClosure(entries: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = normalize(join(dirname(file), m[1]!));
      if (target.endsWith('.ts') || target.endsWith('.js')) queue.push(target);
    }
  }
  return seen;
}

test('the Dockerfile: multi-stage on Node 24, production dependencies only, non-root, meshfed as the entrypoint', () => {
  const froms = instructions.filter((l) => /^FROM\s/i.test(l));
  assert.ok(froms.length >= 2, 'multi-stage');
  const arg = /^ARG NODE_IMAGE=(\S+)/m.exec(dockerfile)?.[1];
  for (const f of froms) {
    const image = f.split(/\s+/)[1]!.replace('${NODE_IMAGE}', arg ?? '');
    assert.match(image, /^node:24[-.\w]*$/, `${f}: a Node 24 base image`);
  }
  assert.ok(instructions.some((l) => /^RUN .*npm ci --omit=dev/.test(l)), 'npm ci --omit=dev');
  assert.ok(!instructions.some((l) => /npm install|npm i\s/.test(l)), 'no npm install (the lock file decides)');
  const runtime = instructions.slice(instructions.lastIndexOf(froms[froms.length - 1]!));
  const user = runtime.filter((l) => /^USER\s/.test(l)).pop();
  assert.ok(user, 'the runtime stage sets USER');
  assert.match(user, /^USER\s+([1-9]\d*)(:[1-9]\d*)?$/, 'a numeric non-root uid, so runAsNonRoot can check it');
  assert.equal(user.split(/\s+/)[1]!.split(':')[0], '10001', 'the uid the manifests run as (deploy/k8s.ts MESHFED_UID)');
  assert.ok(runtime.includes('ENTRYPOINT ["meshfed"]'), 'exec-form entrypoint meshfed');
  assert.ok(runtime.some((l) => /ln -s \/app\/cli\/meshfed\.ts \/usr\/local\/bin\/meshfed/.test(l)), 'meshfed is on PATH');
  assert.ok(runtime.some((l) => /^COPY --from=deps \/app\/node_modules/.test(l)), 'node_modules from the deps stage');
  assert.ok(!instructions.some((l) => /^ADD\s+https?:/.test(l)), 'no remote ADD');
  assert.match(readFileSync(join(ROOT, 'cli/meshfed.ts'), 'utf8'), /^#!\/usr\/bin\/env node\n/, 'the entry file runs as an executable');
});

test('the build context holds every module meshfed loads and its data files, and no tests, docs, benches or terraform', () => {
  const context = buildContext(ROOT);
  const commands = readFileSync(join(ROOT, 'cli/commands.ts'), 'utf8');
  const entries = ['cli/meshfed.ts', ...[...commands.matchAll(/import\('\.\/([^']+)'\)/g)].map((m) => `cli/${m[1]}`)].filter((f) => existsSync(join(ROOT, f)));
  assert.ok(entries.length > 15, `${entries.length} entry modules`);
  const missing = [...importClosure(entries)].filter((f) => !context.has(f));
  assert.deepEqual(missing, [], 'modules reachable from meshfed but outside the build context');
  for (const f of ['package.json', 'package-lock.json', 'api/meshfed/v1/federation.proto', 'global-lb/ui/index.html', 'scenarios/zone-outage.yaml', 'examples/topology.yaml']) {
    assert.ok(context.has(f), `${f} is in the build context`);
  }
  const unwanted = [...context].filter((f) => f.endsWith('.test.ts') || /^(test|bench|docs|terraform|scripts|node_modules|\.ci)\//.test(f) || f.includes('/testdata/'));
  assert.deepEqual(unwanted, [], 'files the image does not need');
});

test('in a copy of the build context, npm ci --omit=dev and then meshfed --help work (what the image build does)', { timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-image-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const f of buildContext(ROOT)) {
    mkdirSync(join(dir, dirname(f)), { recursive: true });
    cpSync(join(ROOT, f), join(dir, f));
  }
  const npm = join(dirname(process.execPath), 'npm');
  const npmCli = existsSync(npm) ? npm : 'npm';
  const started = Date.now();
  try {
    // --offline: the npm cache only; the registry may be unreachable here.
    await run(npmCli, ['ci', '--omit=dev', '--offline', '--no-audit', '--no-fund'], { cwd: dir, timeout: 240_000, env: { ...process.env, npm_config_update_notifier: 'false' } });
  } catch (e) {
    const text = `${(e as { stderr?: string }).stderr ?? ''}${(e as Error).message}`;
    const uncached = /ENOTCACHED|ENOTFOUND|EAI_AGAIN|request to .* failed/.test(text);
    if (uncached && process.env['CI'] !== 'true') {
      t.skip(`npm ci --offline could not get every package from the npm cache (${/ENOTCACHED|ENOTFOUND|EAI_AGAIN/.exec(text)?.[0] ?? 'network'}): run npm ci once with the registry reachable`);
      return;
    }
    throw e;
  }
  console.log(`# npm ci --omit=dev --offline took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  for (const dev of ['typescript', 'puppeteer-core', 'node']) assert.ok(!existsSync(join(dir, 'node_modules', dev)), `${dev} (a devDependency) is not installed`);
  // The base image's node stands in as process.execPath (Node 24): the `node` devDependency is not there.
  const help = await run(process.execPath, [join(dir, 'cli/meshfed.ts'), '--help'], { cwd: dir, env: { ...process.env, NODE_COMPILE_CACHE: join(dir, '.cache') } });
  for (const c of ['global-lb', 'zone-agent', 'gateway', 'sidecar', 'render', 'inject']) assert.match(help.stdout, new RegExp(`^  ${c} `, 'm'), `meshfed --help lists ${c}`);
  const render = await run(process.execPath, [join(dir, 'cli/meshfed.ts'), 'render', 'k8s', '--cluster', 'aws-use1', '--out', join(dir, 'out')], { cwd: dir });
  assert.match(render.stdout, /wrote \d+ objects/, 'a command that loads zod and yaml runs from the production dependencies');
});
