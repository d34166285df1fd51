// `meshfed fault set|clear|list`: L7 fault injection in the sidecars of a federation started by `meshfed up`.
import { parseCommand, parseDuration, parseOutput, renderTable, UsageError } from './args.ts';
import { defaultStateDir, readUpState, type UpState } from '../local/state.ts';
import { meshService } from '../local/plan.ts';

const spec = {
  name: 'fault',
  summary: 'inject or clear L7 faults (abort, delay) in the sidecars started by `meshfed up`',
  usage: 'meshfed fault set --zone ZONE --service NAME (--abort STATUS | --delay DURATION) [--percent N] [--to SERVICE] [--direction outbound|inbound]\n       meshfed fault clear [--zone ZONE] [--service NAME]\n       meshfed fault list [--zone ZONE] [--service NAME] [--output table|json]',
  allowPositionals: true,
  options: {
    zone: { type: 'string', value: 'ZONE', description: 'only sidecars in this zone (set: required)' },
    service: { type: 'string', value: 'NAME', description: 'only sidecars of this service, e.g. catalog or shop/catalog (set: required)' },
    abort: { type: 'string', value: 'STATUS', description: 'answer this HTTP status instead of calling the destination' },
    delay: { type: 'string', value: 'DURATION', description: 'delay requests by this long, e.g. 200ms' },
    percent: { type: 'string', value: 'N', description: 'share of requests affected, 0-100', default: '100' },
    to: { type: 'string', value: 'SERVICE', description: 'only calls to this destination (outbound) ; default every service' },
    direction: { type: 'string', value: 'outbound|inbound', description: 'outbound: calls the sidecar makes; inbound: calls it receives', default: 'outbound' },
    output: { type: 'string', short: 'o', value: 'table|json', description: 'output format', default: 'table' },
    'state-dir': { type: 'string', value: 'DIR', description: 'where meshfed up wrote up.json', default: defaultStateDir() },
  },
  details: 'set replaces the fault rules of the chosen sidecars (PUT /faults on their admin ports); clear removes them.\nExample: meshfed fault set --zone us-east-1a --service frontend --to catalog --abort 503 --percent 50\nExit codes: 0 done, 1 a sidecar refused or is unreachable, 2 usage error.',
} as const;

const full = (s: string) => (s.includes('/') ? s : meshService(s));

function targets(state: UpState, zone: string | undefined, service: string | undefined): { zone: string; instance: string; service: string; adminUrl: string }[] {
  if (zone !== undefined && !state.zones.some((z) => z.name === zone)) throw new UsageError(`--zone: unknown zone "${zone}" (zones: ${state.zones.map((z) => z.name).join(', ')})`);
  const out = state.zones.filter((z) => zone === undefined || z.name === zone).flatMap((z) =>
    z.sidecars.filter((s) => service === undefined || s.service === full(service)).map((s) => ({ zone: z.name, instance: s.instance, service: s.service, adminUrl: s.adminUrl })));
  if (out.length === 0) throw new UsageError(`no sidecar of ${service ?? 'any service'} runs in ${zone ?? 'any zone'}`);
  return out;
}

async function call(method: string, url: string, body?: unknown): Promise<{ ok: boolean; json: unknown; text: string }> {
  try {
    const res = await fetch(url, { method, signal: AbortSignal.timeout(5000), ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { ok: res.ok, json, text };
  } catch (e) {
    return { ok: false, json: undefined, text: `unreachable (${(e as Error).message})` };
  }
}

export async function run(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  const [sub, ...extra] = parsed.positionals;
  if (extra.length > 0 || (sub !== 'set' && sub !== 'clear' && sub !== 'list')) throw new UsageError('give one of: set, clear, list');
  const output = parseOutput(v.output);
  const state = readUpState(v['state-dir']);
  if (!state) throw new UsageError(`no federation found (${v['state-dir']}/up.json); start one with meshfed up`);
  let body: unknown;
  if (sub === 'set') {
    if (v.zone === undefined || v.service === undefined) throw new UsageError('fault set needs --zone and --service');
    if (v.abort === undefined && v.delay === undefined) throw new UsageError('fault set needs --abort STATUS, --delay DURATION, or both');
    const percent = Number(v.percent);
    if (!Number.isFinite(percent) || percent < 0 || percent > 100) throw new UsageError(`--percent: "${v.percent}" is not between 0 and 100`);
    if (v.direction !== 'outbound' && v.direction !== 'inbound') throw new UsageError(`--direction: "${v.direction}" is not outbound or inbound`);
    let status: number | undefined;
    if (v.abort !== undefined) {
      status = Number(v.abort);
      if (!Number.isInteger(status) || status < 200 || status > 599) throw new UsageError(`--abort: "${v.abort}" is not an HTTP status (200-599)`);
    }
    if (v.delay !== undefined) parseDuration(v.delay, 'delay');
    const rule = {
      service: v.to !== undefined ? full(v.to) : v.direction === 'inbound' ? full(v.service) : '*', direction: v.direction,
      ...(v.delay !== undefined ? { delay: { fixed: v.delay, percent } } : {}),
      ...(status !== undefined ? { abort: { httpStatus: status, percent } } : {}),
    };
    body = { rules: [rule] };
  }
  const chosen = targets(state, v.zone, v.service);
  const method = sub === 'set' ? 'PUT' : sub === 'clear' ? 'DELETE' : 'GET';
  const results = await Promise.all(chosen.map(async (t) => ({ ...t, ...(await call(method, `${t.adminUrl}/faults`, body)) })));
  if (output === 'json') {
    process.stdout.write(JSON.stringify(results.map((r) => ({ zone: r.zone, instance: r.instance, service: r.service, ok: r.ok, faults: r.json ?? r.text })), null, 2) + '\n');
  } else {
    process.stdout.write(renderTable(['ZONE', 'INSTANCE', 'RESULT', 'RULES'], results.map((r) => [
      r.zone, r.instance, r.ok ? 'ok' : 'FAILED',
      r.ok ? JSON.stringify((r.json as { rules?: unknown[] } | undefined)?.rules ?? []) : r.text.replace(/\s+/g, ' ').slice(0, 200),
    ])));
  }
  return results.every((r) => r.ok) ? 0 : 1;
}
