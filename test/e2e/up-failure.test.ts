// Failures under `meshfed up`: a component that cannot start stops it (named, log kept, nothing left running); a component killed later is restarted and the federation keeps serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, execFile } from 'node:child_process';
import { DEFAULT_TOPOLOGY } from '../../api/topology.ts';
import { buildPlan, DEFAULT_SHOP } from '../../local/plan.ts';
import { freePorts } from '../../local/ports.ts';
import { isAlive, killGroup, StartError } from '../../local/supervisor.ts';
import type { UpState } from '../../local/state.ts';
import { hopZones, type SampleReply } from '../../local/sample-app.ts';
import { CLI, httpOk as ok, until } from '../support/up-harness.ts';
import { startFederation } from '../../local/up.ts';

/** Pids of live processes whose command line mentions `needle`. */
function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

test('a gateway that cannot bind its port fails meshfed up, naming gateway-<zone> and its kept log; nothing is left running', { timeout: 120_000 }, async (t) => {
  const stateDir = mkdtempSync(join(tmpdir(), 'meshfed-up-fail-'));
  let blocker: Server | undefined;
  t.after(async () => {
    await new Promise<void>((r) => (blocker ? blocker.close(() => r()) : r()));
    rmSync(stateDir, { recursive: true, force: true });
  });
  let busyPort = 0;
  // The same plan up builds (one replica on the embedded store) tells which port is us-east-1a's gateway listener.
  const ports = async (n: number): Promise<number[]> => {
    const list = await freePorts(n);
    let i = 0;
    busyPort = buildPlan(DEFAULT_TOPOLOGY, DEFAULT_SHOP, 1, () => list[i++]!).zones.find((z) => z.zone === 'us-east-1a')!.gatewayPort;
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(busyPort, '127.0.0.1', () => resolve());
    });
    blocker = server;
    return list;
  };
  const lines: string[] = [];
  await assert.rejects(
    startFederation({ stateDir, topology: DEFAULT_TOPOLOGY, layout: DEFAULT_SHOP, print: (l) => lines.push(l), store: 'memory', ports }),
    (e: unknown) => {
      assert.ok(e instanceof StartError, `a StartError, got ${String(e)}`);
      assert.equal(e.component, 'gateway-us-east-1a');
      assert.match(e.message, /gateway-us-east-1a failed to start: exited with code \d+ \(log: .*gateway-us-east-1a\.log\)/);
      assert.ok(existsSync(e.logFile), 'the named log is kept');
      assert.match(readFileSync(e.logFile, 'utf8'), new RegExp(`EADDRINUSE.*${busyPort}|${busyPort}.*EADDRINUSE`));
      return true;
    },
  );
  assert.ok(busyPort > 0);
  assert.ok(lines.some((l) => l.startsWith('  agent       us-east-1a:')), 'the agent started before the gateway');
  assert.ok(!lines.some((l) => l.startsWith('  gateway     us-east-1a:') || l.startsWith('  shop        us-east-1a:')), `no gateway or shop reported ready: ${lines.join('\n')}`);
  assert.deepEqual(readdirSync(join(stateDir, 'run')), ['logs'], 'only the logs remain of the run directory');
  assert.equal(existsSync(join(stateDir, 'up.json')), false);
  // The balancer and the agent were started with paths under stateDir: none of them may survive.
  const deadline = Date.now() + 10_000;
  while (processesMentioning(stateDir).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(processesMentioning(stateDir), [], 'no process of the failed federation is left');
});

