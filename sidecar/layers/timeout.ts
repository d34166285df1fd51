// Timeout layer: the route's overall deadline (all retries included); answers 504 and aborts what is below when it fires.
import type { Handler, Layer, ProxyRequest, ProxyResponse } from '../types.ts';
import { localResponse, type StackDeps } from './deps.ts';

/**
 * The abort reason of a fired deadline. Named TimeoutError (as AbortSignal.timeout's), so the layers below tell it
 * from a client that went away (isDeadline) and the upstream answers the cut try as a timeout, not a reset.
 */
function deadlineError(ms: number): Error {
  const e = new Error(`deadline of ${ms} ms exceeded`);
  e.name = 'TimeoutError';
  return e;
}

/** True when a signal was aborted by a deadline (route or per-try), not by the client going away. */
export function isDeadline(signal: AbortSignal): boolean {
  return signal.aborted && (signal.reason as { name?: unknown } | undefined)?.name === 'TimeoutError';
}

/**
 * Runs `handler` under a deadline of `ms` (0: none), with `flags` on the 504 it answers when the deadline fires.
 * The signal given below aborts on the deadline or when the caller's signal aborts. Shared with the retry layer.
 * One promise settles with whichever comes first (no Promise.race, no second promise per request: this runs on
 * every outbound request); a later answer from below is ignored, as its signal is already aborted.
 */
export function withDeadline(deps: StackDeps, ms: number, req: ProxyRequest, handler: Handler, flags: readonly string[]): Promise<ProxyResponse> {
  if (ms <= 0) return handler(req);
  const ctl = new AbortController();
  const parent = req.signal;
  const onParent = (): void => ctl.abort(parent.reason);
  if (parent.aborted) ctl.abort(parent.reason);
  else parent.addEventListener('abort', onParent, { once: true });
  let settled = false;
  let cancel: () => void = () => undefined;
  const finish = (): boolean => {
    if (settled) return false;
    settled = true;
    cancel();
    parent.removeEventListener('abort', onParent);
    return true;
  };
  let below: Promise<ProxyResponse>;
  try {
    below = handler({ ...req, signal: ctl.signal });
  } catch (e) {
    finish();
    return Promise.reject(e);
  }
  return new Promise<ProxyResponse>((resolve, reject) => {
    cancel = deps.schedule(ms, () => {
      if (!finish()) return;
      ctl.abort(deadlineError(ms));
      resolve(localResponse(504, 'MESHFED_E_SIDECAR_UPSTREAM_TIMEOUT', `upstream did not answer within ${ms} ms`, flags));
    });
    below.then(
      (res) => { if (finish()) resolve(res); },
      (e: unknown) => { if (finish()) reject(e); },
    );
  });
}

/** Uses req.route.timeoutMs; requests without a route decision pass straight through. */
export function timeoutLayer(deps: StackDeps): Layer {
  return (next) => (req) => withDeadline(deps, req.route?.timeoutMs ?? 0, req, next, ['timeout', 'route-timeout']);
}

/** The per-try deadline (req.route.retry.perTryTimeoutMs), just above the upstream so a timed-out try names its endpoint. */
export function perTryTimeoutLayer(deps: StackDeps): Layer {
  return (next) => (req) => withDeadline(deps, req.route?.retry.perTryTimeoutMs ?? 0, req, next, ['timeout', 'per-try-timeout']);
}
