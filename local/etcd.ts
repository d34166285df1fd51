// etcd on loopback: the flags of one member of a cluster (shared by every etcd we start), and a single-member etcd for the tests.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { freePorts } from './ports.ts';
import { spawnSync } from 'node:child_process';

export interface StartEtcdOptions {
  /** The etcd binary; default `etcd` on PATH (or MESHFED_ETCD_BIN). */
  readonly binary?: string;
  /** How long to wait for etcd to answer /health; default 30 s. */
  readonly readyTimeoutMs?: number;
  /** Extra command-line flags, appended last. */
  readonly extraArgs?: readonly string[];
  /** Parent of the data dir (a fresh sub-directory is made in it); default the OS temp dir. */
  readonly parentDir?: string;
  /**
   * Where etcd's output goes (appended). Without it, stderr is piped into this process: fine for tests, but a
   * process that outlives its parent (as under `meshfed up`) would die on its next log line once the pipe is gone.
   */
  readonly logFile?: string;
  /** Serve https and require client (and peer) certificates under tls.ca; /health moves to a plain-HTTP metrics port. */
  readonly tls?: EtcdServerTls;
}

/** A running etcd for a test. Every method waits until the change has taken effect. */
export interface EtcdServer {
  /** Client URLs, e.g. ["http://127.0.0.1:40123"]; pass to EtcdStore / openStore({ kind: 'etcd', endpoints }). */
  readonly endpoints: readonly string[];
  /** Where /health answers without a client certificate (etcdHealthUrl). */
  readonly healthUrl: string;
  /** The data dir (kept across kill/restart, removed by stop). */
  readonly dataDir: string;
  /** The running process id, or undefined while stopped. */
  pid(): number | undefined;
  /** Terminates etcd (SIGTERM, then SIGKILL after 10 s) and removes the data dir. Idempotent. */
  stop(): Promise<void>;
  /** Sends a terminating signal (default SIGKILL) and waits for the exit; the data dir is kept for restart(). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops etcd if it runs (SIGTERM) and starts it again on the same ports and data dir; resolves when healthy. */
  restart(): Promise<void>;
  /** Freezes the process (SIGSTOP) and resolves once every thread has stopped: connections stay open, nothing answers. */
  pause(): Promise<void>;
  /** Thaws a paused process (SIGCONT). */
  resume(): Promise<void>;
}

/** One member of a loopback etcd cluster: its name and ports (where its data lives is the caller's choice). */
export interface EtcdMemberAddress {
  /** Unique in the cluster, e.g. "etcd-2"; `meshfed up` uses it as the supervised component's name too. */
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  /** Plain-HTTP /health and /metrics, apart from the client port (which, under TLS, answers only certificate holders). */
  readonly metricsPort?: number;
  /** Client and peer URLs are https, and both require a certificate under the member's CA (EtcdServerTls). */
  readonly tls?: boolean;
}

