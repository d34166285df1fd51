// Starts, watches, restarts and stops the child processes of a local federation, each with its own log file.
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MeshfedError } from '../common/errors.ts';
import { DEFAULT_RESTART_POLICY, describeExit, RestartTracker, type RestartPolicy } from './restart-policy.ts';
import { decideHold, formatHeld, HOLD_POLL_MS, staleHolds, type HeldState, type Hold } from './holds.ts';

/** A component to start: a command, where its log goes, and how to know it is ready. */
export interface ComponentSpec {
  /** Unique, e.g. "global-lb-1" or "agent-us-east-1a". */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** The zone the component belongs to, when it has one (status sums restarts per zone). */
  readonly zone?: string;
  /** Resolves true once the component serves; polled until the deadline. */
  readonly ready: () => Promise<boolean>;
  readonly readyTimeoutMs?: number;
  /** Runs once a restarted component is ready again (e.g. to re-apply what it lost with its memory). */
  readonly afterRestart?: () => Promise<void>;
  /**
   * How often a first start whose process exits with "address already in use" in its log is tried again, same args,
   * after a short pause (default 0: such an exit fails the start). For servers that cannot move to fresh ports because
   * others already name them (an etcd member's peers list its peer URL): a port just released from the pool can be
   * bound for a moment by another process probing for a free one.
   */
  readonly busyPortRetries?: number;
}

export interface RunningComponent {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  readonly zone?: string;
  /** Restarts since the federation started. */
  readonly restarts: number;
  /** How the last exit went, e.g. "signal SIGKILL", when it restarted at least once. */
  readonly lastExit?: string;
  /** The hold in force (`meshfed hold`); `down` when the process is not running because of it (`pid` is then the last one). */
  readonly hold?: { readonly id: string; readonly since: number; readonly until: number; readonly kill: boolean; readonly down: boolean };
}

/** Where the supervisor finds holds (see local/holds.ts) and drops those that ended. */
export interface HoldSource {
  read(): readonly Hold[];
  remove(hold: Hold): void;
}

/** Why a component could not start. */
export class StartError extends MeshfedError {
  readonly component: string;
  readonly logFile: string;
  constructor(component: string, logFile: string, message: string) {
    super('MESHFED_E_UP_COMPONENT_FAILED', `${component} failed to start: ${message} (log: ${logFile})`);
    this.name = 'StartError';
    this.component = component;
    this.logFile = logFile;
  }
}

export interface SupervisorOptions {
  /** Backoff and budget for components that exit after they were ready (default DEFAULT_RESTART_POLICY). */
  readonly restart?: RestartPolicy;
  /** Prints one progress line (restarts, give-ups). */
  readonly print?: (line: string) => void;
  /** The clock of restart and hold decisions (injected by tests). */
  readonly now?: () => number;
  /** Holds to honour; read before every restart decision and every pollMs (default: none). */
  readonly holds?: HoldSource;
  readonly holdPollMs?: number;
}

/** How waiting for a started process ended. */
type ReadyOutcome = 'ready' | 'exited' | 'timeout' | 'stopping';

/** One supervised child. `initial` holds until it was first ready: an exit then is a failed start, not a crash. */
interface Child {
  readonly spec: ComponentSpec;
  readonly logFile: string;
  readonly tracker: RestartTracker;
  proc: ChildProcess;
  exited: Promise<void>;
  exitInfo: { code: number | null; signal: string | null } | undefined;
  initial: boolean;
  lastExit: string | undefined;
  timer: NodeJS.Timeout | undefined;
  /** Set while a hold keeps the process down (it exited, or was killed, under a hold): since when. */
  keptDown: number | undefined;
  /** The hold in force as last seen, for list(). */
  hold: Hold | undefined;
  /** Ids of --kill holds whose SIGKILL was sent. */
  readonly killed: Set<string>;
  /** The process a hold's SIGKILL went to: its exit is never charged to the budget, even if the hold is gone by then. */
  holdKilled: ChildProcess | undefined;
}

