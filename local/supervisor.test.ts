// Tests of the local federation's supervisor on real child processes: failed starts name the component and its log, exits are restarted until the budget is spent, and nothing is left running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { isAlive, StartError, Supervisor } from './supervisor.ts';
import type { Hold } from './holds.ts';

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

test('a first start that finds its port busy is tried again on the same port (busyPortRetries); other exits are not', async (t) => {
  const holder = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
  const port = (holder.address() as { port: number }).port;
  t.after(() => new Promise<void>((r) => holder.close(() => r())));
  const lines: string[] = [];
  const supervisor = new Supervisor(tempLogDir(t), { print: (l) => lines.push(l) });
  t.after(() => supervisor.stopAll(1000));
  const server = `require('node:net').createServer().on('error', (e) => { console.error(e.message); process.exit(1); })
    .listen(${port}, '127.0.0.1', () => console.log('listening'));`;
  const logOf = (name: string) => { try { return readFileSync(join(supervisor.logDir, `${name}.log`), 'utf8'); } catch { return ''; } };
  const ready = (name: string) => async () => logOf(name).includes('listening');
  // Without retries the busy port fails the start at once.
  await assert.rejects(supervisor.start({ name: 'no-retry', command: node, args: ['-e', server], ready: ready('no-retry') }), /no-retry failed to start: exited with code 1/);
  // With retries: the holder lets go once the first attempt has failed, and a later attempt binds the same port.
  const started = supervisor.start({ name: 'etcd-1', command: node, args: ['-e', server], ready: ready('etcd-1'), busyPortRetries: 5 });
  assert.ok(await waitFor(() => /address already in use/.test(logOf('etcd-1')), 10_000), 'the first attempt found the port busy');
  await new Promise<void>((r) => holder.close(() => r()));
  const c = await started;
  assert.ok(isAlive(c.pid));
  assert.equal(c.restarts, 0, 'a retried start is not a restart');
  assert.match(lines.join('\n'), /^ {2}retry {7}etcd-1: a port was busy/m);
  // An exit for another reason is not retried, even with retries allowed.
  await assert.rejects(supervisor.start({ name: 'other', command: node, args: ['-e', 'process.exit(4)'], ready: async () => false, busyPortRetries: 5 }), /other failed to start: exited with code 4/);
  assert.equal(lines.filter((l) => l.includes('retry       other')).length, 0);
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

test('with no restart budget, an exit after start is reported at once, but a requested stop is not', async (t) => {
  const supervisor = new Supervisor(tempLogDir(t), { restart: { ...FAST, budget: 0 } });
  t.after(() => supervisor.stopAll(1000));
  const exits: string[] = [];
  supervisor.onExit((name, code) => exits.push(`${name}:${code}`));
  await supervisor.start({ name: 'short', command: node, args: ['-e', 'setTimeout(() => process.exit(4), 200)'], ready: async () => true });
  await supervisor.start({ name: 'long', command: node, args: ['-e', 'setInterval(() => {}, 1000)'], ready: async () => true });
  assert.ok(await waitFor(() => exits.length > 0, 10_000));
  await supervisor.stopAll(2000);
  assert.deepEqual(exits, ['short:4']);
});

/** Backoff short enough for a test; the decisions themselves are tested on a fake clock in restart-policy.test.ts. */
const FAST = { initialBackoffMs: 20, maxBackoffMs: 50, budget: 2, windowMs: 60_000 };

test('a component killed with SIGKILL is restarted with the same args, its new pid listed, and the restart printed', async (t) => {
  const lines: string[] = [];
  const supervisor = new Supervisor(tempLogDir(t), { restart: FAST, print: (l) => lines.push(l) });
  t.after(() => supervisor.stopAll(1000));
  let changes = 0;
  supervisor.onChange(() => changes++);
  const gaveUp: string[] = [];
  supervisor.onExit((name) => gaveUp.push(name));
  // Ready once this run has printed its args: each run must add one line.
  const logDir = supervisor.logDir;
  const printed = () => readFileSync(join(logDir, 'agent-z.log'), 'utf8').split('args x,y').length - 1;
  let runs = 0;
  const ready = async () => (printed() > runs ? (runs++, true) : false);
  const first = await supervisor.start({ name: 'agent-z', zone: 'z', command: node, args: ['-e', 'console.log("args " + process.argv.slice(1).join(",")); setInterval(() => {}, 1000)', 'x', 'y'], ready });
  process.kill(first.pid, 'SIGKILL');
  assert.ok(await waitFor(() => {
    const c = supervisor.list()[0]!;
    return c.pid !== first.pid && isAlive(c.pid) && lines.some((l) => l.startsWith('  restarted   agent-z'));
  }, 10_000), `restarted: ${lines.join('\n')}`);
  const now = supervisor.list()[0]!;
  assert.deepEqual({ restarts: now.restarts, lastExit: now.lastExit, zone: now.zone }, { restarts: 1, lastExit: 'signal SIGKILL', zone: 'z' });
  assert.equal(lines[0], '  restart     agent-z (exit signal SIGKILL), attempt 1');
  assert.ok(changes >= 2, 'a change for the new pid and one for ready');
  assert.deepEqual(gaveUp, []);
  assert.equal(printed(), 2, 'both runs got the same args, in one log');
});

test('a component that keeps exiting spends its budget and is then reported; the restarts are counted', async (t) => {
  const lines: string[] = [];
  const supervisor = new Supervisor(tempLogDir(t), { restart: FAST, print: (l) => lines.push(l) });
  t.after(() => supervisor.stopAll(1000));
  const gaveUp: string[] = [];
  supervisor.onExit((name, code) => gaveUp.push(`${name}:${code}`));
  await supervisor.start({ name: 'flaky', command: node, args: ['-e', 'setTimeout(() => process.exit(7), 150)'], ready: async () => true });
  assert.ok(await waitFor(() => gaveUp.length > 0, 10_000), lines.join('\n'));
  assert.deepEqual(gaveUp, ['flaky:7']);
  assert.equal(supervisor.list()[0]!.restarts, 2);
  assert.deepEqual(lines.filter((l) => l.includes('restart ')), ['  restart     flaky (exit code 7), attempt 1', '  restart     flaky (exit code 7), attempt 2']);
  assert.match(lines.at(-1)!, /^ {2}give up {5}flaky \(exit code 7\): it exited 3 times within 60s$/);
});

test('stopAll cancels a pending restart: nothing is spawned after it', async (t) => {
  const supervisor = new Supervisor(tempLogDir(t), { restart: { ...FAST, initialBackoffMs: 300 } });
  const a = await supervisor.start({ name: 'a', command: node, args: ['-e', 'setInterval(() => {}, 1000)'], ready: async () => true });
  const respawned = new Promise<void>((r) => supervisor.onChange(() => r()));
  process.kill(a.pid, 'SIGKILL');
  assert.ok(await waitFor(() => !isAlive(a.pid), 5000));
  await supervisor.stopAll(1000);
  const spawned = await Promise.race([respawned.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 600))]);
  assert.equal(spawned, false, 'no restart after stopAll');
});

