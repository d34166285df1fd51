// Network faults (isolate a zone, partition two sides): what the kernel offers is checked and reported; on the local federation they go through meshfed's L4 layer.
import { execFileSync } from 'node:child_process';
import type { NetworkFaultSpec } from '../../api/scenario.ts';
import { topologyZones } from '../../api/topology.ts';
import type { ActiveFault, FaultContext } from './fault.ts';
import { boardFault, type FaultBoard, type L4Settings } from './sidecar-faults.ts';

/** What this host can do for network faults, probed once per run in a throwaway namespace. */
export interface KernelNetworkSupport {
  readonly root: boolean;
  readonly netns: boolean;
  readonly netem: boolean;
  readonly tbf: boolean;
  readonly detail: string;
}

let probed: KernelNetworkSupport | undefined;

/** Probes network namespaces, `tc netem` and `tc tbf` in a namespace of its own (removed again), as root only. */
export function probeKernel(): KernelNetworkSupport {
  if (probed) return probed;
  const root = process.getuid?.() === 0;
  if (!root) return (probed = { root, netns: false, netem: false, tbf: false, detail: 'not root: no namespaces or qdiscs' });
  const ns = `meshfed-probe-${process.pid}`;
  const run = (...args: string[]) => {
    try {
      execFileSync(args[0]!, args.slice(1), { stdio: 'pipe', timeout: 5000 });
      return true;
    } catch {
      return false;
    }
  };
  const netns = run('ip', 'netns', 'add', ns) && run('ip', '-n', ns, 'link', 'set', 'lo', 'up');
  const netem = netns && run('ip', 'netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms');
  const tbf = netns && run('ip', 'netns', 'exec', ns, 'tc', 'qdisc', 'replace', 'dev', 'lo', 'root', 'tbf', 'rate', '1mbit', 'burst', '32kbit', 'latency', '400ms');
  if (netns) run('ip', 'netns', 'del', ns);
  const detail = `network namespaces ${netns ? 'yes' : 'no'}, tc netem ${netem ? 'yes' : 'no (not in this kernel)'}, tc tbf ${tbf ? 'yes' : 'no'}`;
  return (probed = { root, netns, netem, tbf, detail });
}

/** True when no namespace a probe made is left behind (checked by the rollback). */
export function leftoverNamespaces(): string[] {
  try {
    return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 5000 }).split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith('meshfed-'));
  } catch {
    return [];
  }
}

const BLACKHOLE: L4Settings = { latencyMs: 0, bandwidthBytesPerSec: 0, resetPercent: 0, blackholePercent: 100 };

/**
 * Injects a network fault. `meshfed up` runs every zone on the host's loopback, so no namespace or qdisc can tell
 * one zone's packets from another's: the cut is made where zones are told apart, on the listeners. isolate: every
 * connection INTO the zone (its gateway and its sidecars' inbound) is blackholed; partition: the east-west gateways
 * of both sides are blackholed, which cuts every cross-network path between them (and to any third network).
 */
export function injectNetworkFault(board: FaultBoard) {
  return async (ctx: FaultContext, f: NetworkFaultSpec & { id: string }): Promise<ActiveFault> => {
    const kernel = probeKernel();
    const state = ctx.state();
    const zones = topologyZones(ctx.topology);
    const why = `kernel: ${kernel.detail}; the local federation shares one loopback, so the cut is meshfed's L4 layer (blackhole)`;
    if (f.action === 'isolate') {
      const z = state.zones.find((x) => x.name === f.zone)!;
      const urls = [z.gatewayAdminUrl, ...z.sidecars.map((s) => s.adminUrl)].filter((u): u is string => u !== undefined);
      return boardFault(ctx, board, f.id, urls, { l4: BLACKHOLE }, `every listener of ${f.zone} (gateway and ${z.sidecars.length} sidecar(s)): inbound cut`, why);
    }
    const side = (name: string) => zones.filter((z) => z.locality.zone === name || z.locality.cloud === name);
    const [a, b] = [side(f.between![0]), side(f.between![1])];
    const shared = a.find((x) => b.some((y) => y.network === x.network));
    if (shared) throw new Error(`${f.id}: ${shared.locality.zone} shares network ${shared.network} with the other side; the L4 layer can only cut paths between networks (through their gateways)`);
    const names = [...a, ...b].map((z) => z.locality.zone);
    const others = zones.filter((z) => !names.includes(z.locality.zone) && ![...a, ...b].some((x) => x.network === z.network)).map((z) => z.locality.zone);
    const urls = state.zones.filter((z) => names.includes(z.name)).map((z) => z.gatewayAdminUrl).filter((u): u is string => u !== undefined);
    const target = `east-west gateways of ${names.join(', ')} (${f.between![0]} | ${f.between![1]})${others.length > 0 ? `; also cuts them from ${others.join(', ')}` : ''}`;
    return boardFault(ctx, board, f.id, urls, { l4: BLACKHOLE }, target, why);
  };
}
