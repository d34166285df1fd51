// Every fault kind behind one entry point: the runner hands a validated fault to `inject` and gets an ActiveFault back.
import type { Fault } from '../../api/scenario.ts';
import type { ActiveFault, FaultContext } from './fault.ts';
import { injectNetworkFault } from './network.ts';
import { injectProcessFault } from './process.ts';
import { FaultBoard, injectL4, injectL7 } from './sidecar-faults.ts';
import { injectTrustFault } from './trust.ts';

export type { ActiveFault, Check, FaultContext } from './fault.ts';
export { FaultBoard } from './sidecar-faults.ts';
export { componentAdmin, componentsBack } from './process.ts';
export { leftoverNamespaces, probeKernel } from './network.ts';

/** The injectors of one run; they share one board, so faults on the same admin port compose. */
export function createInjector(board: FaultBoard = new FaultBoard()): (ctx: FaultContext, f: Fault & { id: string }) => Promise<ActiveFault> {
  const l7 = injectL7(board), l4 = injectL4(board), network = injectNetworkFault(board);
  return (ctx, f) => {
    switch (f.kind) {
      case 'l7': return l7(ctx, f);
      case 'l4': return l4(ctx, f);
      case 'process': return injectProcessFault(ctx, f);
      case 'network': return network(ctx, f);
      case 'trust': return injectTrustFault(ctx, f);
    }
  };
}