/** The files a member serves TLS with: its certificate and key, and the CA its clients' and peers' certificates must chain to. */
export interface EtcdServerTls {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** Raft timing of a member, in milliseconds. */
export interface EtcdTiming {
  readonly heartbeatMs: number;
  readonly electionMs: number;
}

/**
 * The Raft timing for a cluster of `members`. One member elects itself with no peers to hear from, so 50/250 keeps it
 * fast and lets leases as short as 1 s be honoured. Several members must hear each other's heartbeats through a
 * loaded 2-core host: at 50/250 a member starved for a quarter second calls an election and the leader flaps, so a
 * cluster gets 100/1000 (measured: see docs/configuration.md, `--etcd-members`).
 */
export function etcdTiming(members: number): EtcdTiming {
  return members <= 1 ? { heartbeatMs: 50, electionMs: 250 } : { heartbeatMs: 100, electionMs: 1000 };
}

/** The URL clients reach a member at. */
export function etcdClientUrl(m: EtcdMemberAddress): string {
  return `${m.tls ? 'https' : 'http'}://127.0.0.1:${m.clientPort}`;
}

/** The URL the other members reach a member at. */
export function etcdPeerUrl(m: EtcdMemberAddress): string {
  return `${m.tls ? 'https' : 'http'}://127.0.0.1:${m.peerPort}`;
}

/** Where a member answers /health without a client certificate: its metrics port when it has one, else its client URL. */
export function etcdHealthUrl(m: EtcdMemberAddress): string {
  return m.metricsPort !== undefined ? `http://127.0.0.1:${m.metricsPort}` : etcdClientUrl(m);
}

/** `--initial-cluster`: every member by name and peer URL, "etcd-1=http://127.0.0.1:P1,etcd-2=...". */
export function etcdInitialCluster(cluster: readonly EtcdMemberAddress[]): string {
  return cluster.map((m) => `${m.name}=${etcdPeerUrl(m)}`).join(',');
}

export interface EtcdMemberArgsOptions {
  readonly dataDir: string;
  /** `--initial-cluster-token`: distinct per cluster, so members of two clusters never take each other for peers. */
  readonly clusterToken: string;
  /** Default etcdTiming(cluster.length). */
  readonly timing?: EtcdTiming;
  /** Extra command-line flags, appended last (etcd takes the last of a repeated flag). */
  readonly extraArgs?: readonly string[];
  /** Required when member.tls: what the member serves and which CA its clients and peers must be under. */
  readonly tls?: EtcdServerTls;
}

/**
 * The command line of one member of `cluster`, on loopback. `--initial-cluster-state new` only matters on the first
 * start: etcd ignores it (and `--initial-cluster`) once the data dir holds a member, so a restart on the same data
 * dir and ports rejoins the cluster it formed.
 */
export function etcdMemberArgs(member: EtcdMemberAddress, cluster: readonly EtcdMemberAddress[], options: EtcdMemberArgsOptions): string[] {
  const names = cluster.map((m) => m.name);
  if (!names.includes(member.name)) throw new Error(`etcd member ${member.name} is not in its cluster (${names.join(', ')})`);
  if (new Set(names).size !== names.length) throw new Error(`etcd member names repeat: ${names.join(', ')}`);
  const timing = options.timing ?? etcdTiming(cluster.length);
  const clientUrl = etcdClientUrl(member);
  const peerUrl = etcdPeerUrl(member);
  if (cluster.some((m) => Boolean(m.tls) !== Boolean(member.tls))) throw new Error('etcd members of one cluster all use TLS or none does');
  if (member.tls && options.tls === undefined) throw new Error(`etcd member ${member.name} uses TLS: give its certificate files`);
  const tls = member.tls && options.tls ? [
    '--client-cert-auth', '--trusted-ca-file', options.tls.ca, '--cert-file', options.tls.cert, '--key-file', options.tls.key,
    '--peer-client-cert-auth', '--peer-trusted-ca-file', options.tls.ca, '--peer-cert-file', options.tls.cert, '--peer-key-file', options.tls.key,
  ] : [];
  return [
    '--name', member.name,
    '--data-dir', options.dataDir,
    '--listen-client-urls', clientUrl,
    '--advertise-client-urls', clientUrl,
    '--listen-peer-urls', peerUrl,
    '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', etcdInitialCluster(cluster),
    '--initial-cluster-token', options.clusterToken,
    '--initial-cluster-state', 'new',
    '--heartbeat-interval', String(timing.heartbeatMs),
    '--election-timeout', String(timing.electionMs),
    '--grpc-keepalive-min-time', '1s',
    '--logger', 'zap',
    '--log-level', 'error',
    ...(member.metricsPort !== undefined ? ['--listen-metrics-urls', etcdHealthUrl(member)] : []),
    ...tls,
    ...(options.extraArgs ?? []),
  ];
}

/** The etcd binary: MESHFED_ETCD_BIN, else `etcd` on PATH. */
export function etcdBinary(): string {
  return process.env['MESHFED_ETCD_BIN'] ?? 'etcd';
}

/** True when the member at `healthUrl` (etcdHealthUrl) answers /health with {"health":"true"} (its cluster has a leader). */
export async function etcdHealthy(healthUrl: string, timeoutMs = 1_000): Promise<boolean> {
  try {
    const res = await fetch(`${healthUrl}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json()) as { health?: unknown };
    return body.health === 'true';
  } catch {
    return false; // not listening yet, or no leader
  }
}

const live = new Set<{ child: ChildProcess | undefined; dataDir: string }>();
let exitHookInstalled = false;

/** Kills every etcd this process started and removes their data dirs, even when a test crashed. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const e of live) {
      try {
        e.child?.kill('SIGKILL');
      } catch {
        // already gone
      }
      rmSync(e.dataDir, { recursive: true, force: true });
    }
  });
}

/**
 * Starts a single-member etcd on free loopback ports (client and peer) with a fresh data dir and waits until it
 * answers; its flags are etcdMemberArgs' for a cluster of one (heartbeat 50 ms / election 250 ms).
 */
export async function startEtcd(options: StartEtcdOptions = {}): Promise<EtcdServer> {
  installExitHook();
  const binary = options.binary ?? etcdBinary();
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  if (options.parentDir !== undefined) mkdirSync(options.parentDir, { recursive: true });
  const dataDir = mkdtempSync(join(options.parentDir ?? tmpdir(), 'meshfed-etcd-'));
  const entry: { child: ChildProcess | undefined; dataDir: string } = { child: undefined, dataDir };
  live.add(entry);
  let clientUrl = '';
  let healthUrl = '';
  let args: string[] = [];
  let stderr = '';

  // The recent output, from the pipe or from the end of the log file.
  const output = (): string => {
    if (options.logFile === undefined) return stderr;
    try {
      return readFileSync(options.logFile, 'utf8').slice(-4000) + stderr;
    } catch {
      return stderr;
    }
  };

  const launch = async (): Promise<void> => {
    stderr = '';
    const logFd = options.logFile !== undefined ? openSync(options.logFile, 'a') : undefined;
    const child = spawn(binary, args, { stdio: logFd !== undefined ? ['ignore', logFd, logFd] : ['ignore', 'ignore', 'pipe'] });
    if (logFd !== undefined) closeSync(logFd);
    entry.child = child;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    child.once('error', (e) => {
      exited = true;
      stderr += `\nspawn ${binary}: ${e.message}`;
    });
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (exited) throw new Error(`etcd exited before it was ready:\n${output()}`);
      if (await etcdHealthy(healthUrl)) return;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`etcd did not become healthy within ${readyTimeoutMs} ms:\n${output()}`);
      }
      await sleep(50);
    }
  };

  const waitExit = (signal: NodeJS.Signals): Promise<void> => {
    const child = entry.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
      entry.child = undefined;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(force);
        entry.child = undefined;
        resolve();
      });
      // A stopped process cannot act on SIGTERM until it is continued.
      child.kill('SIGCONT');
      child.kill(signal);
    });
  };

  // Ports may be taken between probing and binding: retry with fresh ones.
  for (let attempt = 1; ; attempt++) {
    const [clientPort, peerPort, metricsPort] = await freePorts(options.tls ? 3 : 2);
    const member: EtcdMemberAddress = { name: 'meshfed-test', clientPort: clientPort!, peerPort: peerPort!, ...(options.tls ? { tls: true, metricsPort: metricsPort! } : {}) };
    clientUrl = etcdClientUrl(member);
    healthUrl = etcdHealthUrl(member);
    args = etcdMemberArgs(member, [member], { dataDir, clusterToken: 'meshfed-test', extraArgs: options.extraArgs, ...(options.tls ? { tls: options.tls } : {}) });
    try {
      await launch();
      break;
    } catch (e) {
      await waitExit('SIGKILL');
      if (attempt >= 3 || !/address already in use/.test(String(e))) {
        live.delete(entry);
        rmSync(dataDir, { recursive: true, force: true });
        throw e;
      }
      rmSync(dataDir, { recursive: true, force: true });
    }
  }

  return {
    endpoints: Object.freeze([clientUrl]),
    healthUrl,
    dataDir,
    pid: () => entry.child?.pid,
    async stop() {
      await waitExit('SIGTERM');
      live.delete(entry);
      rmSync(dataDir, { recursive: true, force: true });
    },
    kill: (signal = 'SIGKILL') => waitExit(signal),
    async restart() {
      await waitExit('SIGTERM');
      await launch();
    },
    async pause() {
      const pid = entry.child?.pid;
      entry.child?.kill('SIGSTOP');
      // Signals are delivered asynchronously: a request racing the signal could still be answered.
      if (pid !== undefined) await waitForState(pid, (state) => state === 'T' || state === 't');
    },
    async resume() {
      const pid = entry.child?.pid;
      entry.child?.kill('SIGCONT');
      if (pid !== undefined) await waitForState(pid, (state) => state !== 'T' && state !== 't');
    },
  };
}

/**
 * Polls the state letters (R, S, T, ...) of every thread in /proc/<pid>/task until they all match, so a SIGSTOP has
 * reached every thread of etcd before pause() returns. Gives up quietly where there is no procfs.
 */
async function waitForState(pid: number, matches: (state: string) => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let states: string[];
    try {
      states = readdirSync(`/proc/${pid}/task`).map((tid) => {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        // The command name is in parentheses and may contain spaces; the state follows the closing one.
        const end = stat.lastIndexOf(')');
        return stat.slice(end + 2, end + 3);
      });
    } catch {
      return; // no procfs, or the process (or a thread) is gone
    }
    if (states.every(matches)) return;
    if (Date.now() > deadline) throw new Error(`etcd (pid ${pid}) did not reach the expected state: ${states.join('')}`);
    await sleep(10);
  }
}

/** True when the etcd binary (MESHFED_ETCD_BIN or `etcd` on PATH) can be run. */
export function etcdAvailable(binary: string = etcdBinary()): boolean {
  const r = spawnSync(binary, ['--version'], { stdio: 'ignore', timeout: 10_000 });
  return r.error === undefined && r.status === 0;
}
