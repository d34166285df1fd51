// `meshfed drain ZONE`: takes a zone out of rotation for every service (operator drain; undo with `meshfed undrain`).
import { parseCommand, UsageError } from './args.ts';
import { ADMIN_OPTION, AdminClient, resolveAdminUrl } from './admin-client.ts';
import { isLocalitySegment } from '../api/locality.ts';

/** Shared by drain and undrain. */
export async function setDrain(name: 'drain' | 'undrain', argv: readonly string[]): Promise<number> {
  const spec = {
    name,
    summary: name === 'drain' ? 'take a zone out of rotation for every service' : 'put a drained zone back into rotation',
    usage: `meshfed ${name} ZONE [--admin URL]`,
    allowPositionals: true,
    options: { ...ADMIN_OPTION },
    details: 'Exit codes: 0 done, 1 balancer unreachable or refused, 2 usage error.',
  } as const;
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const [zone, ...extra] = parsed.positionals;
  if (zone === undefined || extra.length > 0) throw new UsageError('give exactly one zone');
  if (!isLocalitySegment(zone)) throw new UsageError(`"${zone}" is not a zone name (lowercase letters, digits, dashes)`);
  const client = new AdminClient(resolveAdminUrl(parsed.values.admin));
  const r = await client.call<{ zone: string; drained: boolean; known: boolean }>('POST', `/v1/zones/${encodeURIComponent(zone)}/${name}`);
  process.stdout.write(`zone ${r.zone} ${r.drained ? 'drained' : 'undrained'}${r.known ? '' : ' (no agent has reported this zone yet)'}\n`);
  return 0;
}

export function run(argv: readonly string[]): Promise<number> {
  return setDrain('drain', argv);
}
