// Keeps error codes and their documentation in step: every declared code has a docs/errors.md row, every used code is declared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const SKIP = new Set(['node_modules', '.git', '.meshfed', '.terraform']);
const CODE = /MESHFED_E_[A-Z0-9_]*[A-Z0-9]/g;

function walk(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, out);
    else out.push(relative(ROOT, path));
  }
  return out;
}

const FILES = walk(ROOT);
const ERRORS_FILES = FILES.filter((f) => f === 'errors.ts' || f.endsWith('/errors.ts')).sort();

/** Codes declared as keys of the code -> meaning objects in one errors.ts (`MESHFED_E_X: 'meaning'` or `'MESHFED_E_X': ...`). */
function declaredIn(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(/^\s*['"]?(MESHFED_E_[A-Z0-9_]+)['"]?\s*:/gm)].map((m) => m[1] as string);
}

const DECLARED = new Map<string, string>(); // code -> errors.ts that declares it
for (const file of ERRORS_FILES) for (const code of declaredIn(file)) if (!DECLARED.has(code)) DECLARED.set(code, file);

/** docs/errors.md split by `## Heading (path/errors.ts)` sections: path -> codes with a row there. */
function documented(): { rows: Map<string, string[]>; sectionFor: Map<string, string> } {
  const text = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
  const rows = new Map<string, string[]>();
  const sectionFor = new Map<string, string>();
  let section = '(before any section)';
  for (const line of text.split('\n')) {
    const heading = /^## .*\(([^)]+\/errors\.ts|errors\.ts)\)\s*$/.exec(line);
    if (heading) {
      section = heading[1] as string;
      continue;
    }
    const row = /^\|\s*`(MESHFED_E_[A-Z0-9_]+)`\s*\|/.exec(line);
    if (row) {
      const code = row[1] as string;
      rows.set(code, [...(rows.get(code) ?? []), section]);
      sectionFor.set(code, section);
    }
  }
  return { rows, sectionFor };
}

test('the repository has errors.ts files and each declares at least one code', () => {
  assert.ok(ERRORS_FILES.includes('common/errors.ts') && ERRORS_FILES.includes('api/errors.ts'), ERRORS_FILES.join(', '));
  for (const file of ERRORS_FILES) assert.ok(declaredIn(file).length > 0, `${file} declares no MESHFED_E_* code`);
});

test('no code is declared twice', () => {
  const seen = new Map<string, string>();
  const dupes: string[] = [];
  for (const file of ERRORS_FILES) {
    for (const code of declaredIn(file)) {
      const first = seen.get(code);
      if (first !== undefined) dupes.push(`${code} in ${file} and ${first}`);
      else seen.set(code, file);
    }
  }
  assert.equal(dupes.length, 0, `\n${dupes.join('\n')}`);
});

test('every declared code has exactly one row in docs/errors.md, under its component\'s heading', () => {
  const { rows } = documented();
  const problems: string[] = [];
  for (const [code, file] of DECLARED) {
    const sections = rows.get(code);
    if (!sections) problems.push(`${code} (declared in ${file}) has no row in docs/errors.md`);
    else if (sections.length > 1) problems.push(`${code} has ${sections.length} rows in docs/errors.md`);
    else if (sections[0] !== file) problems.push(`${code} is documented under ${sections[0]} but declared in ${file}; move the row`);
  }
  assert.equal(problems.length, 0, `\n${problems.join('\n')}`);
});

test('every code documented in docs/errors.md is declared in some errors.ts', () => {
  const { rows } = documented();
  const stale = [...rows.keys()].filter((code) => !DECLARED.has(code)).map((code) => `${code} is documented but declared in no errors.ts`);
  assert.equal(stale.length, 0, `\n${stale.join('\n')}`);
});

test('every MESHFED_E_* code used in the code is declared in some errors.ts', () => {
  // Tests are left out: they may make up codes to exercise MeshfedError itself.
  const sources = FILES.filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.startsWith('api/generated/'));
  const undeclared: string[] = [];
  for (const file of sources) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      for (const m of line.matchAll(CODE)) {
        // A family prefix (`e.code.startsWith('MESHFED_E_STORE')`, `MESHFED_E_CERT_*` in a comment) names declared codes.
        const family = [...DECLARED.keys()].some((code) => code.startsWith(`${m[0]}_`));
        if (!DECLARED.has(m[0]) && !family) undeclared.push(`${file}:${i + 1}: ${m[0]} is used but declared in no errors.ts`);
      }
    });
  }
  assert.equal(undeclared.length, 0, `\n${undeclared.join('\n')}`);
});
