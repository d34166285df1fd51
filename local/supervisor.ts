// Starts, watches and stops the child processes of a local federation, each with its own log file.
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { MeshfedError } from '../common/errors.ts';

/** A component to start: a command, where its log goes, and how to know it is ready. */
export interface ComponentSpec {
  /** Unique, e.g. "global-lb-1" or "agent us-east-1a". */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Resolves true once the component serves; polled until the deadline. */
  readonly ready: () => Promise<boolean>;
  readonly readyTimeoutMs?: number;
}

export interface RunningComponent {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
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

/**
 * Owns a set of child processes. Invariant: every process it spawned is either running and listed, or has exited;
 * stopAll() leaves none alive (each child leads its own process group, which is signalled as a whole).
 */
export class Supervisor {
  readonly logDir: string;
  private readonly children = new Map<string, { proc: ChildProcess; logFile: string; exited: Promise<void> }>();
  private onUnexpectedExit: ((name: string, code: number | null, signal: string | null) => void) | undefined;
  private stopping = false;

  constructor(logDir: string) {
    this.logDir = logDir;
  }

  /** Called when a child exits while the federation is supposed to be running. */
  onExit(listener: (name: string, code: number | null, signal: string | null) => void): void {
    this.onUnexpectedExit = listener;
  }

  /** Spawns a component and waits until it is ready; throws StartError naming it and its log otherwise. */
  async start(spec: ComponentSpec): Promise<RunningComponent> {
    const logFile = join(this.logDir, `${spec.name.replace(/[^a-zA-Z0-9._-]+/g, '-')}.log`);
    const fd = openSync(logFile, 'a');
    const proc = spawn(spec.command, [...spec.args], {
      stdio: ['ignore', fd, fd],
      detached: true,
      env: { ...process.env, ...spec.env },
    });
    closeSync(fd);
    let exitInfo: { code: number | null; signal: string | null } | undefined;
    const exited = new Promise<void>((resolve) => {
      proc.once('exit', (code, signal) => {
        exitInfo = { code, signal };
        if (!this.stopping) this.onUnexpectedExit?.(spec.name, code, signal);
        resolve();
      });
      proc.once('error', () => resolve());
    });
    if (proc.pid === undefined) throw new StartError(spec.name, logFile, 'could not spawn');
    this.children.set(spec.name, { proc, logFile, exited });
    const deadline = Date.now() + (spec.readyTimeoutMs ?? 30_000);
    for (;;) {
      if (exitInfo) throw new StartError(spec.name, logFile, `exited with ${exitInfo.signal ?? `code ${exitInfo.code}`}`);
      if (await spec.ready().catch(() => false)) break;
      if (Date.now() > deadline) throw new StartError(spec.name, logFile, `not ready after ${spec.readyTimeoutMs ?? 30_000} ms`);
      await sleep(100);
    }
    return { name: spec.name, pid: proc.pid, logFile };
  }

  /** The running components, in start order. */
  list(): RunningComponent[] {
    return [...this.children].map(([name, c]) => ({ name, pid: c.proc.pid ?? -1, logFile: c.logFile }));
  }

  /** Stops every child in reverse start order: SIGTERM to its process group, SIGKILL after graceMs. */
  async stopAll(graceMs = 5000): Promise<void> {
    this.stopping = true;
    const all = [...this.children.values()].reverse();
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
