// Fails when api/generated/ is not exactly what `npm run gen` produces from the protos (someone edited or forgot to regenerate).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execFileSync } from 'node:child_process';
import { GENERATED_DIR, ROOT, generate } from '../scripts/gen-proto.ts';

function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

/** Names each differing file and its first differing line, so the failure says what to regenerate. */
function diff(want: Map<string, string>, got: Map<string, string>): string[] {
  const problems: string[] = [];
  for (const name of new Set([...want.keys(), ...got.keys()])) {
    const a = want.get(name);
    const b = got.get(name);
    if (a === undefined) problems.push(`${name}: missing from api/generated/`);
    else if (b === undefined) problems.push(`${name}: in api/generated/ but no longer generated`);
    else if (a !== b) {
      const la = a.split('\n');
      const lb = b.split('\n');
      const i = la.findIndex((line, k) => line !== lb[k]);
      problems.push(`${name}:${i + 1}: generated "${la[i] ?? ''}" but api/generated/ has "${lb[i] ?? ''}"`);
    }
  }
  return problems.sort();
}

test('api/generated/ matches a fresh generation from the protos', (t) => {
  const out = mkdtempSync(join(tmpdir(), 'meshfed-gen-check-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  generate(out);
  const problems = diff(files(out), files(GENERATED_DIR));
  assert.deepEqual(problems, [], `api/generated/ is stale; run \`npm run gen\` and commit:\n${problems.join('\n')}`);
});

test('generation does not depend on where the checkout lives', (t) => {
  // A fresh clone at another path must generate byte-identical files: no absolute paths may leak into them.
  const clone = mkdtempSync(join(tmpdir(), 'meshfed-clone-'));
  t.after(() => rmSync(clone, { recursive: true, force: true }));
  cpSync(join(ROOT, 'api', 'meshfed'), join(clone, 'api', 'meshfed'), { recursive: true });
  mkdirSync(join(clone, 'scripts'));
  cpSync(join(ROOT, 'scripts', 'gen-proto.ts'), join(clone, 'scripts', 'gen-proto.ts'));
  cpSync(join(ROOT, 'package.json'), join(clone, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'), 'dir');
  execFileSync(process.execPath, [join(clone, 'scripts', 'gen-proto.ts')], { cwd: clone, stdio: ['ignore', 'ignore', 'pipe'] });
  const generated = files(join(clone, 'api', 'generated'));
  assert.ok(generated.size > 0);
  for (const [name, text] of generated) assert.ok(!text.includes(clone), `${name} contains the checkout path ${clone}`);
  assert.deepEqual(diff(generated, files(GENERATED_DIR)), []);
});

test('every generated file is marked generated, do not edit', () => {
  for (const [name, text] of files(GENERATED_DIR)) {
    assert.match(text.split('\n')[0] ?? '', /^\/\/ Generated from .* Do not edit\.$/, name);
  }
});
