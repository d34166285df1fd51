// Pure merging of sidecar stats into per-service window totals, which the agent reports and then resets.
import { emptyHistogram, fromProto, merge, type Histogram } from '../../api/histogram.ts';
import type { SidecarStats__Output } from '../../api/generated/meshfed/v1/SidecarStats.ts';
import { err, ok, type Result } from '../../common/errors.ts';

/** One service's totals over the current window. */
export interface ServiceWindow {
  readonly requests: number;
  readonly successes: number;
  readonly errors: { readonly http_5xx: number; readonly connect_failure: number; readonly timeout: number; readonly reset: number };
  readonly latency: Histogram;
}

/** Per "namespace/name" totals, plus the latest in-flight gauge per sidecar (gauges do not add over time). */
export interface WindowTotals {
  readonly services: Readonly<Record<string, ServiceWindow>>;
  /** In-flight per service per sidecar id; summed at report time. */
  readonly inFlight: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export const EMPTY_WINDOW: WindowTotals = Object.freeze({ services: Object.freeze({}), inFlight: Object.freeze({}) });

function count(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * Adds one sidecar's stats message to the window. The message came from another process, so it is checked
 * whole first: any bad field refuses the message (as a value) and leaves the window as it was.
 * Invariant: successes + errors never exceed requests per accepted message.
 */
export function addStats(w: WindowTotals, sidecarId: string, msg: SidecarStats__Output): Result<WindowTotals, string> {
  const services: Record<string, ServiceWindow> = { ...w.services };
  const inFlight: Record<string, Record<string, number>> = { ...w.inFlight };
  for (const [i, s] of msg.services.entries()) {
    if (!s.namespace || !s.name) return err(`services[${i}]: namespace and name are required`);
    const requests = count(s.requests);
    const successes = count(s.successes);
    const e = s.errors;
    const errs = { http_5xx: count(e?.http_5xx ?? '0'), connect_failure: count(e?.connect_failure ?? '0'), timeout: count(e?.timeout ?? '0'), reset: count(e?.reset ?? '0') };
    if (requests === undefined || successes === undefined || Object.values(errs).some((v) => v === undefined)) return err(`services[${i}]: counters must be non-negative integers`);
    const errTotal = (errs.http_5xx as number) + (errs.connect_failure as number) + (errs.timeout as number) + (errs.reset as number);
    if (successes + errTotal > requests) return err(`services[${i}]: successes + errors (${successes + errTotal}) exceed requests (${requests})`);
    const h = fromProto(s.latency);
    if (!h.ok) return err(`services[${i}]: ${h.error.message}`);
    const key = `${s.namespace}/${s.name}`;
    const prev = services[key] ?? { requests: 0, successes: 0, errors: { http_5xx: 0, connect_failure: 0, timeout: 0, reset: 0 }, latency: emptyHistogram() };
    const latency = merge(prev.latency, h.value);
    if (!latency.ok) return err(`services[${i}]: ${latency.error.message}`);
    services[key] = {
      requests: prev.requests + requests,
      successes: prev.successes + successes,
      errors: {
        http_5xx: prev.errors.http_5xx + (errs.http_5xx as number),
        connect_failure: prev.errors.connect_failure + (errs.connect_failure as number),
        timeout: prev.errors.timeout + (errs.timeout as number),
        reset: prev.errors.reset + (errs.reset as number),
      },
      latency: latency.value,
    };
    inFlight[key] = { ...(inFlight[key] ?? {}), [sidecarId]: s.in_flight };
  }
  return ok({ services, inFlight });
}

/** Forgets a sidecar's in-flight gauge when its stream ends, so a gone sidecar does not hold load forever. */
export function dropSidecar(w: WindowTotals, sidecarId: string): WindowTotals {
  const inFlight: Record<string, Record<string, number>> = {};
  for (const [key, per] of Object.entries(w.inFlight)) {
    const { [sidecarId]: _gone, ...rest } = per;
    inFlight[key] = rest;
  }
  return { services: w.services, inFlight };
}

/** Starts a new window: counters reset, in-flight gauges carry over. */
export function resetWindow(w: WindowTotals): WindowTotals {
  return { services: {}, inFlight: w.inFlight };
}

/** The in-flight total of a service over every sidecar. */
export function inFlightOf(w: WindowTotals, key: string): number {
  return Object.values(w.inFlight[key] ?? {}).reduce((a, b) => a + b, 0);
}
