// A small typed client for the global-lb admin API, used by the CLI commands.
import { MeshfedError } from '../common/errors.ts';
import { UsageError } from './args.ts';
import { readFileSync } from 'node:fs';
import { defaultStateDir, readUpState, upAdminToken } from '../local/state.ts';

/** The admin URL used when neither --admin nor $MESHFED_ADMIN is given (global-lb's default --admin-listen). */
export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:15201';

/** The admin URL of a federation started by `meshfed up` ($MESHFED_STATE_DIR or ./.meshfed), if one is recorded. */
export function upAdminUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  try {
    return readUpState(defaultStateDir(env))?.adminUrl;
  } catch {
    return undefined;
  }
}

/** Picks the balancer: --admin, then $MESHFED_ADMIN, then `.meshfed/up.json` from `meshfed up`, then the default. */
export function resolveAdminUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const raw = flag ?? env['MESHFED_ADMIN'] ?? upAdminUrl(env) ?? DEFAULT_ADMIN_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--admin: "${raw}" is not a URL (e.g. http://127.0.0.1:15201)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--admin: "${raw}" must be an http:// or https:// URL`);
  return url.toString().replace(/\/$/, '');
}

/**
 * The bearer token the CLI sends to admin ports: $MESHFED_ADMIN_TOKEN, then the file $MESHFED_ADMIN_TOKEN_FILE, then
 * the write token of the federation `meshfed up` started (up.json); undefined when there is none (an open port).
 */
export function resolveAdminToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env['MESHFED_ADMIN_TOKEN']) return env['MESHFED_ADMIN_TOKEN'];
  const file = env['MESHFED_ADMIN_TOKEN_FILE'];
  if (file) {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (e) {
      throw new UsageError(`MESHFED_ADMIN_TOKEN_FILE: cannot read ${file}: ${(e as Error).message}`);
    }
  }
  try {
    return upAdminToken(readUpState(defaultStateDir(env)));
  } catch {
    return undefined;
  }
}

/** The JSON error body every admin route returns on failure. */
export interface AdminErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly details?: readonly string[] };
}

/** A failed admin call, keeping the HTTP status and the server's code and details. */
export class AdminError extends MeshfedError {
  readonly status: number;
  constructor(status: number, code: string, message: string, details: readonly string[] = []) {
    super(code, message, { details });
    this.status = status;
  }
}

/** The admin API as the CLI uses it. */
export class AdminClient {
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly token: string | undefined;

  constructor(baseUrl: string, timeoutMs = 10_000, token: string | undefined = resolveAdminToken()) {
    this.baseUrl = baseUrl;
    this.timeoutMs = timeoutMs;
    this.token = token;
  }

  /** Calls a route; resolves the parsed JSON, or throws AdminError with the server's code. */
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        signal: AbortSignal.timeout(this.timeoutMs),
        headers: { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new AdminError(0, 'MESHFED_E_ADMIN_UNREACHABLE', `cannot reach the balancer at ${this.baseUrl} (${cause}); set --admin or MESHFED_ADMIN`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new AdminError(res.status, 'MESHFED_E_ADMIN_BAD_REQUEST', `${method} ${path}: the balancer answered ${res.status} with non-JSON`);
    }
    if (!res.ok) {
      const e = (json as Partial<AdminErrorBody> | undefined)?.error;
      throw new AdminError(res.status, e?.code ?? 'MESHFED_E_INTERNAL', e?.message ?? `${method} ${path}: HTTP ${res.status}`, e?.details ?? []);
    }
    return json as T;
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }
}

/** The option every admin-backed command shares. */
export const ADMIN_OPTION = {
  admin: { type: 'string', value: 'URL', description: `balancer admin API (default $MESHFED_ADMIN, then .meshfed/up.json, then ${DEFAULT_ADMIN_URL})` },
} as const;
