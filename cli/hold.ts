// `meshfed hold` and `meshfed release`: keep components of a running `meshfed up` down for a while (fault tests), and let them come back.
import { setTimeout as sleep } from 'node:timers/promises';
import { parseCommand, parseDuration, UsageError } from './args.ts';
import { defaultStateDir, readUpState, readUpStateQuiet, type UpState } from '../local/state.ts';
import { formatHeld, holdsDir, matchComponents, MAX_HOLD_MS, MIN_HOLD_MS, readHolds, removeHold, writeHold, type Hold } from '../local/holds.ts';
import { isAlive } from '../local/supervisor.ts';
import { localError } from '../local/errors.ts';

/** How long the CLI waits for `meshfed up` to show a hold or release applied in up.json. */
const ACK_TIMEOUT_MS = 10_000;

const CHANNEL = `A hold is a file under <state-dir>/run/holds/ that meshfed up reads before it restarts anything and polls
every 250 ms; it shows the hold applied in up.json (components[].hold), which this command waits for.`;

const holdSpec = {
  name: 'hold',
  summary: 'keep components of `meshfed up` down (not restarted) for a while; --kill also kills them',
  usage: 'meshfed hold COMPONENT... --for DURATION [--kill] [--state-dir DIR]',
  allowPositionals: true,
  options: {
    for: { type: 'string', value: 'DURATION', description: `how long the hold lasts, ${MIN_HOLD_MS / 1000}s to ${MAX_HOLD_MS / 3_600_000}h (required: a hold always ends by itself)` },
    kill: { type: 'boolean', description: 'also SIGKILL the components now (else they stay up, but are not restarted if they exit)' },
    'state-dir': { type: 'string', value: 'DIR', description: 'where meshfed up wrote up.json', default: defaultStateDir() },
  },
  details: `COMPONENT is a name from up.json (meshfed status -o json): agent-<zone>, gateway-<zone>, global-lb-<n>,
app-<zone>-<instance>; a trailing * matches a prefix, e.g. 'app-us-east-1a-catalog-*' (quote it for the shell).
While held, a component is not restarted and its exits do not count against its restart budget; when the hold
expires (or meshfed release ends it), meshfed up starts it again with the same args and ports. A newer hold of a
component replaces an older one.
${CHANNEL}
Example: meshfed hold 'app-us-east-1a-catalog-*' --for 10s --kill
Exit codes: 0 applied, 1 meshfed up not running or did not apply it in ${ACK_TIMEOUT_MS / 1000}s, 2 usage error (unknown component, bad --for).`,
} as const;

const releaseSpec = {
  name: 'release',
  summary: 'end holds set by `meshfed hold`: `meshfed up` restarts the components at once',
  usage: 'meshfed release COMPONENT... [--state-dir DIR]',
  allowPositionals: true,
  options: {
    'state-dir': { type: 'string', value: 'DIR', description: 'where meshfed up wrote up.json', default: defaultStateDir() },
  },
  details: `COMPONENT as for meshfed hold (a trailing * matches a prefix). Removes the components' hold files; a
component the hold kept down is started again within 250 ms. A component that is not held is left alone.
${CHANNEL}
Exit codes: 0 released (or was not held), 1 meshfed up not running or did not apply it in ${ACK_TIMEOUT_MS / 1000}s, 2 usage error.`,
} as const;

/** The running federation's state and the components named by `patterns`; usage errors for anything else. */
function resolveTargets(stateDir: string, patterns: readonly string[]): { state: UpState; names: string[] } {
  if (patterns.length === 0) throw new UsageError('give at least one component (e.g. agent-us-east-1a or app-us-east-1a-catalog-*)');
  const state = readUpState(stateDir);
  if (!state) throw new UsageError(`no federation found (${stateDir}/up.json); start one with meshfed up`);
  // Every component is supervised, etcd members (etcd-K) too, so any of them can be held.
  const known = state.components.map((c) => c.name);
  const { matched, unknown } = matchComponents(patterns, known);
  if (unknown.length > 0) throw new UsageError(`unknown component${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')} (components: ${known.join(', ')})`);
  if (!isAlive(state.pid)) throw localError('MESHFED_E_HOLD_NOT_APPLIED', `meshfed up (pid ${state.pid} in ${stateDir}/up.json) is not running`);
  return { state, names: matched };
}

