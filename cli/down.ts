// `meshfed down`: stops the federation `meshfed up` started (from its up.json) and removes its temporary state.
import { setTimeout as sleep } from 'node:timers/promises';
import { rmSync } from 'node:fs';
import { parseCommand } from './args.ts';
import { defaultStateDir, readUpState, upStatePath } from '../local/state.ts';
import { isAlive, killGroup } from '../local/supervisor.ts';

const spec = {
  name: 'down',
  summary: 'stop the federation started by `meshfed up` (every process it started) and remove its temporary state',
  usage: 'meshfed down [--state-dir DIR]',
  options: {
    'state-dir': { type: 'string', value: 'DIR', description: 'the state directory meshfed up used', default: defaultStateDir() },
  },
  details: 'Asks `meshfed up` to stop (SIGTERM), then ends any process of the recorded ones still alive. The trust root is kept.\nExit codes: 0 stopped or nothing was running, 1 a process could not be stopped, 2 usage error.',
} as const;

async function waitGone(pids: readonly number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const alive = pids.filter(isAlive);
    if (alive.length === 0 || Date.now() > deadline) return alive;
    await sleep(100);
  }
}

export async function run(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const stateDir = parsed.values['state-dir'];
  const state = readUpState(stateDir);
  if (!state) {
    process.stdout.write(`nothing to stop: no ${upStatePath(stateDir)}\n`);
    return 0;
  }
  const pids = state.components.map((c) => c.pid);
  // The up process stops its children in order and cleans up; the rest is a fallback for when it is gone or stuck.
  if (isAlive(state.pid)) {
    process.kill(state.pid, 'SIGTERM');
    await waitGone([state.pid], 30_000);
  }
  let alive = await waitGone(pids, 1000);
  for (const pid of alive) killGroup(pid, 'SIGTERM');
  alive = await waitGone(alive, 5000);
  for (const pid of alive) killGroup(pid, 'SIGKILL');
  if (isAlive(state.pid)) killGroup(state.pid, 'SIGKILL');
  alive = await waitGone([...alive, state.pid], 3000);
  rmSync(state.runDir, { recursive: true, force: true });
  rmSync(upStatePath(stateDir), { force: true });
  if (alive.length > 0) {
    process.stderr.write(`meshfed down: MESHFED_E_DOWN_STUCK: could not stop pid(s) ${alive.join(', ')}\n`);
    return 1;
  }
  process.stdout.write(`stopped ${pids.length + 1} processes; removed ${state.runDir} (trust root kept)\n`);
  return 0;
}
