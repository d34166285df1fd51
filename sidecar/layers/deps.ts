// What the layers are given: clock, randomness, timers, current config and faults, the picker source, and event hooks.
import type { FaultSettings, SidecarConfig } from '../../api/sidecar-config.ts';
import type { PickerSource } from '../balancer/balancer.ts';
import type { OutlierEvent } from '../balancer/outlier.ts';
import type { MirrorTarget } from '../routing/match.ts';
import type { Overflow } from '../resilience/circuit-breaker.ts';
import type { RetryDecision } from '../resilience/retry.ts';
import type { SidecarCode } from '../errors.ts';
import type { Clock, LocalFailureClass, ProxyRequest, ProxyResponse, Random, RetryOn, TryOutcome } from '../types.ts';
import { coarseScheduler } from './deadlines.ts';

/** Something the layers decided, for metrics and logs (the I/O side maps these to meshfed_* counters). */
export type StackEvent =
  | { readonly kind: 'retry'; readonly service: string; readonly condition: RetryOn; readonly attempt: number; readonly backoffMs: number }
  | { readonly kind: 'retry-denied'; readonly service: string; readonly reason: Extract<RetryDecision, { retry: false }>['reason'] }
  | { readonly kind: 'outlier'; readonly service: string; readonly event: OutlierEvent }
  | { readonly kind: 'overflow'; readonly service: string; readonly overflow: Overflow }
  | { readonly kind: 'fault'; readonly service: string; readonly fault: 'delay' | 'abort'; readonly direction: 'outbound' | 'inbound' }
  | { readonly kind: 'authz-denied'; readonly service: string; readonly peer: string | undefined; readonly reason: string }
  | { readonly kind: 'mirror'; readonly service: string; readonly target: MirrorTarget }
  | { readonly kind: 'mirror-abandoned'; readonly service: string; readonly target: MirrorTarget; readonly reason: string }
  | { readonly kind: 'no-route'; readonly service: string }
  /** A try is sent to an endpoint of `zone`. Every try-start is followed by one try-end. */
  | { readonly kind: 'try-start'; readonly service: string; readonly zone: string }
  /** The try ended: its outcome, charged to `zone`; undefined when the client went away (it says nothing of the zone). */
  | { readonly kind: 'try-end'; readonly service: string; readonly zone: string; readonly outcome: TryOutcome | undefined; readonly durationMs: number }
  /** The sidecar failed the request itself before any destination served it; `zone` is '' when none was picked. */
  | { readonly kind: 'local-failure'; readonly service: string; readonly zone: string; readonly class: LocalFailureClass };

/** Everything the stack is built from. Pure layers get time, randomness and timers only from here. */
export interface StackDeps {
  readonly clock: Clock;
  readonly random: Random;
  /** Resolves after `ms`, or early (resolving, not rejecting) when `signal` aborts. */
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Runs `fn` after `ms`; returns a cancel function. */
  readonly schedule: (ms: number, fn: () => void) => () => void;
  /** The current config (hot-reloaded by the I/O side); read once per request. */
  readonly config: () => SidecarConfig;
  /** The current runtime L7 fault settings (PUT /faults). */
  readonly faults: () => FaultSettings;
  readonly pickers: PickerSource;
  /**
   * Sends a fire-and-forget copy; the I/O side owns it (errors ignored, never awaited). A copy with a body reads
   * one side of a tee (sidecar/layers/tee.ts): it errors when the copy is abandoned, and `req.signal` (the copy's
   * own, not the primary's) aborts then too; the sender may combine that signal with its own deadline.
   */
  readonly mirror?: (req: ProxyRequest, target: MirrorTarget) => void;
  readonly onEvent?: (event: StackEvent) => void;
}

const encoder = new TextEncoder();

/** Longest `x-meshfed-reason` value; the body carries the whole reason. */
export const REASON_HEADER_MAX = 200;

/**
 * The one shape of every answer the sidecar makes itself (layers and the I/O side alike), so an operator can tell
 * it from an upstream's: `content-type: text/plain; charset=utf-8`, `x-meshfed-code` (a SIDECAR_CODES key),
 * `x-meshfed-reason` (the reason, printable ASCII, at most REASON_HEADER_MAX chars) and the body
 * `meshfed: <reason>\n`. `reason` is given without the "meshfed: " prefix. `headers` may add headers
 * (e.g. `x-meshfed-overflow`) but not replace these.
 */
export function localResponse(status: number, code: SidecarCode, reason: string, flags: readonly string[], headers: Record<string, string> = {}): ProxyResponse {
  const bytes = encoder.encode(`meshfed: ${reason}\n`);
  return {
    status,
    headers: {
      ...headers,
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(bytes.length),
      'x-meshfed-code': code,
      'x-meshfed-reason': headerSafe(reason),
    },
    body: oneChunk(bytes),
    flags,
  };
}

/** A header value must be printable ASCII (node rejects control characters; other bytes vary by client). */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, REASON_HEADER_MAX);
}

async function* oneChunk(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

/** Real timers, for production wiring. */
export const realTimers = {
  clock: (): number => Date.now(),
  sleep: (ms: number, signal: AbortSignal): Promise<void> =>
    new Promise<void>((resolve) => {
      if (signal.aborted || ms <= 0) return resolve();
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    }),
  /** Long deadlines (>= 1 s, e.g. the default 15 s route timeout) share one 50 ms tick; shorter ones are precise. */
  schedule: coarseScheduler().schedule,
};

/** Lets go of a response body nobody will read, so its connection can be reused or closed. */
export function discard(res: ProxyResponse): void {
  const body = res.body;
  if (body === null) return;
  const it = body[Symbol.asyncIterator]();
  void it.return?.().catch(() => undefined);
}
