// A component that cannot start (here a zone's gateway whose port is taken) stops `meshfed up`: it is named with its log, which is kept, and nothing is left running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TOPOLOGY } from '../../api/topology.ts';
import { buildPlan, DEFAULT_SHOP } from '../../local/plan.ts';
import { freePorts } from '../../local/ports.ts';
import { StartError } from '../../local/supervisor.ts';
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
