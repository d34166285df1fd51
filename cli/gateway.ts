// `meshfed gateway`: run a zone's east-west gateway, routing TLS by SNI to local endpoints without decrypting.
import { parseCommand, parseHostPort, required, UsageError } from './args.ts';
import { loadSidecarConfig } from '../api/sidecar-config.ts';
import { createLogger } from '../common/logger.ts';
import { startGatewayProcess } from '../sidecar/index.ts';
import { untilStopSignal } from './lifecycle.ts';
import { isLocalitySegment } from '../api/locality.ts';

const spec = {
  name: 'gateway',
  summary: 'run an east-west gateway: SNI passthrough (outbound_.PORT_.SUBSET_.HOST) to this zone\'s endpoints',
  usage: 'meshfed gateway --zone ZONE --listen HOST:PORT --config FILE [--admin HOST:PORT]',
  options: {
    zone: { type: 'string', value: 'ZONE', description: 'the zone whose endpoints this gateway serves' },
    listen: { type: 'string', value: 'HOST:PORT', description: 'where callers from other networks connect' },
    config: { type: 'string', value: 'FILE', description: 'the sidecar config format; services.*.endpoints.ZONE are the targets; hot-reloaded' },
    admin: { type: 'string', value: 'HOST:PORT', default: '127.0.0.1:15020', description: '/ready /stats /config_dump /faults (L4) /metrics' },
  },
  details: `
The gateway holds no workload key: it reads only the cleartext SNI of each ClientHello and pipes the TCP stream,
so mTLS stays end to end between the two sidecars. Unknown SNI and non-TLS connections are closed and counted
(meshfed_gateway_connections_refused_total{reason}). SIGINT/SIGTERM stop it.
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
  const file = required(v.config, 'config');
  const config = loadSidecarConfig(file);
  const logger = createLogger({ component: 'gateway', zone });
  const gw = await startGatewayProcess({ zone, host: listen.host, port: listen.port, adminHost: admin.host, adminPort: admin.port, config, configFile: file, logger });
  process.stdout.write(`gateway ${zone}: listening ${listen.host}:${gw.gateway.port} admin ${admin.host}:${gw.adminPort}\n`);
  await untilStopSignal();
  await gw.close();
  return 0;
}
