// The base error type, the result type for expected outcomes, and meshfed's shared error codes.

/** Codes owned by the shared plumbing (config loading, CLI usage). Each row is documented in docs/errors.md. */
export const COMMON_CODES = {
  MESHFED_E_USAGE: 'a command was called with missing or invalid arguments',
  MESHFED_E_CONFIG_READ: 'a configuration file could not be read',
  MESHFED_E_CONFIG_PARSE: 'a configuration file is not valid YAML or JSON',
  MESHFED_E_CONFIG_INVALID: 'a configuration file does not match its schema',
  MESHFED_E_INTERNAL: 'an invariant was broken inside meshfed (a bug)',
  MESHFED_E_ADMIN_UNAUTHENTICATED: 'an admin API call carried no token, or one the server does not know (HTTP 401)',
  MESHFED_E_ADMIN_FORBIDDEN: 'an admin API write came with a read-role token (HTTP 403)',
  MESHFED_E_ADMIN_CROSS_ORIGIN: 'an admin API write came from another web origin (HTTP 403)',
  MESHFED_E_ADMIN_CONTENT_TYPE: 'an admin API write carried a body that is not JSON (HTTP 415)',
} as const;

export type CommonCode = keyof typeof COMMON_CODES;

/**
 * An error with a stable code. Codes are `MESHFED_E_*` and never change meaning once released,
 * so scripts and dashboards can match on them. `cause` chains the underlying error.
 */
export class MeshfedError extends Error {
  readonly code: string;
  readonly details: readonly string[];

  constructor(code: string, message: string, options: { cause?: unknown; details?: readonly string[] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MeshfedError';
    this.code = code;
    this.details = Object.freeze([...(options.details ?? [])]);
  }
}

/** An expected outcome that is either a value or a typed failure; used instead of exceptions. */
export type Result<T, E> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export const ok = <T>(value: T): { readonly ok: true; readonly value: T } => ({ ok: true, value });
export const err = <E>(error: E): { readonly ok: false; readonly error: E } => ({ ok: false, error });

/** Renders any thrown value as one line, keeping the code when there is one. */
export function describeError(e: unknown): string {
  if (e instanceof MeshfedError) return `${e.code}: ${e.message}`;
  if (e instanceof Error) return e.message;
  return String(e);
}
