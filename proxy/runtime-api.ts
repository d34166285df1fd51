// HAProxy's Runtime API over its stats/admin unix socket: one command per connection, answers as text.
import { createConnection } from 'node:net';
import { proxyError } from './errors.ts';

/** Sends one command line and returns HAProxy's whole answer (the socket closes after it in non-interactive mode). */
export function runtimeCommand(socketPath: string, command: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(socketPath);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(proxyError('MESHFED_E_PROXY_RUNTIME', `${socketPath}: no answer to "${command}" within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('connect', () => sock.write(`${command}\n`));
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

/**
 * HAProxy answers a successful `set`/`enable`/`disable` with an empty line and `add server` / `del server` with a
 * sentence naming the server; anything else is its refusal. True when `answer` is a success for `command`.
 */
export function isRuntimeSuccess(command: string, answer: string): boolean {
  const a = answer.trim();
  if (a === '') return true;
  if (command.startsWith('add server')) return /^New server registered\.?$/i.test(a);
  if (command.startsWith('del server')) return /^Server deleted\.?$/i.test(a);
  if (command.startsWith('commit ssl cert')) return /Success!/i.test(a) && !/error/i.test(a);
  if (command.startsWith('set ssl cert')) return /^Transaction (created|updated)/i.test(a);
  return false;
}

/** A client bound to one socket; `exec` throws MESHFED_E_PROXY_RUNTIME when HAProxy refuses the command. */
export class RuntimeApi {
  readonly socketPath: string;
  constructor(socketPath: string) {
    this.socketPath = socketPath;
  }

  /** The raw answer of a read command (show info, show stat, show servers state). */
  async show(command: string): Promise<string> {
    return runtimeCommand(this.socketPath, command);
  }

  /** Runs a write command and checks its answer. */
  async exec(command: string): Promise<void> {
    const answer = await runtimeCommand(this.socketPath, command);
    if (!isRuntimeSuccess(command, answer)) throw proxyError('MESHFED_E_PROXY_RUNTIME', `HAProxy refused "${command}": ${answer.trim()}`);
  }

  /** `show info` as a key -> value map (Pid, Uptime_sec, ...). */
  async info(): Promise<Record<string, string>> {
    return parseInfo(await this.show('show info'));
  }
}

/** Parses `show info` ("Name: value" lines). */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}
