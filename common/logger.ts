// The pino logger factory: one JSON line per event, with component and zone fields, and key material redacted.
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/** Matches PEM private keys, whatever their algorithm, so they can be scrubbed from any logged string. */
const PRIVATE_KEY_PEM = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g;

/** Object paths that may hold key material; their values are replaced by "[redacted]". */
export const REDACTED_PATHS = [
  'key', 'privateKey', 'keyPem', 'caKey', 'password', 'token',
  '*.key', '*.privateKey', '*.keyPem', '*.caKey', '*.password', '*.token',
  'headers.authorization', '*.headers.authorization', 'req.headers.authorization',
];

export interface LoggerOptions {
  /** The component writing the log, e.g. "global-lb" or "sidecar". */
  component: string;
  /** The zone the component serves, when it has one. */
  zone?: string;
  /** Defaults to $MESHFED_LOG_LEVEL, then "info". */
  level?: string;
  /** Defaults to stderr, so stdout stays free for command output. */
  destination?: DestinationStream;
}

/** Replaces any PEM private key inside a string. */
export function scrubSecrets(text: string): string {
  return text.replace(PRIVATE_KEY_PEM, '[redacted private key]');
}

function scrubDeep(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return scrubSecrets(value);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubDeep(v, depth + 1);
  return out;
}

/** Creates a logger. Key material is redacted by path and, inside strings, by pattern. */
export function createLogger(options: LoggerOptions): Logger {
  const base: Record<string, string> = { component: options.component };
  if (options.zone !== undefined) base['zone'] = options.zone;
  return pino(
    {
      level: options.level ?? process.env['MESHFED_LOG_LEVEL'] ?? 'info',
      base,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      hooks: {
        logMethod(args, method) {
          const cleaned = args.map((a) => scrubDeep(a, 0)) as Parameters<typeof method>;
          method.apply(this, cleaned);
        },
      },
    },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}