/**
 * Owns a set of child processes and restarts those that exit, with backoff, until one spends its restart budget.
 * Invariant: every process it spawned is either running and listed, waiting for its restart, or has exited;
 * stopAll() leaves none alive (each child leads its own process group, which is signalled as a whole) and cancels
 * pending restarts. A restarted component gets the same command, args and so the same ports.
 * Holds: a component with a hold in force is not restarted and its exits are not counted against its budget; it is
 * started again (same args) at the first poll that finds no hold for it.
 */
export class Supervisor {
  readonly logDir: string;
  private readonly children = new Map<string, Child>();
  private onGiveUp: ((name: string, code: number | null, signal: string | null) => void) | undefined;
  private onChanged: (() => void) | undefined;
  private stopping = false;
  private readonly policy: RestartPolicy;
  private readonly print: (line: string) => void;
  private readonly now: () => number;
  private readonly holds: HoldSource | undefined;
  private readonly holdTimer: NodeJS.Timeout | undefined;

  constructor(logDir: string, options: SupervisorOptions = {}) {
    this.logDir = logDir;
    this.policy = options.restart ?? DEFAULT_RESTART_POLICY;
    this.print = options.print ?? (() => {});
    this.now = options.now ?? Date.now;
    this.holds = options.holds;
    if (this.holds !== undefined) {
      this.holdTimer = setInterval(() => this.pollHolds(), options.holdPollMs ?? HOLD_POLL_MS);
      this.holdTimer.unref();
    }
  }

  /** Called when a component keeps failing (its restart budget is spent): the federation is then broken. */
  onExit(listener: (name: string, code: number | null, signal: string | null) => void): void {
    this.onGiveUp = listener;
  }

  /** Called whenever list() changes after start: a restart spawned a new pid, or a restarted component is ready. */
  onChange(listener: () => void): void {
    this.onChanged = listener;
  }

  /** Spawns a component and waits until it is ready; throws StartError naming it and its log otherwise. */
  async start(spec: ComponentSpec): Promise<RunningComponent> {
    const logFile = join(this.logDir, `${spec.name.replace(/[^a-zA-Z0-9._-]+/g, '-')}.log`);
    // spawn() fills in proc, exited and exitInfo before anything reads them.
    const child = {
      spec, logFile, tracker: new RestartTracker(this.policy), initial: true, lastExit: undefined, timer: undefined, keptDown: undefined, hold: undefined, killed: new Set<string>(), holdKilled: undefined,
    } as Partial<Child> as Child;
    this.children.set(spec.name, child);
    let outcome: ReadyOutcome;
    for (let attempt = 0; ; attempt++) {
      const logStart = fileSize(logFile);
      this.spawn(child);
      outcome = await this.waitReady(child);
      if (outcome !== 'exited' || attempt >= (spec.busyPortRetries ?? 0) || !ADDRESS_IN_USE.test(readFrom(logFile, logStart))) break;
      this.print(`  retry       ${spec.name}: a port was busy (address already in use); starting it again on the same ports`);
      await sleep(250 * (attempt + 1));
      // stopAll() signals the processes it finds: one spawned after it looked would outlive the federation.
      if (this.stopping) {
        outcome = 'stopping';
        break;
      }
    }
    if (outcome === 'exited') throw new StartError(spec.name, logFile, `exited with ${child.exitInfo?.signal ?? `code ${child.exitInfo?.code}`}`);
    if (outcome === 'timeout') throw new StartError(spec.name, logFile, `not ready after ${spec.readyTimeoutMs ?? 30_000} ms`);
    if (outcome === 'stopping') throw new StartError(spec.name, logFile, 'the federation was stopped while it started');
    child.initial = false;
    return this.describe(child);
  }

