// Argument parsing for every command: typed options, --help text, and usage errors that exit 2.
import { parseArgs } from 'node:util';
import { parseDurationMs, parseHostPortText } from '../api/fields.ts';
import { readConfigText } from '../api/load.ts';

/** One option of a command. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly description: string;
  readonly short?: string;
  readonly multiple?: boolean;
  readonly default?: string | boolean;
  /** Shown in help as `--name VALUE`. */
  readonly value?: string;
}

/** A command's contract: its name, what it does, and its options. */
export interface CommandSpec<O extends Record<string, OptionSpec>> {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly options: O;
  /** Extra help text: examples, environment variables, exit codes. */
  readonly details?: string;
  readonly allowPositionals?: boolean;
}

type Values<O extends Record<string, OptionSpec>> = {
  [K in keyof O]: O[K]['type'] extends 'boolean'
    ? boolean
    : O[K]['multiple'] extends true
      ? string[]
      : O[K]['default'] extends string ? string : string | undefined;
};

/** Thrown for a usage problem; the dispatcher prints it with the usage line and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Renders the --help text of a command. */
export function helpText(spec: CommandSpec<Record<string, OptionSpec>>): string {
  const rows = Object.entries(spec.options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    const def = o.default !== undefined && o.default !== false ? ` (default: ${String(o.default)})` : '';
    return [flag, `${o.description}${def}`] as const;
  });
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([f]) => f.length)) + 2;
  const lines = [`meshfed ${spec.name} — ${spec.summary}`, '', `Usage: ${spec.usage}`, '', 'Options:'];
  for (const [flag, desc] of rows) lines.push(`  ${flag.padEnd(width)}${desc}`);
  if (spec.details) lines.push('', spec.details.trim());
  return lines.join('\n') + '\n';
}

/**
 * Parses argv for a command. Returns undefined after printing help for --help, so the caller exits 0.
 * Throws UsageError for unknown options or bad values.
 */
export function parseCommand<O extends Record<string, OptionSpec>>(
  spec: CommandSpec<O>,
  argv: readonly string[],
): { values: Values<O>; positionals: string[] } | undefined {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean; default?: string | boolean }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [name, o] of Object.entries(spec.options)) {
    options[name] = {
      type: o.type,
      ...(o.short ? { short: o.short } : {}),
      ...(o.multiple ? { multiple: true } : {}),
      ...(o.default !== undefined ? { default: o.default } : {}),
    };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: spec.allowPositionals ?? false, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  if (parsed.values['help']) {
    process.stdout.write(helpText(spec as CommandSpec<Record<string, OptionSpec>>));
    return undefined;
  }
  return { values: parsed.values as unknown as Values<O>, positionals: parsed.positionals };
}

/** A port number (0-65535) given to --flag, or a usage error naming the flag. */
export function parsePort(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--${flag}: "${text}" is not a port (0-65535)`);
  return n;
}

/** Fails with a usage error when a required option is missing. */
export function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new UsageError(`missing required option --${flag}`);
  return value;
}

/**
 * The operator keys a --bundle-signer flag names (comma-separated PEM files: public keys or certificates), read
 * now; an unreadable one fails with its path. None when the flag is absent.
 */
export function readBundleSigners(value: string | undefined): string[] {
  const files = (value ?? '').split(',').map((f) => f.trim()).filter((f) => f !== '');
  return files.map((f) => {
    const text = readConfigText(f);
    if (!/-----BEGIN (PUBLIC KEY|CERTIFICATE)-----/.test(text)) throw new UsageError(`--bundle-signer: ${f} holds no PEM public key or certificate`);
    return text;
  });
}

/** The --admin-tokens option of every component with an admin port. */
export const ADMIN_TOKENS_OPTION = {
  'admin-tokens': { type: 'string', value: 'FILE', description: 'who may call the admin port: { tokens: [{ name, role: read|write, sha256 }] } (docs/security.md); without it reads are open' },
} as const;

/** The --bundle-signer option of every bundle receiver (agent, sidecar). */
export const BUNDLE_SIGNER_OPTION = {
  'bundle-signer': { type: 'string', value: 'FILE[,FILE...]', description: 'operator keys (PEM public keys or certificates) that may sign trust bundles besides the roots in force (docs/trust.md)' },
} as const;

/** Parses a duration such as 500ms, 5s, 24h, 30d, 1y into milliseconds (the same grammar as config files). */
export function parseDuration(text: string, flag: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined) throw new UsageError(`--${flag}: "${text}" is not a duration (use e.g. 500ms, 5s, 10m, 24h, 30d, 1y)`);
  return ms;
}

/** Parses HOST:PORT (IPv6 as [::1]:PORT; an empty host means 127.0.0.1). */
export function parseHostPort(text: string, flag: string): { host: string; port: number } {
  const hp = parseHostPortText(text);
  if (!hp) throw new UsageError(`--${flag}: "${text}" is not HOST:PORT`);
  return { host: hp.host, port: hp.port };
}

/** Output format shared by the commands that print data. */
export function parseOutput(text: string | undefined): 'table' | 'json' {
  if (text === undefined || text === 'table') return 'table';
  if (text === 'json') return 'json';
  throw new UsageError(`--output: "${text}" is not supported (use table or json)`);
}

/** Renders rows as an aligned text table. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}
