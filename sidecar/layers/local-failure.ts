// Local-failure layer: reports once per request (not per try) that the sidecar answered it itself because nothing could be sent.
import type { Layer } from '../types.ts';
import type { StackDeps } from './deps.ts';
import { isDeadline } from './timeout.ts';

/** Flags of the balance layer's answers for requests no endpoint was sent (balance.ts). */
const NOT_SENT = ['no-healthy-upstream', 'dropped', 'not-sent'] as const;

/**
 * Sits just above the retry layer, so a request whose every try found no endpoint counts once. The class is
 * `timeout` when the route deadline had fired (the request waited for endpoints, or for a retry's backoff, past
 * it), else `no_endpoint`. A request the client abandoned counts for nobody. Injected aborts and circuit-breaker
 * refusals are reported by their own layers, which sit above retries already.
 */
export function localFailureLayer(deps: StackDeps): Layer {
  return (next) => async (req) => {
    const res = await next(req);
    const flags = res.flags;
    if (flags === undefined || !NOT_SENT.some((f) => flags.includes(f))) return res;
    const deadline = isDeadline(req.signal);
    if (req.signal.aborted && !deadline) return res;
    if (flags.includes('not-sent') && !deadline) return res;
    deps.onEvent?.({ kind: 'local-failure', service: req.service, zone: '', class: deadline ? 'timeout' : 'no_endpoint' });
    return res;
  };
}
