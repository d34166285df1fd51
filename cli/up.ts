// `meshfed up`: the whole federation on this machine (trust, store, balancers, agents, gateways, the sample shop).
import { parseCommand, parseDuration, UsageError } from './args.ts';
import { DEFAULT_FEDERATION, loadFederationFile } from '../api/federation-file.ts';
import { ETCD_MEMBER_COUNTS, startFederation, summary } from '../local/up.ts';
import { startLoad, type Load } from '../local/load.ts';
import { defaultStateDir } from '../local/state.ts';
import { describeError } from '../common/errors.ts';
import { StartError } from '../local/supervisor.ts';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const spec = {
  name: 'up',
  summary: 'run a whole multi-zone federation with a sample shop on this machine (Ctrl-C or `meshfed down` stops it)',
  usage: 'meshfed up [--config federation.yaml] [--load RPS] [--etcd-members 1|3|5] [--proxy node|haproxy] [--state-dir DIR]',
  options: {
    config: { type: 'string', value: 'FILE', description: 'a federation file (topology, services, workloads, policies: docs/configuration.md) or a bare topology; default: 3 zones, 2 clouds, 2 networks, the built-in shop' },
    load: { type: 'string', value: 'RPS', description: 'send steady traffic at every zone frontend (requests/s in total)' },
    'load-duration': { type: 'string', value: 'DURATION', description: 'stop the load after this long', default: '10m' },
    'state-dir': { type: 'string', value: 'DIR', description: 'where up.json, logs and the trust root live', default: defaultStateDir() },
    store: { type: 'string', value: 'auto|etcd|memory', description: 'auto: etcd when the binary is on PATH, else the embedded store', default: 'auto' },
    proxy: { type: 'string', value: 'node|haproxy', description: 'the data plane next to each app: the Node sidecar, or HAProxy driven by `meshfed proxy haproxy` (docs/native-proxies.md)', default: 'node' },
    'etcd-members': { type: 'string', value: '1|3|5', description: 'etcd members, each its own process (etcd-1 ... etcd-N): 3 keep the store up with one member down, 5 with two; more than 1 needs etcd', default: '1' },
  },
  details: `Prints progress per component, then a summary, and writes <state-dir>/up.json (read by status, weights, drain, fault, down).
Each app instance runs as its own process (app-<zone>-<instance>), and so does each etcd member (etcd-<k>: data dir
and log under <state-dir>/run; every global-lb replica gets all their client URLs, up.json lists them as etcdEndpoints).
A component that exits is restarted with backoff (0.5 s doubling to 5 s; up.json gets its new pid); one that exits
more than 5 times within 60 s stops the federation. An etcd member comes back on its data dir and ports and rejoins.
'meshfed hold COMPONENT --for D [--kill]' keeps a component down for a fault's duration ('meshfed release' ends it).
The trust root and cluster intermediates are created on first run under <state-dir>/trust and kept; <state-dir>/run is removed on stop.
Exit codes: 0 after Ctrl-C / SIGTERM / meshfed down, 1 when a component fails to start or spends its restart budget, 2 usage error.`,
} as const;

export async function run(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  const store = v.store;
  if (store !== 'auto' && store !== 'etcd' && store !== 'memory') throw new UsageError(`--store: "${store}" is not auto, etcd or memory`);
  let rps: number | undefined;
  if (v.load !== undefined) {
    rps = Number(v.load);
    if (!Number.isFinite(rps) || rps <= 0 || rps > 5000) throw new UsageError(`--load: "${v.load}" is not a rate between 1 and 5000 requests/s`);
  }
  const loadMs = parseDuration(v['load-duration'], 'load-duration');
  const etcdMembers = parseEtcdMembers(v['etcd-members'], store);
  const proxy = v.proxy;
  if (proxy !== 'node' && proxy !== 'haproxy') throw new UsageError(`--proxy: "${proxy}" is not node or haproxy`);
  const federation = v.config !== undefined ? loadFederationFile(v.config) : DEFAULT_FEDERATION;
  const print = (line: string) => process.stdout.write(line + '\n');

  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  print(`meshfed up: starting (state in ${v['state-dir']})`);
  let fed;
  try {
    fed = await startFederation({ stateDir: v['state-dir'], topology: federation.topology, layout: federation.layout, policies: federation.policies, print, store, etcdMembers, proxy });
  } catch (e) {
    process.stderr.write(`meshfed up: ${describeError(e)}\nEverything that had started was stopped; the component logs are kept in ${join(resolve(v['state-dir']), 'run', 'logs')}.\n`);
    if (e instanceof StartError) process.stderr.write(logTail(e.logFile));
    return 1;
  }
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (interrupted) {
    await fed.stop();
    print('meshfed up: interrupted; stopped');
    return 0;
  }
  print(summary(fed.state));
  let load: Load | undefined;
  if (rps !== undefined) {
    const targets = fed.state.zones.flatMap((z) => (z.frontendUrl ? [z.frontendUrl] : []));
    load = startLoad(targets, { rps, maxDurationMs: loadMs, maxRequests: Math.ceil((rps * loadMs) / 1000) }, print);
    print(`load: ${rps} rps over ${targets.length} frontends for at most ${v['load-duration']}`);
  }
  print('ready');
  const reason = await new Promise<{ code: number; why: string }>((resolve) => {
    process.once('SIGINT', () => resolve({ code: 0, why: 'interrupted' }));
    process.once('SIGTERM', () => resolve({ code: 0, why: 'asked to stop' }));
    void fed.crashed.then((why) => resolve({ code: 1, why }));
  });
  print(`meshfed up: ${reason.why}; stopping`);
  await load?.stop();
  // After a crash the logs say why: keep them.
  await fed.stop({ keepLogs: reason.code !== 0 });
  print(reason.code === 0 ? 'meshfed up: stopped; temporary state removed (trust root kept)' : `meshfed up: stopped; logs kept in ${fed.state.logDir} (trust root kept)`);
  return reason.code;
}

/** `--etcd-members`: 1, 3 or 5 (an odd count: an even one tolerates no more failures than one member fewer), and not with --store memory. */
export function parseEtcdMembers(value: string, store: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!ETCD_MEMBER_COUNTS.includes(n)) {
    throw new UsageError(`--etcd-members: "${value}" is not ${ETCD_MEMBER_COUNTS.slice(0, -1).join(', ')} or ${ETCD_MEMBER_COUNTS.at(-1)} (etcd needs a majority of its members up, so an even count tolerates no more failures than one member fewer)`);
  }
  if (n > 1 && store === 'memory') throw new UsageError(`--etcd-members: ${n} members need the etcd store; --store memory runs the embedded one (drop --store, or use --store etcd)`);
  return n;
}

/** The last lines of a component's log, indented, so a failed start shows its cause without opening the file. */
function logTail(file: string, lines = 8): string {
  if (!existsSync(file)) return '';
  const tail = readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines);
  return tail.length === 0 || tail[0] === '' ? '' : `Last lines of ${file}:\n${tail.map((l) => `  ${l}`).join('\n')}\n`;
}
