// Tests of the local federation's supervisor on real child processes: failed starts name the component and its log, and nothing is left running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive, StartError, Supervisor } from './supervisor.ts';

const node = process.execPath;

function tempLogDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-supervisor-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

test('a component that exits while starting fails with its name and its log, which holds its output', async (t) => {
  const supervisor = new Supervisor(tempLogDir(t));
  t.after(() => supervisor.stopAll(1000));
  await assert.rejects(
    supervisor.start({
      name: 'agent us-east-1a',
      command: node,
      args: ['-e', 'console.error("cannot bind 127.0.0.1:1: EACCES"); process.exit(3)'],
      ready: async () => false,
    }),
    (e: unknown) => {
      assert.ok(e instanceof StartError);
      assert.equal(e.component, 'agent us-east-1a');
      assert.equal(e.code, 'MESHFED_E_UP_COMPONENT_FAILED');
      assert.match(e.message, /agent us-east-1a failed to start: exited with code 3 \(log: .*agent-us-east-1a\.log\)/);
      assert.match(readFileSync(e.logFile, 'utf8'), /cannot bind 127\.0\.0\.1:1: EACCES/);
      return true;
    },
  );
});

test('a component that never becomes ready fails after its deadline', async (t) => {
  const supervisor = new Supervisor(tempLogDir(t));
  t.after(() => supervisor.stopAll(1000));
  await assert.rejects(
    supervisor.start({ name: 'gateway', command: node, args: ['-e', 'setInterval(() => {}, 1000)'], ready: async () => false, readyTimeoutMs: 300 }),
    /gateway failed to start: not ready after 300 ms/,
  );
});

test('stopAll stops every component and the processes they spawned', async (t) => {
  const supervisor = new Supervisor(tempLogDir(t));
  // The child starts a grandchild and prints its pid: stopping must reach the whole process group.
  const script = `const { spawn } = require('node:child_process');
    const g = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    console.log('grandchild ' + g.pid); setInterval(() => {}, 1000);`;
  const a = await supervisor.start({ name: 'a', command: node, args: ['-e', script], ready: async () => true });
  const b = await supervisor.start({ name: 'b', command: node, args: ['-e', 'setInterval(() => {}, 1000)'], ready: async () => true });
  let grandchild = 0;
  assert.ok(await waitFor(() => {
    grandchild = Number(/grandchild (\d+)/.exec(readFileSync(a.logFile, 'utf8'))?.[1] ?? 0);
    return grandchild > 0;
  }, 10_000), 'the child reported its grandchild');
  assert.ok(isAlive(a.pid) && isAlive(b.pid) && isAlive(grandchild));
  assert.deepEqual(supervisor.list().map((c) => c.name), ['a', 'b']);
  await supervisor.stopAll(2000);
  assert.ok(await waitFor(() => !isAlive(a.pid) && !isAlive(b.pid) && !isAlive(grandchild), 5000), 'no process left');
  assert.deepEqual(supervisor.list(), []);
});

test('an unexpected exit after start is reported, but a requested stop is not', async (t) => {
  const supervisor = new Supervisor(tempLogDir(t));
  t.after(() => supervisor.stopAll(1000));
  const exits: string[] = [];
  supervisor.onExit((name, code) => exits.push(`${name}:${code}`));
  await supervisor.start({ name: 'short', command: node, args: ['-e', 'setTimeout(() => process.exit(4), 200)'], ready: async () => true });
  await supervisor.start({ name: 'long', command: node, args: ['-e', 'setInterval(() => {}, 1000)'], ready: async () => true });
  assert.ok(await waitFor(() => exits.length > 0, 10_000));
  await supervisor.stopAll(2000);
  assert.deepEqual(exits, ['short:4']);
});
