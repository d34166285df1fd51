// Starts and supervises one HAProxy in master-worker mode: config check, start, wait ready, seamless reload, stop; names HAProxy's own error line.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../common/logger.ts';
import { proxyError } from './errors.ts';
import { parseInfo, runtimeCommand } from './runtime-api.ts';

/** The haproxy binary: $MESHFED_HAPROXY_BIN or `haproxy` on PATH (Debian: /usr/sbin/haproxy). */
export function haproxyBinary(): string {
  return process.env['MESHFED_HAPROXY_BIN'] ?? (spawnSync('sh', ['-c', 'command -v haproxy || ls /usr/sbin/haproxy'], { encoding: 'utf8' }).stdout.trim().split('\n')[0] || 'haproxy');
}

/** HAProxy's first ALERT line (what it says went wrong), else its last non-empty line. */
export function alertLine(output: string): string | undefined {
  const lines = output.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines.find((l) => l.includes('[ALERT]')) ?? lines.at(-1);
}

/** `haproxy -c`: undefined when the file is valid, else HAProxy's own error line. */
export function checkConfig(bin: string, configFile: string): string | undefined {
  const r = spawnSync(bin, ['-c', '-f', configFile], { encoding: 'utf8' });
  if (r.error) throw proxyError('MESHFED_E_PROXY_BINARY_MISSING', `${bin} does not run (${r.error.message}); install it (apt-get install -y haproxy) or set MESHFED_HAPROXY_BIN`);
  return r.status === 0 ? undefined : (alertLine(`${r.stderr}\n${r.stdout}`) ?? `haproxy -c exited with ${r.status}`);
}

/** A running HAProxy master and its worker. */
export interface HaproxyProcess {
  readonly masterPid: number;
  /** The current worker's pid (`show info` Pid). */
  workerPid(): Promise<number>;
  /** The master's reload counter (`show proc`). */
  reloads(): Promise<number>;
  /** Re-reads the config file (checked first) with a seamless reload: listeners pass to the new worker, the old one finishes its requests. */
  reload(): Promise<void>;
  /** Resolves when the master exits, with its output tail. */
  readonly exited: Promise<string>;
  stop(): Promise<void>;
}

export interface HaproxyOptions {
  readonly bin: string;
  readonly configFile: string;
  readonly adminSocket: string;
  readonly masterSocket: string;
  readonly logger: Logger;
  readonly readyTimeoutMs?: number;
}

/** Sends one command to the master CLI (it answers, then closes on `quit`). */
function masterCommand(socket: string, command: string): Promise<string> {
  return runtimeCommand(socket, `${command}; quit`);
}

/** Parses the master's `show proc`: the master line's reload count. */
export function reloadsOf(showProc: string): number | undefined {
  const m = /^\s*\d+\s+master\s+(\d+)/m.exec(showProc);
  return m ? Number(m[1]) : undefined;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, gone: () => string | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = gone();
    if (dead !== undefined) throw proxyError('MESHFED_E_PROXY_START_FAILED', dead);
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw proxyError('MESHFED_E_PROXY_START_FAILED', `HAProxy did not ${what} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/**
 * Checks the config, starts `haproxy -W -db` (master-worker, foreground; a worker leaves when its master dies, so
 * a SIGKILLed adapter's process group takes HAProxy with it) and waits until the Runtime API answers. Throws
 * MESHFED_E_PROXY_START_FAILED with HAProxy's own error line when it refuses the config or exits.
 */
export async function startHaproxy(o: HaproxyOptions): Promise<HaproxyProcess> {
  const bad = checkConfig(o.bin, o.configFile);
  if (bad !== undefined) throw proxyError('MESHFED_E_PROXY_START_FAILED', `HAProxy refused ${o.configFile}: ${bad}`);
  const child: ChildProcess = spawn(o.bin, ['-W', '-db', '-f', o.configFile, '-S', `${o.masterSocket},mode,600`], { stdio: ['ignore', 'pipe', 'pipe'] });
  // An adapter that exits on its own (a crash, not a signal to its group) must not leave HAProxy holding its ports.
  const orphanGuard = () => child.kill('SIGKILL');
  process.once('exit', orphanGuard);
  child.once('exit', () => process.off('exit', orphanGuard));
  let output = '';
  let exitedWith: string | undefined;
  const collect = (c: Buffer) => {
    output = (output + c.toString('utf8')).slice(-16_000);
    for (const line of c.toString('utf8').split('\n')) if (line.includes('[ALERT]') || line.includes('[WARNING]')) o.logger.warn({ haproxy: line.trim() }, 'haproxy');
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<string>((resolve) => {
    child.on('exit', (code, signal) => {
      exitedWith = `HAProxy exited (${signal ?? `code ${code}`}): ${alertLine(output) ?? 'no output'}`;
      resolve(exitedWith);
    });
    child.on('error', (e) => {
      exitedWith = `${o.bin} did not start: ${e.message}`;
      resolve(exitedWith);
    });
  });
  const workerPid = async () => Number(parseInfo(await runtimeCommand(o.adminSocket, 'show info'))['Pid']);
  try {
    await waitFor('answer on its Runtime API socket', o.readyTimeoutMs ?? 10_000, async () => ((await workerPid()) > 0 ? true : undefined), () => exitedWith);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  const reloads = async () => reloadsOf(await masterCommand(o.masterSocket, 'show proc')) ?? 0;
  return {
    masterPid: child.pid!,
    workerPid,
    reloads,
    exited,
    async reload() {
      const invalid = checkConfig(o.bin, o.configFile);
      if (invalid !== undefined) throw proxyError('MESHFED_E_PROXY_START_FAILED', `HAProxy refused the new ${o.configFile}; keeping the running one: ${invalid}`);
      const before = await reloads();
      const oldPid = await workerPid();
      await masterCommand(o.masterSocket, 'reload');
      await waitFor('take the reload', 10_000, async () => ((await reloads()) > before && (await workerPid()) !== oldPid ? true : undefined), () => exitedWith);
    },
    async stop() {
      if (exitedWith !== undefined) return;
      child.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]);
      if (!done) child.kill('SIGKILL');
      await exited;
    },
  };
}
