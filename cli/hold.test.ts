// `meshfed hold` and `meshfed release` argument errors, against a hand-written up.json: bad or missing --for, unknown components, no running federation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UpState } from '../local/state.ts';

const MESHFED = join(import.meta.dirname, 'meshfed.ts');

function meshfed(stateDir: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MESHFED, ...args, '--state-dir', stateDir], { timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

/** A state dir whose up.json names `pid` as the running `meshfed up` (this test process: alive). */
function fakeState(t: { after(fn: () => void): void }, pid = process.pid): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-hold-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const comp = (name: string, zone?: string) => ({ name, pid: 999_999, logFile: join(dir, `${name}.log`), restarts: 0, ...(zone ? { zone } : {}) });
  const state: UpState = {
    version: 1, pid, startedAt: new Date().toISOString(), store: 'etcd', adminUrl: 'http://127.0.0.1:1', adminUrls: ['http://127.0.0.1:1'], metricsUrls: [],
    logDir: join(dir, 'run', 'logs'), runDir: join(dir, 'run'), zones: [],
    components: [comp('etcd-1'), comp('global-lb-1'), comp('agent-us-east-1a', 'us-east-1a'), comp('app-us-east-1a-catalog-v1-0', 'us-east-1a'), comp('app-us-east-1a-catalog-v1-1', 'us-east-1a')],
  };
  writeFileSync(join(dir, 'up.json'), JSON.stringify(state));
  return dir;
}

test('hold needs a component and a --for between 1s and 1h (exit 2)', async (t) => {
  const dir = fakeState(t);
  const cases: [string[], RegExp][] = [
    [['--for', '5s'], /give at least one component/],
    [['agent-us-east-1a'], /--for DURATION is required/],
    [['agent-us-east-1a', '--for', '500ms'], /--for: "500ms" is not between 1s and 1h/],
    [['agent-us-east-1a', '--for', '61m'], /--for: "61m" is not between 1s and 1h/],
    [['agent-us-east-1a', '--for', 'soon'], /--for: "soon" is not a duration/],
  ];
  for (const [args, message] of cases) {
    const r = await meshfed(dir, 'hold', ...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  assert.equal(existsSync(join(dir, 'run', 'holds')), false, 'a refused hold writes nothing');
});

test('an unknown component is refused with exit 2 and the list of names', async (t) => {
  const dir = fakeState(t);
  for (const name of ['agent-eu-west-9z', 'etcd', 'app-us-west-*']) { // 'etcd' is etcd-1 now
    const r = await meshfed(dir, 'hold', 'agent-us-east-1a', name, '--for', '5s');
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`unknown component "${name.replace('*', '\\*')}" \\(components: etcd-1, global-lb-1, agent-us-east-1a, app-us-east-1a-catalog-v1-0, app-us-east-1a-catalog-v1-1\\)`));
    const rel = await meshfed(dir, 'release', name);
    assert.equal(rel.code, 2, rel.stderr);
  }
});

test('with no federation, exit 2; with a federation whose meshfed up is gone, exit 1 with MESHFED_E_HOLD_NOT_APPLIED', async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'meshfed-hold-cli-'));
  t.after(() => rmSync(empty, { recursive: true, force: true }));
  const none = await meshfed(empty, 'hold', 'agent-us-east-1a', '--for', '5s');
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no federation found/);
  const dead = fakeState(t, 2 ** 22 + 12345);
  const r = await meshfed(dead, 'hold', 'agent-us-east-1a', '--for', '5s', '--kill');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /MESHFED_E_HOLD_NOT_APPLIED|meshfed up \(pid \d+ .*\) is not running/);
});

test('release of a component that is not held says so and exits 0', async (t) => {
  const dir = fakeState(t);
  const r = await meshfed(dir, 'release', 'app-us-east-1a-catalog-*');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'not held  app-us-east-1a-catalog-v1-0\nnot held  app-us-east-1a-catalog-v1-1\n');
});
