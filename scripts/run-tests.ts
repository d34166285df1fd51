// Finds every *.test.ts in the project and runs them with node's test runner (used by `npm test`).
// Arguments filter by path substring: `node scripts/run-tests.ts trust/ sidecar/balancer`.
// End-to-end files (test/e2e/) run after the rest, one at a time: each starts a whole federation of ~20 processes, and
// two at once on 2 cores make their latency and timing checks measure the machine instead of meshfed.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';

const root = join(import.meta.dirname, '..');
const SKIP = new Set(['node_modules', '.git', '.meshfed', '.terraform', 'bench']);

function find(dir: string, out: string[]): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) find(path, out);
    else if (entry.name.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out;
}

const filters = process.argv.slice(2);
const files = find(root, []).filter((f) => filters.length === 0 || filters.some((p) => f.includes(p))).sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
const concurrency = process.env['MESHFED_TEST_CONCURRENCY'] ?? '2';
const isE2e = (f: string) => f.startsWith('test/e2e/');
const phases = [
  { files: files.filter((f) => !isE2e(f)), concurrency },
  { files: files.filter(isE2e), concurrency: '1' },
].filter((p) => p.files.length > 0);

/** Runs one phase with node's test runner: spec output here, TAP into a file for the counts. */
function run(phase: { files: string[]; concurrency: string }, tap: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--test', `--test-concurrency=${phase.concurrency}`, '--test-timeout=240000',
        '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...phase.files],
      { cwd: root, stdio: 'inherit' },
    );
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

/** The "# pass N" style totals of a TAP file (the runner's own summary lines). */
function counts(tap: string): { pass: number; fail: number; skipped: number } {
  const text = readFileSync(tap, 'utf8');
  const n = (what: string) => Number(new RegExp(`^# ${what} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return { pass: n('pass'), fail: n('fail') + n('cancelled'), skipped: n('skipped') };
}

const dir = mkdtempSync(join(tmpdir(), 'meshfed-tests-'));
let exit = 0;
const total = { pass: 0, fail: 0, skipped: 0 };
for (const [i, phase] of phases.entries()) {
  if (phases.length > 1) console.log(`\n== ${i === 0 ? 'unit and integration tests' : 'end-to-end tests, one at a time'} (${phase.files.length} files) ==`);
  const tap = join(dir, `phase-${i}.tap`);
  const code = await run(phase, tap);
  if (code !== 0) exit = code;
  const c = counts(tap);
  total.pass += c.pass;
  total.fail += c.fail;
  total.skipped += c.skipped;
}
rmSync(dir, { recursive: true, force: true });
// One closing line over every phase, in the plain form any CI reads.
console.log(`\n${total.pass} passed, ${total.fail} failed, ${total.skipped} skipped`);
process.exit(exit);