/** Polls up.json until `applied` holds for it; throws MESHFED_E_HOLD_NOT_APPLIED after ACK_TIMEOUT_MS. */
async function waitApplied(stateDir: string, what: string, applied: (s: UpState) => boolean): Promise<UpState> {
  const deadline = Date.now() + ACK_TIMEOUT_MS;
  for (;;) {
    const s = readUpStateQuiet(stateDir); // undefined mid-rename: look again
    if (s !== undefined && applied(s)) return s;
    if (s === undefined || !isAlive(s.pid)) throw localError('MESHFED_E_HOLD_NOT_APPLIED', `meshfed up stopped before it applied ${what}`);
    if (Date.now() > deadline) throw localError('MESHFED_E_HOLD_NOT_APPLIED', `meshfed up did not apply ${what} within ${ACK_TIMEOUT_MS / 1000}s (see its output)`);
    await sleep(100);
  }
}

/** `meshfed hold`. */
export async function run(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(holdSpec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  if (v.for === undefined) throw new UsageError('--for DURATION is required (1s to 1h): a hold always ends by itself');
  const forMs = parseDuration(v.for, 'for');
  if (forMs < MIN_HOLD_MS || forMs > MAX_HOLD_MS) throw new UsageError(`--for: "${v.for}" is not between 1s and 1h`);
  const kill = v.kill === true;
  const stateDir = v['state-dir'];
  const { state, names } = resolveTargets(stateDir, parsed.positionals);
  const dir = holdsDir(state.runDir);
  const now = Date.now();
  const holds = names.map((n) => writeHold(dir, n, now, forMs, kill));
  const before = new Map(state.components.map((c) => [c.name, c.pid]));
  const after = await waitApplied(stateDir, `the hold of ${names.join(', ')}`, (s) => holds.every((h) => {
    const c = s.components.find((x) => x.name === h.component);
    return c?.hold?.id === h.id && (!kill || c.hold.down);
  }));
  for (const h of holds) {
    const c = after.components.find((x) => x.name === h.component);
    const how = kill ? `killed pid ${before.get(h.component)}` : c?.hold?.down ? 'down' : `pid ${c?.pid} left running`;
    process.stdout.write(`held      ${h.component} for ${formatHeld(forMs)} (${how}), until ${new Date(h.until).toISOString()}\n`);
  }
  return 0;
}

/** `meshfed release`. */
export async function runRelease(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(releaseSpec, argv);
  if (!parsed) return 0;
  const stateDir = parsed.values['state-dir'];
  const { state, names } = resolveTargets(stateDir, parsed.positionals);
  const dir = holdsDir(state.runDir);
  const all = readHolds(dir);
  const removed = new Map<string, Hold[]>();
  for (const n of names) {
    const mine = all.filter((h) => h.component === n);
    for (const h of mine) removeHold(dir, h);
    if (mine.length > 0 || state.components.find((c) => c.name === n)?.hold !== undefined) removed.set(n, mine);
    else process.stdout.write(`not held  ${n}\n`);
  }
  if (removed.size === 0) return 0;
  const wasDown = new Map(state.components.map((c) => [c.name, c.hold?.down === true]));
  await waitApplied(stateDir, `the release of ${[...removed.keys()].join(', ')}`, (s) => [...removed.keys()].every((n) => s.components.find((c) => c.name === n)?.hold === undefined));
  const now = Date.now();
  for (const [n, holds] of removed) {
    const since = Math.max(...holds.map((h) => h.since), 0);
    const held = since > 0 ? ` after ${formatHeld(now - since)}` : '';
    process.stdout.write(`released  ${n}${held}${wasDown.get(n) ? '; meshfed up is starting it again' : ''}\n`);
  }
  return 0;
}
