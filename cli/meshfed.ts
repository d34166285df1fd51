#!/usr/bin/env node
// The meshfed command-line entry point: dispatches to one module per command.
import { enableCompileCache } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMANDS } from './commands.ts';
import { UsageError } from './args.ts';
import { describeError, MeshfedError } from '../common/errors.ts';

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    'meshfed — multi-cluster, multi-zone global load balancer and service-mesh federation',
    '',
    'Usage: meshfed <command> [options]      meshfed <command> --help for a command\'s options',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Environment: MESHFED_ADMIN (balancer admin URL), MESHFED_LOG_LEVEL (debug|info|warn|error)',
    '',
  ].join('\n');
}

// The sources are TypeScript: without a cache every start type-strips each module again (~1 s and ~10 MB more RSS
// for a sidecar). Cached by content hash, so edited sources are never served stale. NODE_COMPILE_CACHE picks another
// directory and NODE_DISABLE_COMPILE_CACHE=1 turns it off; a directory that cannot be written just means no cache.
// Only this file and its three static imports are stripped before the cache is on; commands load after it.
try {
  enableCompileCache(process.env['NODE_COMPILE_CACHE'] ?? join(tmpdir(), 'meshfed-compile-cache'));
} catch { /* no cache: slower start, same behaviour */ }

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(topHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') return (await import('./version.ts')).run([]);
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    process.stderr.write(`meshfed: unknown command "${name}"\n\n${topHelp()}`);
    return 2;
  }
  const mod = await entry.load();
  try {
    return await mod.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`meshfed ${name}: ${e.message}\nRun "meshfed ${name} --help" for usage.\n`);
      return 2;
    }
    if (e instanceof MeshfedError) {
      process.stderr.write(`meshfed ${name}: ${describeError(e)}\n`);
      return 1;
    }
    const listen = listenFailure(e);
    if (listen !== undefined) {
      process.stderr.write(`meshfed ${name}: ${listen}\n`);
      return 1;
    }
    throw e;
  }
}

const LISTEN_REASONS: Record<string, string> = {
  EADDRINUSE: 'the address is already in use (another process holds it; pick another port, or 0 for any free one)',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'no interface on this machine has that address',
};

/** A listener that could not bind, said plainly: which address and why (Node's own error is a stack trace). */
function listenFailure(e: unknown): string | undefined {
  const err = e as NodeJS.ErrnoException & { address?: string; port?: number };
  const reason = err?.syscall === 'listen' && err.code !== undefined ? LISTEN_REASONS[err.code] : undefined;
  if (reason === undefined) return undefined;
  // Bracketed like api/fields.ts formatHostPort, which this entry file does not import (it pulls in zod before the
  // compile cache is on).
  const host = err.address === undefined ? 'its address' : err.address.includes(':') ? `[${err.address}]` : err.address;
  const at = err.port !== undefined ? `${host}:${err.port}` : host;
  return `cannot listen on ${at}: ${reason}`;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // A command that failed part-way may leave listeners open (e.g. the admin port was taken after the others
    // bound); exit instead of idling on them. stdout/stderr are synchronous for files and pipes on Linux.
    if (code !== 0) process.exit(code);
  },
  (e: unknown) => {
    process.stderr.write(`meshfed: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 70;
  },
);
