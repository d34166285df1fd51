// Small HTTP helpers the faults and the runner use against admin ports: JSON with a timeout, metrics text, readiness.
import { callJson } from '../../common/http-json.ts';
import { metricValue } from '../runner/probes.ts';

export { callJson } from '../../common/http-json.ts';

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
