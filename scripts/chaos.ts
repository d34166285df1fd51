// `npm run chaos`: runs every bundled scenario (or those named) one after another, each with its report, and prints a summary table.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bundledScenarios } from '../cli/chaos.ts';
import type { Journal } from '../scenarios/report/journal.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { quick: { type: 'boolean', default: false }, 'quick-only': { type: 'boolean', default: false }, 'report-dir': { type: 'string', default: 'chaos-reports' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help) {
  process.stdout.write(`Usage: npm run chaos -- [--quick] [--quick-only] [--report-dir DIR] [NAME...]
Runs the bundled scenarios (scenarios/*.yaml), or the NAMEs given, one at a time with meshfed chaos run, each
writing DIR/NAME/journal.json and report.html (default DIR: chaos-reports). --quick shortens each run;
--quick-only runs just the scenarios marked quick (the CI subset). Exit 1 when any scenario fails.\n`);
  process.exit(0);
}

const all = bundledScenarios().map((f) => basename(f, '.yaml'));
const quickOnes = all.filter((n) => /^quick:\s*true\s*$/m.test(readFileSync(join(ROOT, 'scenarios', `${n}.yaml`), 'utf8')));
const names = positionals.length > 0 ? positionals : values['quick-only'] ? quickOnes : all;
const rows: string[][] = [];
let failed = 0;
for (const name of names) {
  const dir = join(values['report-dir'], name);
  const started = Date.now();
  process.stdout.write(`\n=== ${name} ===\n`);
  const r = spawnSync(process.execPath, [join(ROOT, 'cli', 'meshfed.ts'), 'chaos', 'run', name, '--report', dir, ...(values.quick || values['quick-only'] ? ['--quick'] : [])], { stdio: 'inherit' });
  let result = r.status === 0 ? 'passed' : `failed (exit ${r.status ?? r.signal})`;
  try {
    const j = JSON.parse(readFileSync(join(dir, 'journal.json'), 'utf8')) as Journal;
    result = `${j.result}; ${j.expectations.filter((e) => !e.ok).map((e) => e.name).join(', ') || 'every expectation held'}`;
  } catch {
    // no journal: the run could not start; its output above says why
  }
  if (r.status !== 0) failed++;
  rows.push([name, result, `${((Date.now() - started) / 1000).toFixed(0)} s`, join(dir, 'report.html')]);
}
process.stdout.write('\nscenario | result | took | report\n');
for (const row of rows) process.stdout.write(`${row.join(' | ')}\n`);
process.stdout.write(`\n${names.length - failed} of ${names.length} scenarios passed\n`);
process.exit(failed > 0 ? 1 : 0);