  /** Starts the child's process (again), its output appended to its log. */
  private spawn(child: Child): void {
    const { spec } = child;
    const fd = openSync(child.logFile, 'a');
    const proc = spawn(spec.command, [...spec.args], { stdio: ['ignore', fd, fd], detached: true, env: { ...process.env, ...spec.env } });
    closeSync(fd);
    child.proc = proc;
    child.exitInfo = undefined;
    child.exited = new Promise<void>((resolve) => {
      proc.once('exit', (code, signal) => {
        child.exitInfo = { code, signal };
        resolve();
        this.exitedOnItsOwn(child, proc, code, signal);
      });
      proc.once('error', (e) => {
        child.exitInfo ??= { code: null, signal: null };
        writeFileSync(child.logFile, `supervisor: cannot spawn ${spec.command}: ${e.message}\n`, { flag: 'a' });
        resolve();
      });
    });
  }

  /** Polls readiness until ready, the process exits, or the deadline passes. */
  private async waitReady(child: Child): Promise<ReadyOutcome> {
    const proc = child.proc;
    const deadline = Date.now() + (child.spec.readyTimeoutMs ?? 30_000);
    for (;;) {
      if (this.stopping) return 'stopping';
      if (child.exitInfo || child.proc !== proc) return 'exited';
      if (await child.spec.ready().catch(() => false)) return child.exitInfo ? 'exited' : 'ready';
      if (Date.now() > deadline) return 'timeout';
      await sleep(100);
    }
  }

  /** An exit nobody asked for: restart with backoff, or give up once the budget is spent. */
  private exitedOnItsOwn(child: Child, proc: ChildProcess, code: number | null, signal: string | null): void {
    if (this.stopping || child.initial || child.proc !== proc) return;
    const name = child.spec.name;
    child.lastExit = describeExit(code, signal);
    if (this.keepDownIfHeld(child, `exit ${child.lastExit}`)) return;
    if (child.holdKilled === proc) {
      // Killed by a hold that was released before the exit came in: the release means "start it again now".
      child.holdKilled = undefined;
      void this.restart(child, 0);
      return;
    }
    const decision = child.tracker.onExit(this.now());
    if (decision.kind === 'give-up') {
      this.print(`  give up     ${name} (exit ${child.lastExit}): it exited ${decision.restartsInWindow + 1} times within ${this.policy.windowMs / 1000}s`);
      this.onGiveUp?.(name, code, signal);
      return;
    }
    this.print(`  restart     ${name} (exit ${child.lastExit}), attempt ${decision.attempt}`);
    child.timer = setTimeout(() => void this.restart(child), decision.delayMs);
  }

  /** Spawns the child again on the same args; a restart that exits or never gets ready counts as another exit. */
  private async restart(child: Child, heldMs?: number): Promise<void> {
    child.timer = undefined;
    if (this.stopping) return;
    // A hold set during the backoff wins over the pending restart.
    if (heldMs === undefined && this.keepDownIfHeld(child, 'restart pending')) return;
    this.spawn(child);
    this.onChanged?.();
    const proc = child.proc;
    const outcome = await this.waitReady(child);
    if (outcome === 'ready') {
      if (heldMs !== undefined) this.print(`  released    ${child.spec.name} after ${formatHeld(heldMs)}, restarted: pid ${proc.pid}`);
      else this.print(`  restarted   ${child.spec.name}: pid ${proc.pid}, ready`);
      this.onChanged?.();
      await child.spec.afterRestart?.().catch((e: unknown) => this.print(`  warning     ${child.spec.name}: after restart: ${(e as Error).message}`));
    } else if (outcome === 'timeout') {
      this.print(`  restart     ${child.spec.name}: not ready after ${child.spec.readyTimeoutMs ?? 30_000} ms; killing it`);
      killGroup(proc.pid, 'SIGKILL'); // its exit goes through exitedOnItsOwn like any other
    }
  }

  /** Keeps an exited child down when a hold is in force (not counted against its budget); true when it did. */
  private keepDownIfHeld(child: Child, why: string): boolean {
    if (this.holds === undefined) return false;
    const now = this.now();
    const d = decideHold(this.readHolds(), child.spec.name, { kind: 'exited' }, now, child.killed);
    if (d.kind !== 'keep-down') return false;
    child.keptDown = now;
    child.hold = d.hold;
    this.print(`  held        ${child.spec.name} (${why}): kept down until ${new Date(d.until).toISOString()}`);
    this.onChanged?.();
    return true;
  }

