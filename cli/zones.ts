// `meshfed zones`: lists the federation's zones with liveness, drain, eligibility and report age.
import { parseCommand, parseOutput, renderTable, UsageError } from './args.ts';
import { ADMIN_OPTION, AdminClient, resolveAdminUrl } from './admin-client.ts';
import type { ZoneView } from '../global-lb/index.ts';

const spec = {
  name: 'zones',
  summary: 'list zones: alive, drained, eligible, last report age',
  usage: 'meshfed zones [--output table|json] [--admin URL]',
  options: {
    ...ADMIN_OPTION,
    output: { type: 'string', short: 'o', value: 'table|json', description: 'output format', default: 'table' },
  },
  details: 'Exit codes: 0 listed, 1 balancer unreachable, 2 usage error.',
} as const;

export async function run(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  if (parsed.positionals.length > 0) throw new UsageError('zones takes no arguments');
  const output = parseOutput(parsed.values.output);
  const client = new AdminClient(resolveAdminUrl(parsed.values.admin));
  const { zones } = await client.get<{ zones: ZoneView[] }>('/v1/zones');
  if (output === 'json') {
    process.stdout.write(JSON.stringify(zones, null, 2) + '\n');
    return 0;
  }
  const rows = zones.map((z) => [
    z.zone, `${z.cloud}/${z.region}`, z.network, z.alive ? 'yes' : 'no', z.drained ? 'yes' : 'no', z.eligible ? 'yes' : 'no',
    z.reportAgeSeconds === undefined ? '-' : `${z.reportAgeSeconds.toFixed(1)}s`, String(z.services),
  ]);
  process.stdout.write(renderTable(['ZONE', 'CLOUD/REGION', 'NETWORK', 'ALIVE', 'DRAINED', 'ELIGIBLE', 'REPORT AGE', 'SERVICES'], rows));
  return 0;
}
