// `meshfed weights <ns/svc>`: shows a service's weight table (per source zone: target shares, tiers, reasons).
import { parseCommand, parseOutput, renderTable, UsageError } from './args.ts';
import { ADMIN_OPTION, AdminClient, resolveAdminUrl } from './admin-client.ts';
import { exclusiveText, type ServiceTable } from '../global-lb/weights/index.ts';

const spec = {
  name: 'weights',
  summary: 'show the weight table of a service (--explain for reasons)',
  usage: 'meshfed weights <namespace/name | name> [--explain] [--output table|json] [--admin URL]',
  allowPositionals: true,
  options: {
    ...ADMIN_OPTION,
    explain: { type: 'boolean', description: 'add the reason each zone got its share' },
    output: { type: 'string', short: 'o', value: 'table|json', description: 'output format', default: 'table' },
  },
  details: 'Exit codes: 0 shown, 1 no table or balancer unreachable, 2 usage error.',
} as const;

/** Renders a table: one line per (source, target). */
export function renderWeights(table: ServiceTable, explain: boolean): string {
  const header = ['SOURCE', 'TARGET', 'TIER', 'SHARE', ...(explain ? ['REASON'] : [])];
  const rows: string[][] = [];
  for (const row of table.rows) {
    const source = row.sourceZone + (row.panic ? ' (panic)' : '') + (row.exclusive ? ' (exclusive)' : '');
    // A restricted or unservable row says so in its own line, before its targets.
    if (explain && row.exclusive) rows.push([source, '-', '-', '-', exclusiveText(row)]);
    if (row.unavailableReason !== undefined) rows.push([source, '-', '-', '0.00%', ...(explain ? [`unavailable: ${row.unavailableReason}`] : [])]);
    for (const t of row.targets) {
      rows.push([source, t.zone, String(t.tier), `${(t.basisPoints / 100).toFixed(2)}%`, ...(explain ? [t.reason] : [])]);
    }
  }
  return `${table.service}  version ${table.version}  computed ${new Date(table.computedAt).toISOString()}\n` + renderTable(header, rows);
}

export async function run(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const output = parseOutput(parsed.values.output);
  const [service, ...extra] = parsed.positionals;
  if (service === undefined || extra.length > 0) throw new UsageError('give exactly one service as namespace/name (or a name that only one namespace has)');
  const client = new AdminClient(resolveAdminUrl(parsed.values.admin));
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(service);
  const [namespace, name] = m ? [m[1]!, m[2]!] : await resolveShortName(client, service);
  const table = await client.get<ServiceTable>(`/v1/weights/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`);
  process.stdout.write(output === 'json' ? JSON.stringify(table, null, 2) + '\n' : renderWeights(table, parsed.values.explain));
  return 0;
}

/** Turns a bare name ("catalog") into [namespace, name] when exactly one table has that name. */
async function resolveShortName(client: AdminClient, name: string): Promise<[string, string]> {
  if (!/^[^/\s]+$/.test(name)) throw new UsageError(`"${name}" is not namespace/name`);
  const { tables } = await client.get<{ tables: { namespace: string; name: string }[] }>('/v1/weights');
  const matches = tables.filter((t) => t.name === name);
  if (matches.length === 0) throw new UsageError(`no service named "${name}" has a weight table (known: ${tables.map((t) => `${t.namespace}/${t.name}`).join(', ') || 'none'})`);
  if (matches.length > 1) throw new UsageError(`"${name}" is ambiguous: ${matches.map((t) => `${t.namespace}/${t.name}`).join(', ')}; give namespace/name`);
  return [matches[0]!.namespace, name];
}
