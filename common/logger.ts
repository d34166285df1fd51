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

/** Field names whose values are key material wherever they appear; pino's redact paths only reach fixed depths. */
const SECRET_FIELDS = new Set(['key', 'privateKey', 'keyPem', 'caKey', 'password', 'token', 'authorization']);

/** A copy of an error with PEM keys scrubbed from its message, stack and cause, keeping its class for pino's serializer. */
function scrubError(e: Error, depth: number): Error {
  const text = `${e.message}\n${e.stack ?? ''}`;
  if (scrubSecrets(text) === text && (e.cause === undefined || depth > 4)) return e;
  const copy = Object.create(Object.getPrototypeOf(e) as object) as Error;
  for (const [k, v] of Object.entries(e)) (copy as unknown as Record<string, unknown>)[k] = scrubDeep(v, depth + 1, k);
  Object.defineProperty(copy, 'message', { value: scrubSecrets(e.message), enumerable: false, writable: true, configurable: true });
  Object.defineProperty(copy, 'stack', { value: e.stack === undefined ? undefined : scrubSecrets(e.stack), enumerable: false, writable: true, configurable: true });
  if (e.cause !== undefined) Object.defineProperty(copy, 'cause', { value: scrubDeep(e.cause, depth + 1), enumerable: false, writable: true, configurable: true });
  return copy;
}

function scrubDeep(value: unknown, depth: number, field?: string): unknown {
  if (field !== undefined && SECRET_FIELDS.has(field) && value !== undefined && value !== null) return '[redacted]';
  if (typeof value === 'string') return scrubSecrets(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return scrubError(value, depth);
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, depth + 1));
  // Only plain objects are rebuilt; class instances (Buffers, Dates, URLs) keep their own serialisation.
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubDeep(v, depth + 1, k);
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
