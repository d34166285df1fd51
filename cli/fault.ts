// `meshfed fault set|clear|list`: L7 (abort, delay) and L4 (latency, bandwidth, reset, blackhole) faults in the sidecars and gateways of a federation started by `meshfed up`.
import { parseCommand, parseDuration, parseOutput, renderTable, UsageError } from './args.ts';
import { defaultStateDir, readUpState, upAdminToken, type UpState } from '../local/state.ts';
import { qualifiedService } from '../local/plan.ts';
import { callJson } from '../common/http-json.ts';

const spec = {
  name: 'fault',
  summary: 'inject or clear L7 faults (abort, delay) and L4 faults (latency, bandwidth, reset, blackhole) in the sidecars and gateways started by `meshfed up`',
  usage: 'meshfed fault set --zone ZONE (--service NAME | --gateway) [L7: --abort STATUS | --delay DURATION, --percent N, --to SERVICE, --direction outbound|inbound] [L4: --latency D, --bandwidth BYTES/S, --reset-percent N, --blackhole-percent N]\n       meshfed fault clear [--zone ZONE] [--service NAME | --gateway]\n       meshfed fault list [--zone ZONE] [--service NAME | --gateway] [--output table|json]',
  allowPositionals: true,
  options: {
    zone: { type: 'string', value: 'ZONE', description: 'only sidecars (or the gateway) of this zone (set: required)' },
    service: { type: 'string', value: 'NAME', description: 'only sidecars of this service, e.g. catalog or shop/catalog' },
    gateway: { type: 'boolean', description: "the zone's east-west gateway instead of sidecars (L4 faults only)" },
    abort: { type: 'string', value: 'STATUS', description: 'L7: answer this HTTP status instead of calling the destination' },
    delay: { type: 'string', value: 'DURATION', description: 'L7: delay requests by this long, e.g. 200ms' },
    percent: { type: 'string', value: 'N', description: 'L7: share of requests affected, 0-100', default: '100' },
    to: { type: 'string', value: 'SERVICE', description: 'L7 outbound: only calls to this destination; default every service' },
    direction: { type: 'string', value: 'outbound|inbound', description: 'L7: outbound: calls the sidecar makes; inbound: calls it receives', default: 'outbound' },
    latency: { type: 'string', value: 'DURATION', description: 'L4: added one-way delay on every chunk of inbound connections, e.g. 100ms' },
    bandwidth: { type: 'string', value: 'BYTES/S', description: 'L4: cap each direction of inbound connections at this many bytes per second' },
    'reset-percent': { type: 'string', value: 'N', description: 'L4: reset this share of new inbound connections (TCP RST)' },
    'blackhole-percent': { type: 'string', value: 'N', description: 'L4: swallow this share of new inbound connections (never answered)' },
    output: { type: 'string', short: 'o', value: 'table|json', description: 'output format', default: 'table' },
    'state-dir': { type: 'string', value: 'DIR', description: 'where meshfed up wrote up.json', default: defaultStateDir() },
  },
  details: `set replaces the L7 rules when L7 options are given and the L4 faults when L4 options are given, and keeps
the other part as it is (PATCH /faults on each admin port). An L4 change closes the port's open connections, so
pooled flows meet it at once. clear removes both (DELETE /faults).
Examples:
  meshfed fault set --zone us-east-1a --service frontend --to catalog --abort 503 --percent 50
  meshfed fault set --zone us-east-1a --service catalog --latency 200ms --reset-percent 10
  meshfed fault set --zone europe-west1-b --gateway --blackhole-percent 100
Exit codes: 0 done, 1 a port refused or is unreachable, 2 usage error.`,
} as const;


interface Port {
  readonly zone: string;
  readonly instance: string;
  readonly adminUrl: string;
}

function targets(state: UpState, zone: string | undefined, service: string | undefined, gateway: boolean): Port[] {
  if (zone !== undefined && !state.zones.some((z) => z.name === zone)) throw new UsageError(`--zone: unknown zone "${zone}" (zones: ${state.zones.map((z) => z.name).join(', ')})`);
  if (gateway && service !== undefined) throw new UsageError('give --service or --gateway, not both');
  const zones = state.zones.filter((z) => zone === undefined || z.name === zone);
  const out: Port[] = gateway
    ? zones.filter((z) => z.gatewayAdminUrl !== undefined).map((z) => ({ zone: z.name, instance: 'gateway', adminUrl: z.gatewayAdminUrl! }))
    : zones.flatMap((z) => z.sidecars.filter((s) => service === undefined || s.service === qualifiedService(service)).map((s) => ({ zone: z.name, instance: s.instance, adminUrl: s.adminUrl })));
  if (out.length === 0) throw new UsageError(gateway ? `no gateway admin port in ${zone ?? 'any zone'}` : `no sidecar of ${service ?? 'any service'} runs in ${zone ?? 'any zone'}`);
  return out;
}

type Values = NonNullable<ReturnType<typeof parseCommand<typeof spec.options>>>['values'];

