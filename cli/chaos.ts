// `meshfed chaos run|validate|list`: declarative chaos scenarios against a federation the run starts and stops itself.
import { readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommand, renderTable, UsageError } from './args.ts';
import { loadScenarioFile, type Scenario } from '../api/scenario.ts';
import { describeError, MeshfedError } from '../common/errors.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The bundled scenarios. */
export const SCENARIOS_DIR = join(ROOT, 'scenarios');
const EXAMPLES_DIR = join(ROOT, 'examples');

const spec = {
  name: 'chaos',
  summary: 'run, validate or list chaos scenarios: faults at every depth, verified rollback, a plotted report',
  usage: 'meshfed chaos run FILE|NAME [--report DIR] [--quick]\n       meshfed chaos validate FILE|NAME...\n       meshfed chaos list [--output table|json]',
  allowPositionals: true,
  options: {
    report: { type: 'string', value: 'DIR', description: 'where run writes journal.json and report.html (default chaos-reports/NAME)' },
    quick: { type: 'boolean', description: 'run: shorter steady phases and fault windows (the CI subset runs with it)' },
    output: { type: 'string', short: 'o', value: 'table|json', description: 'list: output format', default: 'table' },
  },
  details: `A scenario (scenarios/*.yaml; docs/chaos.md has the format) names a federation, a load, a steady-state
hypothesis, a timeline of faults (l7, l4, process, network, trust) and expectations. run starts that federation
with meshfed up's code in a fresh state directory, drives the load, injects each fault and checks it applied and
acted, reverts it and checks it cleared, and always rolls back (on success, failure, a stop condition, Ctrl-C or
SIGTERM): no rule on any sidecar, no hold, every process back and ready; then the steady state again.
NAME is a bundled scenario (meshfed chaos list), FILE a path.
Examples:
  meshfed chaos list
  meshfed chaos validate scenarios/zone-outage.yaml
  meshfed chaos run zone-outage --report /tmp/zone-outage
Exit codes: 0 every expectation held, 1 one failed (or the run was aborted), 2 invalid input (nothing started).`,
} as const;

/** A scenario file from a path or a bundled name. */
function scenarioPath(arg: string): string {
  if (arg.endsWith('.yaml') || arg.endsWith('.yml') || arg.includes('/')) return resolve(arg);
  return join(SCENARIOS_DIR, `${arg}.yaml`);
}

/** Loads a scenario; an invalid one is a usage error (exit 2) with every path-named problem. */
function load(arg: string): Scenario {
  try {
    return loadScenarioFile(scenarioPath(arg), EXAMPLES_DIR);
  } catch (e) {
    if (e instanceof MeshfedError) throw new UsageError(describeError(e));
    throw e;
  }
}

/** Every bundled scenario file. */
export function bundledScenarios(): string[] {
  return readdirSync(SCENARIOS_DIR).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(SCENARIOS_DIR, f));
}

export async function run(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const [sub, ...args] = parsed.positionals;
  const v = parsed.values;
  if (sub === 'list') return list(v.output);
  if (sub === 'validate') {
    if (args.length === 0) throw new UsageError('validate needs at least one scenario file or name');
    for (const a of args) {
      const s = load(a);
      process.stdout.write(`ok  ${s.file}: ${s.name} (${s.faults.length} fault(s), ${s.expect.length} expectation(s), ${s.federationSource} federation)\n`);
    }
    return 0;
  }
  if (sub === 'run') {
    if (args.length !== 1) throw new UsageError('run takes one scenario file or name');
    return runOne(load(args[0]!), v.report, v.quick === true);
  }
  throw new UsageError('give one of: run, validate, list');
}

function list(output: string): number {
  const rows = bundledScenarios().map((f) => {
    try {
      const s = loadScenarioFile(f, EXAMPLES_DIR);
      return { name: s.name, quick: s.quick, faults: s.faults.map((x) => x.kind).join(','), description: s.description, file: f, error: undefined };
    } catch (e) {
      return { name: basename(f, '.yaml'), quick: false, faults: '', description: '', file: f, error: describeError(e) };
    }
  });
  if (output === 'json') process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  else process.stdout.write(renderTable(['NAME', 'QUICK', 'FAULTS', 'DESCRIPTION'], rows.map((r) => [r.name, r.quick ? 'yes' : '', r.faults, r.error ?? r.description.split('\n')[0]!.slice(0, 90)])));
  return rows.some((r) => r.error !== undefined) ? 1 : 0;
}

async function runOne(s: Scenario, reportDir: string | undefined, quick: boolean): Promise<number> {
  const { runScenario } = await import('../scenarios/runner/run.ts');
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.stderr.write(`meshfed chaos: ${sig} again; rollback is running, please wait (a third one is not needed)\n`);
      return;
    }
    process.stderr.write(`meshfed chaos: ${sig}: stopping the run; rolling back\n`);
    controller.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const out = await runScenario({ scenario: s, quick, reportDir: reportDir ?? join('chaos-reports', s.name), print: (l) => process.stdout.write(`${l}\n`), signal: controller.signal });
    const j = out.journal;
    process.stdout.write(`\n${renderTable(['EXPECTATION', 'OK', 'MEASURED', 'GOAL'], j.expectations.map((e) => [e.name, e.ok ? 'ok' : 'FAILED', e.measured, e.goal]))}`);
    process.stdout.write(`\n${j.result.toUpperCase()}: ${s.name}${j.aborted ? ` (aborted: ${j.aborted.reason})` : ''}; ${j.totals.failed} of ${j.totals.sent} requests failed; report ${out.reportFile}\n`);
    return j.result === 'passed' ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
