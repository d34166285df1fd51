// Small HTTP helpers the faults and the runner use against admin ports: JSON with a timeout, metrics text, readiness.
import { metricValue } from '../runner/probes.ts';

/** A JSON call; never throws: an unreachable port is `{ ok: false, status: 0 }`. */
export async function callJson(method: string, url: string, body?: unknown, timeoutMs = 5000): Promise<{ ok: boolean; status: number; json: unknown; text: string }> {
  try {
    const res = await fetch(url, { method, signal: AbortSignal.timeout(timeoutMs), ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
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

/** True when GET url answers 2xx. */
export async function isReady(url: string, timeoutMs = 2000): Promise<boolean> {
  return (await callJson('GET', url, undefined, timeoutMs)).ok;
}

/** The summed value of a metric on each admin URL's /metrics (undefined entries for those that did not answer). */
export async function metricOn(urls: readonly string[], metric: string, labels: Readonly<Record<string, string>> = {}): Promise<number | undefined> {
  let sum: number | undefined;
  for (const u of urls) {
    const r = await callJson('GET', `${u}/metrics`, undefined, 3000);
    if (!r.ok) continue;
    const v = metricValue(r.text, metric, labels);
    if (v !== undefined) sum = (sum ?? 0) + v;
  }
  return sum;
}

/** Polls `check` every `everyMs` until it holds or `timeoutMs` passes; returns whether it held. */
export async function pollUntil(check: () => Promise<boolean>, timeoutMs: number, everyMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
