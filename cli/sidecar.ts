// `meshfed sidecar`: run a workload's sidecar (outbound, inbound mTLS, admin) from a hot-reloaded config file.
import { parseCommand, required, UsageError } from './args.ts';
import { loadSidecarConfig } from '../api/sidecar-config.ts';
import { createLogger } from '../common/logger.ts';
import { startSidecar } from '../sidecar/index.ts';

const spec = {
  name: 'sidecar',
  summary: 'run a sidecar: outbound (HTTP/1.1, h2c, gRPC), inbound mTLS with authz, admin port',
  usage: 'meshfed sidecar --service NS/SVC --zone ZONE --app-port PORT --config FILE [--inbound-port P] [--outbound-port P] [--admin-port P]',
  options: {
    service: { type: 'string', value: 'NS/SVC', description: 'this workload\'s service, namespace/name' },
    zone: { type: 'string', value: 'ZONE', description: 'the zone this sidecar runs in (wins over zone: in the config)' },
    'app-port': { type: 'string', value: 'PORT', description: 'the local app\'s port; inbound requests go to 127.0.0.1:PORT' },
    'inbound-port': { type: 'string', value: 'PORT', default: '15006', description: 'mTLS port other sidecars and gateways connect to' },
    'outbound-port': { type: 'string', value: 'PORT', default: '15001', description: 'port the app sends its outbound requests to' },
    'admin-port': { type: 'string', value: 'PORT', default: '15000', description: '/ready /stats /config_dump /faults /metrics' },
    host: { type: 'string', value: 'ADDR', default: '127.0.0.1', description: 'interface to bind the listeners on' },
    config: { type: 'string', value: 'FILE', description: 'sidecar config (YAML/JSON, see docs/sidecar-config.md); watched and hot-reloaded' },
    'access-log-sample': { type: 'string', value: 'RATIO', default: '0.01', description: 'share of requests in the access log (errors and 403s always)' },
  },
  details: `
Until the zone agent's relay feeds it, the sidecar needs --config. A changed file is validated first: a bad one
is refused with path-named errors and the running config stays. SIGINT/SIGTERM stop it.
Exit codes: 0 stopped by a signal, 1 could not start (bad config, busy port, no certificates), 2 usage error.
Example: meshfed sidecar --service shop/web --zone us-east-1a --app-port 8080 --config web.yaml --outbound-port 15001`,
} as const;

function port(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--${flag}: "${text}" is not a port (0-65535)`);
  return n;
}

export async function run(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  const service = required(v.service, 'service');
  if (!/^[a-z0-9-]+\/[a-z0-9-]+$/.test(service)) throw new UsageError(`--service: "${service}" is not namespace/name (e.g. shop/web)`);
  const zone = required(v.zone, 'zone');
  const appPort = port(required(v['app-port'], 'app-port'), 'app-port');
  const file = required(v.config, 'config');
  const sample = Number(v['access-log-sample']);
  if (!(sample >= 0 && sample <= 1)) throw new UsageError(`--access-log-sample: "${v['access-log-sample']}" is not a ratio between 0 and 1`);
  const config = loadSidecarConfig(file);
  const logger = createLogger({ component: 'sidecar', zone });
  const sidecar = await startSidecar({
    service, zone, appPort, config, configFile: file, logger, host: v.host, accessLogSample: sample,
    inboundPort: port(v['inbound-port'], 'inbound-port'), outboundPort: port(v['outbound-port'], 'outbound-port'), adminPort: port(v['admin-port'], 'admin-port'),
  });
  process.stdout.write(`sidecar ${service} (${zone}): outbound ${v.host}:${sidecar.outboundPort} inbound ${v.host}:${sidecar.inboundPort} admin ${v.host}:${sidecar.adminPort}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await sidecar.close();
  return 0;
}