  private readHolds(): readonly Hold[] {
    try {
      return this.holds?.read() ?? [];
    } catch {
      return [];
    }
  }

  /** One look at the holds: kill what a new --kill hold names, restart what a hold no longer keeps down, drop ended holds. */
  private pollHolds(): void {
    if (this.stopping || this.holds === undefined) return;
    const now = this.now();
    const holds = this.readHolds();
    let changed = false;
    for (const child of this.children.values()) {
      if (child.initial) continue;
      const state: HeldState = child.keptDown !== undefined ? { kind: 'kept-down', since: child.keptDown } : child.exitInfo ? { kind: 'exited' } : { kind: 'running' };
      const d = decideHold(holds, child.spec.name, state, now, child.killed);
      const hold = d.kind === 'keep-down' || d.kind === 'kill' ? d.hold : undefined;
      if (hold?.id !== child.hold?.id) {
        if (hold === undefined && child.hold !== undefined && d.kind === 'not-held') this.print(`  released    ${child.spec.name} after ${formatHeld(now - child.hold.since)} (it kept running)`);
        child.hold = hold;
        changed = true;
      }
      if (d.kind === 'kill') {
        child.killed.add(d.hold.id);
        this.print(`  hold        ${child.spec.name}: SIGKILL to pid ${child.proc.pid}, held until ${new Date(d.hold.until).toISOString()}`);
        child.holdKilled = child.proc;
        killGroup(child.proc.pid, 'SIGKILL'); // its exit finds the hold and keeps it down
      } else if (d.kind === 'restart-now') {
        child.keptDown = undefined;
        changed = true;
        void this.restart(child, d.heldMs);
      }
    }
    for (const h of staleHolds(holds, now)) this.holds.remove(h);
    if (changed) this.onChanged?.();
  }

  private describe(c: Child): RunningComponent {
    return {
      name: c.spec.name, pid: c.proc.pid ?? -1, logFile: c.logFile, restarts: c.tracker.total,
      ...(c.spec.zone !== undefined ? { zone: c.spec.zone } : {}), ...(c.lastExit !== undefined ? { lastExit: c.lastExit } : {}),
      ...(c.hold !== undefined ? { hold: { id: c.hold.id, since: c.hold.since, until: c.hold.until, kill: c.hold.kill, down: c.keptDown !== undefined } } : {}),
    };
  }

  /** The components, in start order, with their current pids. */
  list(): RunningComponent[] {
    return [...this.children.values()].map((c) => this.describe(c));
  }

  /** Stops every child in reverse start order: SIGTERM to its process group, SIGKILL after graceMs. No restarts after this. */
  async stopAll(graceMs = 5000): Promise<void> {
    this.stopping = true;
    clearInterval(this.holdTimer);
    const all = [...this.children.values()].reverse();
    for (const c of all) clearTimeout(c.timer);
    for (const c of all) killGroup(c.proc.pid, 'SIGTERM');
    const timeout = sleep(graceMs).then(() => 'timeout' as const);
    for (const c of all) {
      if ((await Promise.race([c.exited.then(() => 'done' as const), timeout])) === 'timeout') break;
    }
    for (const c of all) killGroup(c.proc.pid, 'SIGKILL');
    await Promise.all(all.map((c) => Promise.race([c.exited, sleep(1000)])));
    this.children.clear();
  }
}

/** What a server writes when its port is taken (Node: EADDRINUSE; Go, e.g. etcd: "bind: address already in use"). */
const ADDRESS_IN_USE = /address already in use|EADDRINUSE/;

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** What a file gained after `offset` (its last 64 KiB at most): what one attempt of a component wrote to its log. */
function readFrom(file: string, offset: number): string {
  try {
    const fd = openSync(file, 'r');
    try {
      const size = statSync(file).size;
      const from = Math.max(offset, size - 65_536);
      const buf = Buffer.alloc(Math.max(0, size - from));
      const n = readSync(fd, buf, 0, buf.length, from);
      return buf.subarray(0, n).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** Signals a whole process group, ignoring groups that are already gone. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** True when a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
