// `meshfed status`: the running federation at a glance: balancer replicas and leader, zones, agent streams, gateways, staleness, etcd members.
import { parseCommand, parseOutput, renderTable } from './args.ts';
import { ADMIN_OPTION, AdminClient, resolveAdminToken, resolveAdminUrl } from './admin-client.ts';
import { defaultStateDir, readUpState } from '../local/state.ts';
import { STALE_GRACE_MS } from '../global-lb/weights/index.ts';
import { etcdMemberName } from '../local/plan.ts';

const spec = {
  name: 'status',
  summary: 'show the federation: balancer replicas and leader, zones and their health, agent streams, gateways, staleness',
  usage: 'meshfed status [--output table|json] [--admin URL] [--state-dir DIR]',
  options: {
    ...ADMIN_OPTION,
    output: { type: 'string', short: 'o', value: 'table|json', description: 'output format', default: 'table' },
    'state-dir': { type: 'string', value: 'DIR', description: 'where meshfed up wrote up.json (for replicas, agents and gateways)', default: defaultStateDir() },
  },
  details: `GATEWAY is the zone's east-west gateway as its admin /stats shows it: "ok" (fed by the agent's relay),
"relay lost" (routing on the last state while it reconnects), "DOWN" (admin unreachable), "-" (not recorded in up.json).
RESTARTS is how often meshfed up restarted the zone's agent, gateway and app instances (from up.json), by component.
ETCD MEMBER (with the etcd store) lists the members meshfed up runs (etcd-1 ... etcd-N): HEALTH is the member's own
/health ("ok": it is in a cluster with a leader; "no leader"; "DOWN": unreachable), with its pid and restarts.
HELD (below the tables) lists components under a \`meshfed hold\`: "down" while kept down, "up" if it still runs.
Exit codes: 0 shown, 1 balancer unreachable, 2 usage error.`,
} as const;

interface BalancerStatus { replicaId: string; leader: boolean; leaderId: string | null; store: { kind: string; ok: boolean; latencyMs: number | null }; agents: { zone: string; connectedAt: number; reports: number; lastReportAt: number }[] }
interface ZoneRow { zone: string; cloud: string; region: string; network: string; alive: boolean; drained: boolean; eligible: boolean; reportAgeSeconds: number | null; services: number; localFailures?: Record<string, number>; windowSeconds?: number; agentLostSeconds?: number }
interface GatewayStats { zone: string; active_connections: number; relay?: { connected: boolean; stale: boolean; appliedVersion: string } }
interface AgentStatus { balancer: { connected: boolean; address: string | null }; weights: { tables: number; ageSeconds: number | null; stale: boolean }; endpoints: number }

