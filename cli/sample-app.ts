// `meshfed sample-app`: runs one zone's demo shop (apps and their sidecars) in one process; `meshfed up` starts it.
import { readFileSync } from 'node:fs';
import { ADMIN_TOKENS_OPTION, parseCommand, required, UsageError } from './args.ts';
import { loadAdminAuth } from '../common/admin-auth.ts';
import { startZoneWorkloads } from '../local/zone-workloads.ts';
import type { FederationPlan } from '../local/plan.ts';
import { announceListening, untilStopSignal } from './lifecycle.ts';

const spec = {
  name: 'sample-app',
  summary: "run one zone's demo shop: sample apps and their sidecars (used by `meshfed up`, which runs the gateway as `meshfed gateway`)",
  usage: 'meshfed sample-app --plan FILE --zone ZONE [--proxy node|haproxy --work-dir DIR]',
  options: {
    proxy: { type: 'string', value: 'node|haproxy', default: 'node', description: 'each app\'s data plane: the Node sidecar, or HAProxy driven by its adapter' },
    'work-dir': { type: 'string', value: 'DIR', description: 'with --proxy haproxy: where each instance\'s haproxy.cfg, certificate files and sockets go (DIR/<instance>... when several)' },
    plan: { type: 'string', value: 'FILE', description: 'the federation plan written by `meshfed up` (<state>/run/plan.json)' },
    zone: { type: 'string', value: 'ZONE', description: 'the zone to run, e.g. us-east-1a' },
    ...ADMIN_TOKENS_OPTION,
    'join-token-dir': { type: 'string', value: 'DIR', description: 'where each instance\'s join token is (<service>.token), for a zone agent that attests workloads' },
  },
  details: 'Prints {"event":"listening",...} once every instance serves. Exit codes: 0 after SIGINT/SIGTERM, 1 start failure, 2 usage error.',
} as const;

export async function run(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const planFile = required(parsed.values.plan, 'plan');
  const zone = required(parsed.values.zone, 'zone');
  const plan = JSON.parse(readFileSync(planFile, 'utf8')) as FederationPlan;
  const proxy = parsed.values.proxy;
  if (proxy !== 'node' && proxy !== 'haproxy') throw new UsageError(`--proxy: "${proxy}" is not node or haproxy`);
  if (proxy === 'haproxy' && parsed.values['work-dir'] === undefined) throw new UsageError('--proxy haproxy needs --work-dir DIR (HAProxy\'s files and sockets go there)');
  const adminTokens = parsed.values['admin-tokens'];
  const joinTokenDir = parsed.values['join-token-dir'];
  const running = await startZoneWorkloads({ plan, zone, ...(adminTokens !== undefined ? { adminAuth: loadAdminAuth(adminTokens) } : {}), ...(joinTokenDir !== undefined ? { joinTokenDir } : {}), ...(proxy === 'haproxy' ? { proxy: { kind: 'haproxy', workDir: parsed.values['work-dir']! } } : {}) });
  announceListening({ zone });
  await untilStopSignal();
  await running.close();
  return 0;
}
