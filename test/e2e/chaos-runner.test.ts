// `meshfed chaos run` as a user runs it: rollback always runs and is verified (failed expectation, stop condition, SIGTERM mid-fault), a fault that acts on nothing fails visibly, and nothing of a run outlives it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../support/up-harness.ts';
import { skipWithoutEtcd } from '../support/etcd.ts';
import type { Journal } from '../../scenarios/report/journal.ts';

const skip = skipWithoutEtcd();

interface Run {
  code: number | null;
  output: string;
  journal: Journal;
}

/** Runs `meshfed chaos run` on a scenario text; `whenOutput` may act on the child (e.g. signal it) once a line appears. */
async function chaos(name: string, text: string, whenOutput?: { match: RegExp; act: (pid: number) => void }): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-chaos-test-'));
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, text);
  const child = spawn(process.execPath, [CLI, 'chaos', 'run', file, '--report', join(dir, 'report')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let acted = false;
  const onData = (c: Buffer) => {
    output += c.toString();
    if (whenOutput && !acted && whenOutput.match.test(output)) {
      acted = true;
      whenOutput.act(child.pid!);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(timer);
  try {
    const journal = JSON.parse(readFileSync(join(dir, 'report', 'journal.json'), 'utf8')) as Journal;
    assert.ok(readFileSync(join(dir, 'report', 'report.html'), 'utf8').includes('<svg'), 'the HTML report has plots');
    return { code, output, journal };
  } catch (e) {
    throw new Error(`no journal (exit ${code}): ${(e as Error).message}\n${output.slice(-3000)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Processes of a run still alive: every component's command line names the run's state directory. */
function leftovers(name: string): string {
  try {
    return execFileSync('pgrep', ['-af', `meshfed-chaos-${name}-`], { encoding: 'utf8' }).trim();
  } catch {
    return ''; // pgrep exits 1 when nothing matches
  }
}

function assertRolledBack(run: Run, name: string): void {
  const j = run.journal;
  assert.equal(j.rollback.ok, true, `rollback: ${JSON.stringify(j.rollback.checks, null, 1)}`);
  const names = j.rollback.checks.map((c) => c.what);
  for (const want of ['every sidecar and gateway fault list is empty', 'no supervisor hold left', 'no process of the run is left after teardown']) {
    assert.ok(names.includes(want), `rollback checked "${want}" (checked: ${names.join('; ')})`);
  }
  assert.ok(names.some((n) => n.startsWith('every component')), 'rollback checked every component is back');
  assert.ok(j.phases.some((p) => p.name === 'rollback'), 'a rollback phase ran');
  assert.equal(leftovers(name), '', 'no process of the run is left');
}

const header = (name: string) => `
name: ${name}
topology: default
load: { rps: 20 }
steady:
  window: 2s
  before: 3s
  after: 20s
  probes: [{ kind: success, min: 0.95 }]
`;

test('a failed expectation and a fault that matched no request: the run fails visibly, and rollback still clears the rule (with a pause and a restart beside it)', { skip, timeout: 300_000 }, async () => {
  const name = 'rt-vacuous';
  const run = await chaos(name, `${header(name)}
faults:
  - id: never-matches
    kind: l7
    target: { zone: us-east-1a, service: catalog }
    direction: inbound
    headers: { x-chaos-never: "1" }
    abort: { status: 503 }
    duration: 5s
  - { id: freeze, kind: process, target: { role: global-lb-follower }, action: pause, duration: 4s }
  - { id: bounce, kind: process, target: agent-us-east-1b, action: restart, duration: 3s }
expect:
  - { name: impossible, kind: share, fault: never-matches, service: catalog, zone: us-east-1a, max: 0, within: 1s }
`);
  assert.equal(run.code, 1, run.output.slice(-2000));
  const j = run.journal;
  assert.equal(j.result, 'failed');
  const fault = j.faults.find((f) => f.id === 'never-matches')!;
  assert.ok(fault.events.find((e) => e.what === 'applied')?.ok, 'the rule was in place on the sidecars');
  const effect = j.expectations.find((e) => e.name === 'fault never-matches took effect')!;
  assert.equal(effect.ok, false);
  assert.match(effect.measured, /no injection counted/);
  const impossible = j.expectations.find((e) => e.name === 'impossible')!;
  assert.equal(impossible.ok, false);
  assert.match(impossible.measured, /never/);
  assert.ok(fault.events.find((e) => e.what === 'cleared')?.ok, 'the rule was removed and checked gone');
  // The other process actions, alongside: SIGSTOP of the follower found at run time, and a restart by the supervisor.
  for (const [id, effect] of [['freeze', /stopped \(state T\)/], ['bounce', /restarted with a new pid/]] as const) {
    const f = j.faults.find((x) => x.id === id)!;
    assert.match(f.events.find((e) => e.what === 'effect' && e.ok)?.detail ?? JSON.stringify(f.events), effect);
    assert.ok(f.events.find((e) => e.what === 'cleared')?.ok, `${id} cleared: ${JSON.stringify(f.events)}`);
  }
  assert.match(j.faults.find((x) => x.id === 'freeze')!.target, /^global-lb-\d$/);
  assertRolledBack(run, name);
});

test('a stop condition aborts the fault phase early; rollback runs and is verified', { skip, timeout: 300_000 }, async () => {
  const name = 'rt-stop';
  const run = await chaos(name, `${header(name).replace('load: { rps: 20 }', 'load: { rps: 20, targets: [us-east-1a] }')}
faults:
  - id: break-frontend
    kind: l7
    target: { zone: us-east-1a, service: frontend }
    direction: outbound
    abort: { status: 503 }
    duration: 60s
stop:
  - { probe: { kind: success, min: 0.5 }, for: 2s }
`);
  assert.equal(run.code, 1, run.output.slice(-2000));
  const j = run.journal;
  assert.equal(j.result, 'aborted');
  assert.match(j.aborted?.reason ?? '', /stop condition/);
  const f = j.faults[0]!;
  assert.ok(f.endMs! - f.startMs < 20_000, `the 60 s fault was cut short (${f.endMs! - f.startMs} ms)`);
  assert.ok(j.expectations.find((e) => e.name === 'fault break-frontend took effect')?.ok, 'the abort acted');
  assertRolledBack(run, name);
  assert.ok(j.phases.some((p) => p.name === 'steady-after'), 'the steady state was checked again');
});

test('SIGTERM to the runner mid-fault: the killed components come back, rollback is verified, nothing is left', { skip, timeout: 300_000 }, async () => {
  const name = 'rt-sigterm';
  const run = await chaos(name, `${header(name)}
faults:
  - { id: down, kind: process, target: app-us-east-1a-catalog-*, action: kill, duration: 60s }
`, { match: /fault down: applied ok/, act: (pid) => process.kill(pid, 'SIGTERM') });
  assert.equal(run.code, 1, run.output.slice(-2000));
  const j = run.journal;
  assert.equal(j.result, 'aborted');
  assert.match(j.aborted?.reason ?? '', /signalled \(SIGTERM\)/);
  const f = j.faults[0]!;
  assert.ok(f.endMs! - f.startMs < 30_000, `the 60 s fault ended early (${f.endMs! - f.startMs} ms)`);
  assert.ok(f.events.find((e) => e.what === 'cleared')?.ok, `the killed catalogs came back: ${JSON.stringify(f.events)}`);
  assertRolledBack(run, name);
});