async function getJson<T>(url: string, token = resolveAdminToken()): Promise<T | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000), ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}) });
    return res.ok ? ((await res.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}

export async function run(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const output = parseOutput(parsed.values.output);
  const up = readUpState(parsed.values['state-dir']);
  const client = new AdminClient(resolveAdminUrl(parsed.values.admin));
  const [status, zones] = await Promise.all([client.get<BalancerStatus>('/v1/status'), client.get<{ zones: ZoneRow[] }>('/v1/zones')]);
  const replicaUrls = up?.adminUrls ?? [client.baseUrl];
  const replicas = await Promise.all(replicaUrls.map(async (url) => ({ url, status: await getJson<BalancerStatus>(`${url}/v1/status`) })));
  const agents = new Map<string, AgentStatus | undefined>();
  for (const z of up?.zones ?? []) agents.set(z.name, await getJson<AgentStatus>(`${z.agentAdminUrl}/v1/status`));
  const gateways = new Map<string, { adminUrl: string; stats: GatewayStats | undefined }>();
  for (const z of up?.zones ?? []) if (z.gatewayAdminUrl) gateways.set(z.name, { adminUrl: z.gatewayAdminUrl, stats: await getJson<GatewayStats>(`${z.gatewayAdminUrl}/stats`) });
  const members = await Promise.all((up?.etcdEndpoints ?? []).map(async (url, i) => ({ name: etcdMemberName(i + 1), clientUrl: url, health: await etcdHealth(up?.etcdHealthUrls?.[i] ?? url) })));
  const streams = new Map<string, string>();
  for (const r of replicas) for (const a of r.status?.agents ?? []) streams.set(a.zone, r.status!.replicaId);

  if (output === 'json') {
    const components = up?.components.map((c) => ({ name: c.name, pid: c.pid, zone: c.zone ?? null, restarts: c.restarts ?? 0, lastExit: c.lastExit ?? null, hold: c.hold ?? null }));
    process.stdout.write(JSON.stringify({ leader: status.leaderId, store: status.store, replicas, zones: zones.zones, agents: Object.fromEntries(agents), gateways: Object.fromEntries(gateways), etcd: members, components: components ?? [] }, null, 2) + '\n');
    return 0;
  }
  const lines = [
    `leader: ${status.leaderId ?? '(none)'}   store: ${status.store.kind} ${status.store.ok ? 'ok' : 'FAILING'}${status.store.latencyMs != null ? ` (${status.store.latencyMs.toFixed(1)} ms)` : ''}`,
    renderTable(['REPLICA', 'ADMIN', 'ROLE', 'AGENT STREAMS'], replicas.map((r) => [r.status?.replicaId ?? '?', r.url, r.status ? (r.status.leader ? 'leader' : 'follower') : 'UNREACHABLE', r.status ? String(r.status.agents.length) : '-'])).trimEnd(),
    renderTable(
      ['ZONE', 'LOCALITY', 'NETWORK', 'HEALTH', 'REPORT AGE', 'STREAM TO', 'WEIGHTS AGE', 'STALE', 'GATEWAY', 'LOCAL FAILS', 'RESTARTS'],
      zones.zones.map((z) => {
        const a = agents.get(z.zone);
        const health = !z.alive ? lostHealth(z.agentLostSeconds) : z.drained ? 'drained' : z.eligible ? 'eligible' : 'out';
        return [
          z.zone, `${z.cloud}/${z.region}`, z.network, health, z.reportAgeSeconds == null ? '-' : `${z.reportAgeSeconds.toFixed(1)}s`,
          streams.get(z.zone) ?? (a?.balancer.connected ? a.balancer.address ?? '?' : 'none'),
          a?.weights.ageSeconds == null ? '-' : `${a.weights.ageSeconds.toFixed(0)}s`, a === undefined ? '-' : a.weights.stale ? 'STALE' : 'no',
          gatewayHealth(gateways.get(z.zone)),
          localFailures(z),
          up ? zoneRestarts(up.components, z.zone) : '-',
        ];
      }),
    ).trimEnd(),
  ];
  if (members.length > 0) {
    const component = new Map(up!.components.map((c) => [c.name, c]));
    lines.push(renderTable(['ETCD MEMBER', 'CLIENT', 'HEALTH', 'PID', 'RESTARTS'], members.map((m) => {
      const c = component.get(m.name);
      return [m.name, m.clientUrl, m.health, c ? String(c.pid) : '-', c ? String(c.restarts ?? 0) : '-'];
    })).trimEnd());
  }
  const held = up ? heldLine(up.components, Date.now()) : undefined;
  if (held !== undefined) lines.push(held);
  process.stdout.write(lines.join('\n\n') + '\n');
  return 0;
}

/**
 * How often `meshfed up` restarted the zone's components (agent, gateway, app instances): "0", or
 * "2 (agent 1, catalog-v1-0 1)". Components carry their zone in up.json; older files fall back to the name.
 */
export function zoneRestarts(components: readonly { name: string; zone?: string | undefined; restarts?: number | undefined }[], zone: string): string {
  const mine = components.filter((c) => (c.zone ?? zoneOfName(c.name)) === zone && (c.restarts ?? 0) > 0);
  const total = mine.reduce((n, c) => n + (c.restarts ?? 0), 0);
  if (total === 0) return '0';
  const short = (name: string) => name.replace(`-${zone}`, '').replace(/^app-?/, '');
  return `${total} (${mine.map((c) => `${short(c.name)} ${c.restarts}`).join(', ')})`;
}

/** "HELD  app-us-east-1a-catalog-v1-0 (down, 6s left), agent-us-east-1b (up, 2s left)", or undefined when nothing is held. */
export function heldLine(components: readonly { name: string; hold?: { until: string; down: boolean } | undefined }[], now: number): string | undefined {
  const held = components.filter((c) => c.hold !== undefined);
  if (held.length === 0) return undefined;
  const left = (until: string) => `${Math.max(0, Math.ceil((Date.parse(until) - now) / 1000))}s left`;
  return `HELD  ${held.map((c) => `${c.name} (${c.hold!.down ? 'down' : 'up'}, ${left(c.hold!.until)})`).join(', ')}`;
}

function zoneOfName(name: string): string | undefined {
  return /^(?:agent|gateway)-(.+)$/.exec(name)?.[1];
}

/** A zone whose agent lease is gone stays in, stale, while its callers see it serve, for the engine's grace period. */
function lostHealth(seconds: number | undefined): string {
  if (seconds === undefined) return 'lease gone';
  return seconds < STALE_GRACE_MS / 1000 ? `stale (agent lost ${Math.floor(seconds)}s)` : 'lease gone';
}

const LOCAL_LABELS: Record<string, string> = { fault_injected: 'fault', overflow: 'overflow', denied: 'denied', no_endpoint: 'no endpoint', timeout: 'local timeout' };

/**
 * Failures the zone's own sidecars made over the report window ("12 in 5s: fault 12"); they are nobody's health, so
 * they show here rather than in any zone's eligibility.
 */
export function localFailures(z: Pick<ZoneRow, 'localFailures' | 'windowSeconds'>): string {
  const counts = Object.entries(z.localFailures ?? {}).filter(([, n]) => n > 0);
  if (counts.length === 0) return '0';
  const total = counts.reduce((s, [, n]) => s + n, 0);
  return `${total} in ${Math.round(z.windowSeconds ?? 0)}s: ${counts.map(([k, n]) => `${LOCAL_LABELS[k] ?? k} ${n}`).join(', ')}`;
}

/** One member's own view, from its /health (on the plain metrics port): "ok" (a leader), "no leader", or "DOWN" (unreachable). */
async function etcdHealth(healthUrl: string): Promise<string> {
  try {
    const res = await fetch(`${healthUrl}/health`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as { health?: unknown };
    return body.health === 'true' ? 'ok' : 'no leader';
  } catch {
    return 'DOWN';
  }
}

/** One word for a gateway: its admin answered, and whether its relay feed is live. */
function gatewayHealth(g: { stats: GatewayStats | undefined } | undefined): string {
  if (g === undefined) return '-';
  if (g.stats === undefined) return 'DOWN';
  return g.stats.relay && !g.stats.relay.connected ? 'relay lost' : 'ok';
}
