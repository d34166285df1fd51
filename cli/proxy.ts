// `meshfed proxy haproxy`: run a native data plane for one workload: an adapter that drives a local HAProxy from the zone agent's relay.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCommand, parseHostPort, parsePort, required, UsageError } from './args.ts';
import { createLogger } from '../common/logger.ts';
import { isTrustDomain } from '../api/identity.ts';
import { formatHostPort } from '../api/fields.ts';
import { loadRelayOverlay } from '../api/relay-overlay.ts';
import { untilStopSignal } from './lifecycle.ts';

const spec = {
  name: 'proxy',
  summary: 'run a native data plane (HAProxy) for a workload, fed by its zone agent; weights change through the Runtime API',
  usage: 'meshfed proxy haproxy --service NS/SVC --zone ZONE --app-port PORT --agent HOST:PORT [--overlay FILE] [--inbound-port P] [--outbound-port P] [--admin-port P] [--work-dir DIR]',
  allowPositionals: true,
  options: {
    service: { type: 'string', value: 'NS/SVC', description: 'this workload\'s service, namespace/name' },
    zone: { type: 'string', value: 'ZONE', description: 'the zone this workload runs in' },
    'app-port': { type: 'string', value: 'PORT', description: 'the local app\'s port; inbound requests go to 127.0.0.1:PORT' },
    agent: { type: 'string', value: 'HOST:PORT', description: 'the zone agent\'s relay: weights, endpoints, policies and the workload certificate come from it' },
    overlay: { type: 'string', value: 'FILE', description: 'hosts, ports and identities the agent does not relay (the sidecar\'s relay overlay); what HAProxy cannot express is refused at start' },
    'inbound-port': { type: 'string', value: 'PORT', default: '15006', description: 'mTLS port other workloads and gateways connect to' },
    'outbound-port': { type: 'string', value: 'PORT', default: '15001', description: 'port the app sends its outbound requests to (plain HTTP, routed by Host)' },
    'admin-port': { type: 'string', value: 'PORT', default: '15000', description: 'HAProxy serves /ready (app up) and /stats here' },
    host: { type: 'string', value: 'ADDR', default: '127.0.0.1', description: 'interface to bind the listeners on' },
    'work-dir': { type: 'string', value: 'DIR', description: 'where haproxy.cfg, the certificate files and the Runtime API sockets go (default: a new directory under the temp dir)' },
    'trust-domain': { type: 'string', value: 'TD', default: 'cluster.local', description: 'trust domain for the CSR until the agent relays its bundle' },
    'service-account': { type: 'string', value: 'SA', description: 'the workload\'s service account (default: the service name)' },
  },
  details: `
The adapter subscribes to the zone agent exactly as 'meshfed sidecar --agent' does (same states, a workload certificate
through a CSR, fail-static when the agent goes away), renders haproxy.cfg, starts HAProxy (master-worker) and then
changes weights, drains and endpoints through HAProxy's Runtime API (set server ... weight/state, add/del server),
reloading (seamlessly) only when the structure changes. Certificates rotate with set/commit ssl cert. HAProxy's
'show stat' goes back to the agent as the same asked/served stats a Node sidecar sends. See docs/native-proxies.md.
Only 'haproxy' is implemented; nginx is not (docs/native-proxies.md says why).
Exit codes: 0 stopped by a signal, 1 could not start (HAProxy's own error line is printed), 2 usage error.
Example: meshfed proxy haproxy --service shop/web --zone us-east-1a --app-port 8080 --agent 127.0.0.1:15010`,
} as const;

export async function run(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const kind = parsed.positionals[0];
  if (kind === 'nginx') throw new UsageError('nginx is not implemented yet: use `meshfed proxy haproxy` (docs/native-proxies.md, "nginx")');
  if (kind !== 'haproxy' || parsed.positionals.length !== 1) throw new UsageError('give the data plane to run: meshfed proxy haproxy ...');
  const v = parsed.values;
  const service = required(v.service, 'service');
  if (!/^[a-z0-9-]+\/[a-z0-9-]+$/.test(service)) throw new UsageError(`--service: "${service}" is not namespace/name (e.g. shop/web)`);
  const zone = required(v.zone, 'zone');
  const agent = parseHostPort(required(v.agent, 'agent'), 'agent');
  if (!isTrustDomain(v['trust-domain'])) throw new UsageError(`--trust-domain: "${v['trust-domain']}" is not a trust domain (lowercase letters, digits, ".", "-", "_")`);
  const overlay = v.overlay !== undefined ? loadRelayOverlay(v.overlay) : undefined;
  const { startHaproxyAdapter, haproxyBinary, checkOverlay } = await import('../proxy/index.ts');
  if (overlay && v.overlay !== undefined) checkOverlay(overlay, v.overlay);
  const logger = createLogger({ component: 'proxy-haproxy', zone });
  const adapter = await startHaproxyAdapter({
    service, zone, agent: formatHostPort(agent), trustDomain: v['trust-domain'], logger, host: v.host,
    appPort: parsePort(required(v['app-port'], 'app-port'), 'app-port'),
    inboundPort: parsePort(v['inbound-port'], 'inbound-port'), outboundPort: parsePort(v['outbound-port'], 'outbound-port'), adminPort: parsePort(v['admin-port'], 'admin-port'),
    workDir: v['work-dir'] ?? join(tmpdir(), `meshfed-haproxy-${process.pid}`), haproxyBin: haproxyBinary(),
    ...(overlay ? { overlay } : {}), ...(v['service-account'] !== undefined ? { serviceAccount: v['service-account'] } : {}),
  });
  const at = (p: number) => formatHostPort({ host: v.host, port: p });
  process.stdout.write(`proxy haproxy ${service} (${zone}): outbound ${at(adapter.files.outboundPort)} inbound ${at(adapter.files.inboundPort)} admin ${at(adapter.files.adminPort)} (HAProxy master pid ${adapter.haproxy.masterPid}, Runtime API ${adapter.files.adminSocket})\n`);
  await untilStopSignal();
  await adapter.close();
  return 0;
}
