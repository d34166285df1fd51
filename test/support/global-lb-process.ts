// Starts `meshfed global-lb` as a real child process on an etcd and waits for its "listening" line (tests that kill it).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = join(import.meta.dirname, '..', '..');

/** A running replica process: its addresses and the stderr lines it wrote so far. */
export interface GlobalLbProcess {
  readonly id: string;
  readonly child: ChildProcess;
  readonly grpc: string;
  readonly admin: string;
  readonly stderr: string[];
}

/** Spawns one insecure replica on loopback port 0 with the given lease TTL; rejects if it exits or is not up in 30 s. */
export function startGlobalLbProcess(etcdEndpoints: readonly string[], id: string, opts: { leaseTtlS: number; logLevel?: string }): Promise<GlobalLbProcess> {
  const child = spawn(join(ROOT, 'node_modules/.bin/node'), [
    join(ROOT, 'cli/meshfed.ts'), 'global-lb', '--etcd', etcdEndpoints.join(','), '--insecure',
    '--grpc-listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0',
    '--lease-ttl', `${opts.leaseTtlS}s`, '--heartbeat', '500ms', '--replica-id', id,
  ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MESHFED_LOG_LEVEL: opts.logLevel ?? 'warn' } });
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => stderr.push(l));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica ${id} did not start: ${stderr.join('\n')}`)), 30_000);
    child.once('exit', (code) => reject(new Error(`replica ${id} exited with ${code}: ${stderr.join('\n')}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const m = JSON.parse(line) as { event?: string; grpc?: string; admin?: string };
        if (m.event === 'listening' && m.grpc && m.admin) {
          clearTimeout(timer);
          resolve({ id, child, grpc: m.grpc, admin: m.admin, stderr });
        }
      } catch {
        // not our line
      }
    });
  });
}
