// One JSON-over-HTTP call with a timeout for the CLI and the chaos runner talking to admin ports; it never throws.

/** The answer of an admin port, or `{ ok: false, status: 0 }` with the reason in `text` when it did not answer. */
export interface JsonAnswer {
  readonly ok: boolean;
  readonly status: number;
  readonly json: unknown;
  readonly text: string;
}

/**
 * Calls `url`; a body is sent as JSON, and `token` as a bearer token (admin ports started with --admin-tokens). An
 * unreachable port or a timeout is an answer too, never a throw.
 */
export async function callJson(method: string, url: string, body?: unknown, timeoutMs = 5000, token?: string): Promise<JsonAnswer> {
  try {
    const headers = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
    const res = await fetch(url, { method, signal: AbortSignal.timeout(timeoutMs), headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { ok: res.ok, status: res.status, json, text };
  } catch (e) {
    return { ok: false, status: 0, json: undefined, text: `unreachable (${(e as Error).message})` };
  }
}
