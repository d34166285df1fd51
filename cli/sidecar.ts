// `meshfed sidecar`: run a workload's sidecar (outbound, inbound mTLS, admin) fed by its zone agent or a hot-reloaded config file.
import { loadAdminAuth } from '../common/admin-auth.ts';
import { readConfigText } from '../api/load.ts';
import { ADMIN_TOKENS_OPTION, BUNDLE_SIGNER_OPTION, parseCommand, parseHostPort, parsePort, readBundleSigners, required, UsageError } from './args.ts';
import { loadSidecarConfig } from '../api/sidecar-config.ts';
import { createLogger } from '../common/logger.ts';
import { startSidecar } from '../sidecar/index.ts';
import { isTrustDomain } from '../api/identity.ts';
import { untilStopSignal } from './lifecycle.ts';
import { formatHostPort } from '../api/fields.ts';
import { loadRelayOverlay } from '../api/relay-overlay.ts';

const spec = {
  name: 'sidecar',
  summary: 'run a sidecar: outbound (HTTP/1.1, h2c, gRPC), inbound mTLS with authz, admin port',
  usage: 'meshfed sidecar --service NS/SVC --zone ZONE --app-port PORT (--agent HOST:PORT [--overlay FILE] | --config FILE) [--inbound-port P] [--outbound-port P] [--admin-port P]',
  options: {
    service: { type: 'string', value: 'NS/SVC', description: 'this workload\'s service, namespace/name' },
    zone: { type: 'string', value: 'ZONE', description: 'the zone this sidecar runs in (wins over zone: in the config)' },
    'app-port': { type: 'string', value: 'PORT', description: 'the local app\'s port; inbound requests go to 127.0.0.1:PORT' },
    'inbound-port': { type: 'string', value: 'PORT', default: '15006', description: 'mTLS port other sidecars and gateways connect to' },
    'outbound-port': { type: 'string', value: 'PORT', default: '15001', description: 'port the app sends its outbound requests to' },
    'admin-port': { type: 'string', value: 'PORT', default: '15000', description: '/ready /stats /config_dump /faults /metrics' },
    host: { type: 'string', value: 'ADDR', default: '127.0.0.1', description: 'interface to bind the listeners on' },
    agent: { type: 'string', value: 'HOST:PORT', description: 'the zone agent\'s relay: weights, endpoints, policies and the workload certificate come from it' },
    overlay: { type: 'string', value: 'FILE', description: 'with --agent: hosts, ports, identities, subsets, routes and authz the agent does not relay (docs/sidecar-config.md, "Relay overlay")' },
    ...BUNDLE_SIGNER_OPTION,
    ...ADMIN_TOKENS_OPTION,
    'join-token': { type: 'string', value: 'FILE', description: 'with --agent: a file holding the join token that proves this workload\'s namespace and service account to the agent' },
    config: { type: 'string', value: 'FILE', description: 'sidecar config (YAML/JSON, see docs/sidecar-config.md); watched and hot-reloaded' },
    'trust-domain': { type: 'string', value: 'TD', default: 'cluster.local', description: 'with --agent: trust domain for the CSR until the agent relays its bundle' },
    'service-account': { type: 'string', value: 'SA', description: 'with --agent: the workload\'s service account (default: the service name)' },
    'access-log-sample': { type: 'string', value: 'RATIO', default: '0.01', description: 'share of requests in the access log (errors and 403s always)' },
  },
  details: `
Give exactly one config source. --agent subscribes to the zone agent: the sidecar makes its own key, sends a CSR,
installs the signed certificate, rotates when asked, applies every relayed state and sends its stats back; if the
agent goes away it keeps serving on the last state and reconnects with backoff (see docs/sidecar.md, "Relay").
--config reads a file instead; a changed file is validated first: a bad one is refused with path-named errors and
the running config stays. SIGINT/SIGTERM stop it.
Exit codes: 0 stopped by a signal, 1 could not start (bad config, busy port, no certificates), 2 usage error.
Example: meshfed sidecar --service shop/web --zone us-east-1a --app-port 8080 --agent 127.0.0.1:15010
Example: meshfed sidecar --service shop/web --zone us-east-1a --app-port 8080 --config web.yaml --outbound-port 15001`,
} as const;

export async function run(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  const service = required(v.service, 'service');
  if (!/^[a-z0-9-]+\/[a-z0-9-]+$/.test(service)) throw new UsageError(`--service: "${service}" is not namespace/name (e.g. shop/web)`);
  const zone = required(v.zone, 'zone');
  const appPort = parsePort(required(v['app-port'], 'app-port'), 'app-port');
  if ((v.agent === undefined) === (v.config === undefined)) throw new UsageError('give exactly one of --agent HOST:PORT (the zone agent feeds the sidecar) or --config FILE');
  const sample = Number(v['access-log-sample']);
  if (!(sample >= 0 && sample <= 1)) throw new UsageError(`--access-log-sample: "${v['access-log-sample']}" is not a ratio between 0 and 1`);
  if (!isTrustDomain(v['trust-domain'])) throw new UsageError(`--trust-domain: "${v['trust-domain']}" is not a trust domain (lowercase letters, digits, ".", "-", "_")`);
  if (v.overlay !== undefined && v.agent === undefined) throw new UsageError('--overlay goes with --agent (a --config file already holds routes, subsets and authz)');
  const overlay = v.overlay !== undefined ? loadRelayOverlay(v.overlay) : undefined;
  const logger = createLogger({ component: 'sidecar', zone });
  const common = {
    service, zone, appPort, logger, host: v.host, accessLogSample: sample,
    inboundPort: parsePort(v['inbound-port'], 'inbound-port'), outboundPort: parsePort(v['outbound-port'], 'outbound-port'), adminPort: parsePort(v['admin-port'], 'admin-port'),
    ...(v['admin-tokens'] !== undefined ? { adminAuth: loadAdminAuth(v['admin-tokens']) } : {}),
  };
  let sidecar: { inboundPort: number; outboundPort: number; adminPort: number; close(): Promise<void> };
  if (v.agent !== undefined) {
    const agent = parseHostPort(v.agent, 'agent');
    // Loaded only here: the relay client pulls in grpc-js and protobufjs (~10 MB RSS), which a --config sidecar never uses.
    const { startRelayedSidecar } = await import('../sidecar/relay/index.ts');
    const relayed = await startRelayedSidecar({
      ...common, agent: formatHostPort(agent), trustDomain: v['trust-domain'], ...(overlay ? { overlay } : {}),
      ...(v['service-account'] !== undefined ? { serviceAccount: v['service-account'] } : {}),
      bundleSigners: readBundleSigners(v['bundle-signer']),
      ...(v['join-token'] !== undefined ? { credential: readConfigText(v['join-token']).trim() } : {}),
    });
    sidecar = { ...relayed.sidecar, close: () => relayed.close() };
  } else {
    const file = v.config as string;
    sidecar = await startSidecar({ ...common, config: loadSidecarConfig(file), configFile: file });
  }
  const at = (port: number) => formatHostPort({ host: v.host, port });
  process.stdout.write(`sidecar ${service} (${zone}): outbound ${at(sidecar.outboundPort)} inbound ${at(sidecar.inboundPort)} admin ${at(sidecar.adminPort)}\n`);
  await untilStopSignal();
  await sidecar.close();
  return 0;
}