test('a --kill hold kills a component and keeps it down without spending its budget; it restarts when the hold ends or is released', async (t) => {
  const holds: Hold[] = [];
  const lines: string[] = [];
  // A budget of 0: any exit the policy saw would stop the federation, so the held exits must not reach it.
  const supervisor = new Supervisor(tempLogDir(t), {
    restart: { initialBackoffMs: 10, maxBackoffMs: 10, budget: 0, windowMs: 60_000 }, print: (l) => lines.push(l), holdPollMs: 50,
    holds: { read: () => holds, remove: (h) => void holds.splice(holds.indexOf(h), 1) },
  });
  t.after(() => supervisor.stopAll(1000));
  let gaveUp = false;
  supervisor.onExit(() => (gaveUp = true));
  const first = await supervisor.start({ name: 'agent-a', command: node, args: ['-e', 'setInterval(() => {}, 1000)'], ready: async () => true });
  holds.push({ id: 'h1', component: 'agent-a', since: Date.now(), until: Date.now() + 800, kill: true });
  assert.ok(await waitFor(() => !isAlive(first.pid) && supervisor.list()[0]?.hold?.down === true, 5000), 'killed and kept down');
  assert.equal(supervisor.list()[0]?.pid, first.pid, 'not restarted while held');
  assert.ok(await waitFor(() => supervisor.list()[0]?.pid !== first.pid && isAlive(supervisor.list()[0]!.pid) && lines.some((l) => l.startsWith('  released')), 5000), 'restarted after the hold');
  const second = supervisor.list()[0]!;
  assert.equal(holds.length, 0, 'the expired hold was dropped');
  assert.equal(second.hold, undefined);
  assert.equal(second.restarts, 0, 'a held exit is not a restart');
  assert.match(lines.join('\n'), new RegExp(`^ {2}released {4}agent-a after \\d+\\.\\ds, restarted: pid ${second.pid}$`, 'm'));
  // A long hold, ended early by removing it (meshfed release).
  holds.push({ id: 'h2', component: 'agent-a', since: Date.now(), until: Date.now() + 60_000, kill: true });
  assert.ok(await waitFor(() => !isAlive(second.pid) && supervisor.list()[0]?.hold?.down === true, 5000), 'killed again');
  const releasedAt = Date.now();
  holds.length = 0;
  assert.ok(await waitFor(() => supervisor.list()[0]?.pid !== second.pid && isAlive(supervisor.list()[0]!.pid), 5000), 'restarted on release');
  assert.ok(Date.now() - releasedAt < 3000, 'promptly');
  assert.equal(gaveUp, false);
});

test('a component killed by a hold that is released before its exit comes in is started again, not charged to its budget', async (t) => {
  const hold: Hold = { id: 'h1', component: 'agent-a', since: Date.now(), until: Date.now() + 60_000, kill: true };
  let reads = 0;
  const lines: string[] = [];
  // The first poll sees the hold and kills; every later read finds it released.
  const supervisor = new Supervisor(tempLogDir(t), {
    restart: { initialBackoffMs: 10, maxBackoffMs: 10, budget: 0, windowMs: 60_000 }, print: (l) => lines.push(l), holdPollMs: 50,
    holds: { read: () => (reads++ === 0 ? [hold] : []), remove: () => {} },
  });
  t.after(() => supervisor.stopAll(1000));
  let gaveUp = false;
  supervisor.onExit(() => (gaveUp = true));
  const first = await supervisor.start({ name: 'agent-a', command: node, args: ['-e', 'setInterval(() => {}, 1000)'], ready: async () => true });
  assert.ok(await waitFor(() => supervisor.list()[0]?.pid !== first.pid && isAlive(supervisor.list()[0]!.pid) && lines.some((l) => l.startsWith('  released')), 5000), lines.join('\n'));
  assert.equal(isAlive(first.pid), false);
  assert.equal(gaveUp, false);
  assert.equal(supervisor.list()[0]?.restarts, 0);
});