function percentOf(v: string, flag: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 100) throw new UsageError(`--${flag}: "${v}" is not between 0 and 100`);
  return n;
}

/** The L7 rule `set` asks for, or undefined when no L7 option is given. */
function l7Rule(v: Values): Record<string, unknown> | undefined {
  if (v.abort === undefined && v.delay === undefined) return undefined;
  const percent = percentOf(v.percent, 'percent');
  if (v.direction !== 'outbound' && v.direction !== 'inbound') throw new UsageError(`--direction: "${v.direction}" is not outbound or inbound`);
  let status: number | undefined;
  if (v.abort !== undefined) {
    status = Number(v.abort);
    if (!Number.isInteger(status) || status < 200 || status > 599) throw new UsageError(`--abort: "${v.abort}" is not an HTTP status (200-599)`);
  }
  if (v.delay !== undefined) parseDuration(v.delay, 'delay');
  return {
    service: v.to !== undefined ? qualifiedService(v.to) : v.direction === 'inbound' && v.service !== undefined ? qualifiedService(v.service) : '*', direction: v.direction,
    ...(v.delay !== undefined ? { delay: { fixed: v.delay, percent } } : {}),
    ...(status !== undefined ? { abort: { httpStatus: status, percent } } : {}),
  };
}

/** The L4 faults `set` asks for, or undefined when no L4 option is given. */
function l4Faults(v: Values): Record<string, number> | undefined {
  if (v.latency === undefined && v.bandwidth === undefined && v['reset-percent'] === undefined && v['blackhole-percent'] === undefined) return undefined;
  const bandwidth = v.bandwidth === undefined ? 0 : Number(v.bandwidth);
  if (!Number.isFinite(bandwidth) || bandwidth < 0) throw new UsageError(`--bandwidth: "${v.bandwidth}" is not a number of bytes per second`);
  const l4 = {
    latencyMs: v.latency === undefined ? 0 : parseDuration(v.latency, 'latency'),
    bandwidthBytesPerSec: bandwidth,
    resetPercent: v['reset-percent'] === undefined ? 0 : percentOf(v['reset-percent'], 'reset-percent'),
    blackholePercent: v['blackhole-percent'] === undefined ? 0 : percentOf(v['blackhole-percent'], 'blackhole-percent'),
  };
  if (l4.resetPercent + l4.blackholePercent > 100) throw new UsageError('--reset-percent plus --blackhole-percent must not exceed 100');
  return l4;
}

/** Sets one port: PATCH /faults replaces the parts given (rules, l4) and keeps the other as it is. */
function setPort(url: string, rule: Record<string, unknown> | undefined, l4: Record<string, number> | undefined, token: string | undefined) {
  return callJson('PATCH', `${url}/faults`, { ...(rule !== undefined ? { rules: [rule] } : {}), ...(l4 !== undefined ? { l4 } : {}) }, 5000, token);
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
  const gateway = v.gateway === true;
  let rule: Record<string, unknown> | undefined;
  let l4: Record<string, number> | undefined;
  if (sub === 'set') {
    if (v.zone === undefined || (v.service === undefined && !gateway)) throw new UsageError('fault set needs --zone and --service (or --gateway)');
    rule = l7Rule(v);
    l4 = l4Faults(v);
    if (rule === undefined && l4 === undefined) throw new UsageError('fault set needs an L7 fault (--abort, --delay) or an L4 fault (--latency, --bandwidth, --reset-percent, --blackhole-percent)');
    if (gateway && rule !== undefined) throw new UsageError('a gateway never sees requests: give it L4 faults only');
  }
  const chosen = targets(state, v.zone, v.service, gateway);
  const token = process.env['MESHFED_ADMIN_TOKEN'] ?? upAdminToken(state);
  const results = await Promise.all(chosen.map(async (t) => ({
    ...t, ...(sub === 'set' ? await setPort(t.adminUrl, rule, l4, token) : await callJson(sub === 'clear' ? 'DELETE' : 'GET', `${t.adminUrl}/faults`, undefined, 5000, token)),
  })));
  if (output === 'json') {
    process.stdout.write(JSON.stringify(results.map((r) => ({ zone: r.zone, instance: r.instance, ok: r.ok, faults: r.json ?? r.text })), null, 2) + '\n');
  } else {
    process.stdout.write(renderTable(['ZONE', 'INSTANCE', 'RESULT', 'RULES', 'L4'], results.map((r) => {
      const f = r.json as { rules?: unknown[]; l4?: Record<string, number> } | undefined;
      const l4Text = Object.entries(f?.l4 ?? {}).filter(([, n]) => n > 0).map(([k, n]) => `${k}=${n}`).join(' ') || '-';
      return [r.zone, r.instance, r.ok ? 'ok' : 'FAILED', r.ok ? JSON.stringify(f?.rules ?? []) : r.text.replace(/\s+/g, ' ').slice(0, 200), r.ok ? l4Text : ''];
    })));
  }
  return results.every((r) => r.ok) ? 0 : 1;
}