test('kill -9 of a zone agent and of one app instance under meshfed up: both restart (new pid in up.json, ready again), and the federation keeps serving', { timeout: 200_000 }, async (t) => {
  const stateDir = mkdtempSync(join(tmpdir(), 'meshfed-up-restart-'));
  const env: NodeJS.ProcessEnv = { ...process.env, MESHFED_STATE_DIR: stateDir };
  delete env['MESHFED_ADMIN'];
  let output = '';
  const child = spawn(process.execPath, [CLI, 'up', '--state-dir', stateDir, '--store', 'memory'], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  let exited = false;
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => { exited = true; r(code); }));
  const readState = () => JSON.parse(readFileSync(join(stateDir, 'up.json'), 'utf8')) as UpState;
  let seen: number[] = [];
  t.after(async () => {
    if (!exited) {
      killGroup(child.pid, 'SIGTERM');
      await Promise.race([exit, new Promise((r) => setTimeout(r, 20_000))]);
      killGroup(child.pid, 'SIGKILL');
    }
    for (const pid of seen) killGroup(pid, 'SIGKILL');
    rmSync(stateDir, { recursive: true, force: true });
  });
  await until('meshfed up to print "ready"', 150_000, () => {
    if (exited) throw new Error(`meshfed up exited early:\n${output}`);
    return /^ready$/m.test(output) ? true : undefined;
  });
  const before = readState();
  seen = before.components.map((c) => c.pid);
  const east = before.zones.find((z) => z.name === 'us-east-1a')!;
  const sidecar = east.sidecars.find((s) => s.instance === 'catalog-v1-0')!;
  assert.equal(sidecar.component, 'app-us-east-1a-catalog-v1-0');
  const pidOf = (state: UpState, name: string) => state.components.find((c) => c.name === name)?.pid;
  const agentPid = pidOf(before, 'agent-us-east-1a')!;
  const appPid = pidOf(before, sidecar.component)!;
  // Each instance is its own process: killing one catalog leaves its zone's other instances running.
  const siblings = before.components.filter((c) => c.zone === 'us-east-1a' && c.name.startsWith('app-') && c.name !== sidecar.component);
  assert.equal(siblings.length, 3);
  assert.ok(siblings.every((c) => c.pid !== appPid));

  process.kill(agentPid, 'SIGKILL');
  process.kill(appPid, 'SIGKILL');
  const after = await until('both to run again under new pids in up.json', 60_000, () => {
    const s = readState();
    const agent = s.components.find((c) => c.name === 'agent-us-east-1a')!;
    const app = s.components.find((c) => c.name === sidecar.component)!;
    seen = [...seen, agent.pid, app.pid];
    return agent.pid !== agentPid && app.pid !== appPid && isAlive(agent.pid) && isAlive(app.pid) && agent.restarts === 1 && app.restarts === 1 ? s : undefined;
  });
  assert.equal(after.components.find((c) => c.name === 'agent-us-east-1a')!.lastExit, 'signal SIGKILL');
  assert.ok(siblings.every((c) => pidOf(after, c.name) === c.pid && isAlive(c.pid)), 'the other instances were not restarted');
  await until('the agent to be ready again', 30_000, async () => ((await ok(`${east.agentAdminUrl}/healthz`)) ? true : undefined));
  await until('the restarted sidecar to be ready again', 60_000, async () => ((await ok(`${sidecar.adminUrl}/ready`)) ? true : undefined));
  assert.match(output, /^ {2}restart {5}agent-us-east-1a \(exit signal SIGKILL\), attempt 1$/m);
  assert.match(output, /^ {2}restart {5}app-us-east-1a-catalog-v1-0 \(exit signal SIGKILL\), attempt 1$/m);

  // Still serving through the whole chain, and the restarted catalog instance takes requests again.
  await until('a request served by the restarted catalog-v1-0', 60_000, async () => {
    const res = await fetch(east.frontendUrl!, { signal: AbortSignal.timeout(5000) });
    if (res.status !== 200) return undefined;
    const reply = (await res.json()) as SampleReply;
    const catalog = reply.upstream as SampleReply | undefined;
    return hopZones(reply).length === 3 && catalog?.zone === 'us-east-1a' && catalog.instance === 'catalog-v1-0' ? true : undefined;
  });
  const statuses: number[] = [];
  for (let i = 0; i < 30; i++) statuses.push((await fetch(east.frontendUrl!, { signal: AbortSignal.timeout(5000) }).then(async (r) => (await r.arrayBuffer(), r.status)).catch(() => 0)));
  assert.deepEqual(statuses.filter((s) => s !== 200), [], 'every request succeeds after the restarts');
  const status = await new Promise<string>((r) => execFile(process.execPath, [CLI, 'status', '--state-dir', stateDir], { env }, (_e, stdout) => r(stdout)));
  assert.match(status, /us-east-1a .* 2 \(agent 1, catalog-v1-0 1\)/, status);
  assert.equal(exited, false, 'meshfed up is still running');

  child.kill('SIGTERM');
  assert.equal(await exit, 0);
  assert.equal(existsSync(join(stateDir, 'up.json')), false);
  await until('no process of the federation left', 10_000, () => (processesMentioning(stateDir).length === 0 ? true : undefined));
});
