// `meshfed gateway`: run a zone's east-west gateway, routing TLS by SNI to local endpoints without decrypting.
import { ADMIN_TOKENS_OPTION, parseCommand, parseHostPort, required, UsageError } from './args.ts';
import { loadAdminAuth } from '../common/admin-auth.ts';
import { loadSidecarConfig } from '../api/sidecar-config.ts';
import { formatHostPort } from '../api/fields.ts';
import { loadRelayOverlay } from '../api/relay-overlay.ts';
import { createLogger } from '../common/logger.ts';
import { startGatewayProcess } from '../sidecar/index.ts';
import { untilStopSignal } from './lifecycle.ts';
import { isLocalitySegment } from '../api/locality.ts';

const spec = {
  name: 'gateway',
  summary: 'run an east-west gateway: SNI passthrough (outbound_.PORT_.SUBSET_.HOST) to this zone\'s endpoints',
  usage: 'meshfed gateway --zone ZONE --listen HOST:PORT (--agent HOST:PORT [--overlay FILE] | --config FILE) [--admin HOST:PORT]',
  options: {
    zone: { type: 'string', value: 'ZONE', description: 'the zone whose endpoints this gateway serves' },
    listen: { type: 'string', value: 'HOST:PORT', description: 'where callers from other networks connect' },
    agent: { type: 'string', value: 'HOST:PORT', description: 'the zone agent\'s relay: the zone\'s services and endpoints come from it (no certificate: the gateway holds no key)' },
    overlay: { type: 'string', value: 'FILE', description: 'with --agent: hosts, ports and subsets of services the agent does not relay (docs/sidecar-config.md, "Relay overlay")' },
    config: { type: 'string', value: 'FILE', description: 'the sidecar config format; services.*.endpoints.ZONE are the targets; hot-reloaded' },
    admin: { type: 'string', value: 'HOST:PORT', default: '127.0.0.1:15020', description: '/ready /stats /config_dump /faults (L4) /metrics' },
    ...ADMIN_TOKENS_OPTION,
  },
  details: `
Give exactly one route source. --agent subscribes to the zone agent as a gateway: the agent relays its zone's
services and endpoints and signs nothing for it; if the agent goes away the gateway keeps routing on the last
state and reconnects with backoff (/stats shows the intake under "relay"). --config reads a file instead; a
changed file is validated first and a bad one is refused, keeping the running routes.
The gateway holds no workload key: it reads only the cleartext SNI of each ClientHello and pipes the TCP stream,
so mTLS stays end to end between the two sidecars. Unknown SNI and non-TLS connections are closed and counted
(meshfed_gateway_connections_refused_total{reason}). SIGINT/SIGTERM stop it.
Exit codes: 0 stopped by a signal, 1 could not start (bad config, busy port, no state from the agent), 2 usage error.
Example: meshfed gateway --zone eu-west-1a --listen 127.0.0.1:15443 --agent 127.0.0.1:15010
Example: meshfed gateway --zone eu-west-1a --listen 127.0.0.1:15443 --config zone.yaml`,
} as const;

export async function run(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  const zone = required(v.zone, 'zone');
  if (!isLocalitySegment(zone)) throw new UsageError(`--zone: "${zone}" is not a DNS label`);
  const listen = parseHostPort(required(v.listen, 'listen'), 'listen');
  const admin = parseHostPort(v.admin, 'admin');
  if ((v.agent === undefined) === (v.config === undefined)) throw new UsageError('give exactly one of --agent HOST:PORT (the zone agent feeds the gateway) or --config FILE');
  if (v.overlay !== undefined && v.agent === undefined) throw new UsageError('--overlay goes with --agent (a --config file already holds hosts, ports and subsets)');
  const overlay = v.overlay !== undefined ? loadRelayOverlay(v.overlay) : undefined;
  const logger = createLogger({ component: 'gateway', zone });
  const common = {
    zone, host: listen.host, port: listen.port, adminHost: admin.host, adminPort: admin.port, logger,
    ...(v['admin-tokens'] !== undefined ? { adminAuth: loadAdminAuth(v['admin-tokens']) } : {}),
  };
  let gw: { gateway: { port: number }; adminPort: number; close(): Promise<void> };
  if (v.agent !== undefined) {
    const agent = parseHostPort(v.agent, 'agent');
    // Loaded only here: the relay client pulls in grpc-js and protobufjs, which a --config gateway never uses.
    const { startRelayedGateway } = await import('../sidecar/relay/index.ts');
    gw = await startRelayedGateway({ ...common, agent: formatHostPort(agent), ...(overlay ? { overlay } : {}) });
  } else {
    const file = v.config as string;
    gw = await startGatewayProcess({ ...common, config: loadSidecarConfig(file), configFile: file });
  }
  process.stdout.write(`gateway ${zone}: listening ${formatHostPort({ host: listen.host, port: gw.gateway.port })} admin ${formatHostPort({ host: admin.host, port: gw.adminPort })}\n`);
  await untilStopSignal();
  await gw.close();
  return 0;
}
