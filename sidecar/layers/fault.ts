// Fault layer: applies the runtime L7 fault settings (delay, then abort) to requests that match a rule.
import { abortResponse, decideFault } from '../faults/decide.ts';
import type { Layer } from '../types.ts';
import type { StackDeps } from './deps.ts';

/** `direction` picks the rules: outbound rules apply to calls out, inbound rules to calls in. */
export function faultLayer(deps: StackDeps, direction: 'outbound' | 'inbound'): Layer {
  return (next) => async (req) => {
    const d = decideFault(deps.faults(), req, direction, deps.random);
    if (!d) return next(req);
    if (d.delayMs > 0) {
      deps.onEvent?.({ kind: 'fault', service: req.service, fault: 'delay', direction });
      await deps.sleep(d.delayMs, req.signal);
    }
    if (d.abort) {
      deps.onEvent?.({ kind: 'fault', service: req.service, fault: 'abort', direction });
      // An outbound abort is the caller's own doing and no destination's; an inbound one simulates the server failing.
      if (direction === 'outbound') deps.onEvent?.({ kind: 'local-failure', service: req.service, zone: '', class: 'fault_injected' });
      return abortResponse(d.abort);
    }
    const res = await next(req);
    return d.delayMs > 0 ? { ...res, flags: [...(res.flags ?? []), 'fault-delay'] } : res;
  };
}
