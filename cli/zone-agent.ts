// `meshfed zone-agent`: runs one zone agent (discovery, reporting to global-lb, relay to sidecars) until signalled.
import { loadAdminAuth } from '../common/admin-auth.ts';
import { loadJoinTokens } from '../zone-agent/relay/attestation.ts';
import { ADMIN_TOKENS_OPTION, BUNDLE_SIGNER_OPTION, parseCommand, parseDuration, parseHostPort, readBundleSigners, required, UsageError } from './args.ts';
import { MeshfedError } from '../common/errors.ts';
import { createLogger } from '../common/logger.ts';
import { agentConfigSchema, loadAgentConfigFile, type AgentConfig } from '../api/agent-config.ts';
import { isTrustDomain } from '../api/identity.ts';
import { parseLocality, formatLocality, type Locality } from '../api/locality.ts';
import { dnsLabelSchema, formatDurationMs, formatHostPort, parseHostPortText } from '../api/fields.ts';
import { startZoneAgent, type DiscoverySpec } from '../zone-agent/index.ts';
import { announceListening, untilStopSignal } from './lifecycle.ts';

const shape = agentConfigSchema.shape;

/**
 * The defaults of every setting a flag can leave out, read from the config schema (parsing "absent" yields the
 * default) so a flag-only agent and a file-configured one cannot drift apart, and --help shows what really applies.
 */
export const ZONE_AGENT_DEFAULTS = {
  trustDomain: shape.trustDomain.parse(undefined),
  relayListen: shape.relayListen.parse(undefined),
  adminListen: shape.adminListen.parse(undefined),
  stateDir: shape.stateDir.parse(undefined),
  reportIntervalMs: shape.reportInterval.parse(undefined),
  evidenceWindowMs: shape.evidenceWindow.parse(undefined),
  workloadCertTtlMs: shape.certTtl.parse(undefined),
  identityTtlMs: shape.identityTtl.parse(undefined),
  healthCheck: shape.healthCheck.parse(undefined),
} as const;

const D = ZONE_AGENT_DEFAULTS;

const spec = {
  name: 'zone-agent',
  summary: 'run a zone agent (endpoint discovery, reports to global-lb, relay to sidecars)',
  usage: 'meshfed zone-agent --zone CLOUD/REGION/ZONE --cluster NAME --network NAME --global-lb ADDR[,ADDR...] (--kubeconfig FILE | --in-cluster | --static FILE) (--ca DIR | --insecure) [options]',
  allowPositionals: false,
  options: {
    config: { type: 'string', value: 'FILE', description: 'a zone-agent config file (api/agent-config.ts); flags override it' },
    zone: { type: 'string', value: 'CLOUD/REGION/ZONE', description: 'the locality this agent serves, e.g. aws/us-east-1/us-east-1a' },
    cluster: { type: 'string', value: 'NAME', description: 'the cluster name (a DNS label)' },
    network: { type: 'string', value: 'NAME', description: 'the network name; zones on one network reach each other directly' },
    'global-lb': { type: 'string', value: 'ADDR[,ADDR...]', description: 'every global-lb replica as host:port; the agent fails over between them' },
    kubeconfig: { type: 'string', value: 'FILE', description: 'discover endpoints from Kubernetes with this kubeconfig' },
    'in-cluster': { type: 'boolean', description: 'discover endpoints from Kubernetes with the pod\'s service account' },
    static: { type: 'string', value: 'FILE', description: 'discover endpoints from a static YAML file (api/static-discovery.ts), re-read on change' },
    ca: { type: 'string', value: 'DIR', description: 'the cluster\'s plug-in CA directory (root-cert.pem, ca-cert.pem, ca-key.pem, cert-chain.pem)' },
    ...BUNDLE_SIGNER_OPTION,
    ...ADMIN_TOKENS_OPTION,
    'join-tokens': { type: 'string', value: 'FILE', description: 'attest workloads: { tokens: [{ namespace, serviceAccount, sha256 }] }; a sidecar without a join token for its identity is refused (docs/security.md)' },
    insecure: { type: 'boolean', description: 'plaintext to global-lb (local development only; logs a warning)' },
    'trust-domain': { type: 'string', value: 'TD', description: `the SPIFFE trust domain (default ${D.trustDomain})` },
    gateway: { type: 'string', value: 'HOST:PORT', description: 'this zone\'s east-west gateway as other networks reach it' },
    'relay-listen': { type: 'string', value: 'HOST:PORT', description: `the sidecar relay gRPC listener (default ${formatHostPort(D.relayListen)})` },
    'admin-listen': { type: 'string', value: 'HOST:PORT', description: `the admin HTTP listener: /v1/status, /metrics, /healthz (default ${formatHostPort(D.adminListen)})` },
    'state-dir': { type: 'string', value: 'DIR', description: `where the last good weights are kept for fail-static (default ${D.stateDir})` },
    'report-interval': { type: 'string', value: 'DURATION', description: `how often to report to global-lb (default ${formatDurationMs(D.reportIntervalMs)})` },
    'evidence-window': { type: 'string', value: 'DURATION', description: `how far back each report's counters reach, so low-rate services still count (default ${formatDurationMs(D.evidenceWindowMs)})` },
    'cert-ttl': { type: 'string', value: 'DURATION', description: `lifetime of sidecar certificates; they rotate at half-life (default ${formatDurationMs(D.workloadCertTtlMs)})` },
    'identity-ttl': { type: 'string', value: 'DURATION', description: `lifetime of the agent's own zone certificate for mTLS to global-lb; renewed at half-life plus jitter (default ${formatDurationMs(D.identityTtlMs)})` },
  },
  details: `
Exit codes: 0 after SIGINT/SIGTERM, 1 when the agent cannot start, 2 for usage errors.
When global-lb is unreachable the agent keeps serving sidecars the last good weights (fail-static); see
GET /v1/status and the meshfed_weights_age_seconds metric on the admin port.
Example: meshfed zone-agent --zone sim/r1/a1 --cluster c1 --network n1 --global-lb 127.0.0.1:15200 --static services.yaml --insecure`,
} as const;

/** The resolved settings, from a config file and flags (flags win). Exported for tests. */
export interface ResolvedAgentArgs {
  readonly locality: Locality;
  readonly cluster: string;
  readonly network: string;
  readonly trustDomain: string;
  readonly globalLb: string[];
  readonly insecure: boolean;
  readonly discovery: DiscoverySpec;
  readonly caDir?: string;
  readonly bundleSigners: readonly string[];
  readonly adminTokens?: string;
  readonly joinTokens?: string;
  readonly gatewayAddress?: string;
  readonly relayListen: { host: string; port: number };
  readonly adminListen: { host: string; port: number };
  readonly stateDir: string;
  readonly reportIntervalMs: number;
  readonly evidenceWindowMs: number;
  readonly workloadCertTtlMs: number;
  readonly identityTtlMs: number;
  readonly healthCheck: AgentConfig['healthCheck'];
}

/** Turns argv into agent settings; throws UsageError for anything a user must fix. */
export function resolveArgs(argv: readonly string[]): ResolvedAgentArgs | undefined {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return undefined;
  const v = parsed.values;
  const base = v.config ? loadAgentConfigFile(v.config) : undefined;

  const zoneText = v.zone ?? (base ? formatLocality(base.zone) : undefined);
  const locality = parseLocality(required(zoneText, 'zone'));
  if (!locality) throw new UsageError(`--zone: "${zoneText}" is not CLOUD/REGION/ZONE (each a DNS label, e.g. aws/us-east-1/us-east-1a)`);
  const cluster = required(v.cluster ?? base?.cluster, 'cluster');
  const network = required(v.network ?? base?.network, 'network');
  for (const [flag, value] of [['cluster', cluster], ['network', network]] as const) {
    if (!dnsLabelSchema.safeParse(value).success) throw new UsageError(`--${flag}: "${value}" is not a DNS label (lowercase letters, digits, "-")`);
  }
  const trustDomain = v['trust-domain'] ?? base?.trustDomain ?? D.trustDomain;
  if (!isTrustDomain(trustDomain)) throw new UsageError(`--trust-domain: "${trustDomain}" is not a SPIFFE trust domain`);

  let globalLb: string[];
  if (v['global-lb'] !== undefined) {
    globalLb = v['global-lb'].split(',').map((s) => s.trim()).filter((s) => s !== '');
    for (const a of globalLb) if (!parseHostPortText(a)) throw new UsageError(`--global-lb: "${a}" is not HOST:PORT`);
  } else {
    globalLb = (base?.globalLb.addresses ?? []).map(formatHostPort);
  }
  if (globalLb.length === 0) throw new UsageError('missing required option --global-lb (every replica as host:port, comma-separated)');

  const sources = [v.kubeconfig !== undefined, v['in-cluster'], v.static !== undefined].filter(Boolean).length;
  if (sources > 1) throw new UsageError('--kubeconfig, --in-cluster and --static exclude each other');
  let discovery: DiscoverySpec;
  if (v.kubeconfig !== undefined) discovery = { kind: 'kubernetes', kubeconfig: v.kubeconfig };
  else if (v['in-cluster']) discovery = { kind: 'kubernetes', inCluster: true };
  else if (v.static !== undefined) discovery = { kind: 'static', file: v.static };
  else if (base?.discovery.type === 'static') discovery = { kind: 'static', file: base.discovery.file };
  else if (base?.discovery.type === 'kubernetes') {
    const d = base.discovery;
    discovery = {
      kind: 'kubernetes', namespaces: [...d.namespaces],
      ...(d.inCluster ? { inCluster: true } : { kubeconfig: d.kubeconfig as string }),
      ...(d.context !== undefined ? { context: d.context } : {}),
    };
  } else throw new UsageError('say where endpoints come from: --kubeconfig FILE, --in-cluster or --static FILE');

  const caDir = v.ca ?? base?.caDir;
  const insecure = v.insecure || (base?.globalLb.insecure ?? false);
  if (!insecure && caDir === undefined) throw new UsageError('give --ca DIR (the cluster CA, for mTLS to global-lb and sidecar certificates), or --insecure for local development');
  const gateway = v.gateway ?? (base?.gatewayAddress ? formatHostPort(base.gatewayAddress) : undefined);
  if (gateway !== undefined && !parseHostPortText(gateway)) throw new UsageError(`--gateway: "${gateway}" is not HOST:PORT`);
  const reportIntervalMs = v['report-interval'] ? parseDuration(v['report-interval'], 'report-interval') : (base?.reportInterval ?? D.reportIntervalMs);
  if (reportIntervalMs < 100 || reportIntervalMs > 60_000) throw new UsageError('--report-interval: must be between 100ms and 60s');
  const evidenceWindowMs = v['evidence-window'] ? parseDuration(v['evidence-window'], 'evidence-window') : (base?.evidenceWindow ?? D.evidenceWindowMs);
  if (evidenceWindowMs < 100 || evidenceWindowMs > 300_000) throw new UsageError('--evidence-window: must be between 100ms and 5m');
  const workloadCertTtlMs = v['cert-ttl'] ? parseDuration(v['cert-ttl'], 'cert-ttl') : (base?.certTtl ?? D.workloadCertTtlMs);
  if (workloadCertTtlMs < 60_000) throw new UsageError('--cert-ttl: must be at least 1m');
  const identityTtlMs = v['identity-ttl'] ? parseDuration(v['identity-ttl'], 'identity-ttl') : (base?.identityTtl ?? D.identityTtlMs);
  if (identityTtlMs < 60_000) throw new UsageError('--identity-ttl: must be at least 1m');

  return {
    locality, cluster, network, trustDomain, globalLb, insecure, discovery,
    ...(caDir !== undefined ? { caDir } : {}),
    bundleSigners: readBundleSigners(v['bundle-signer']),
    ...(v['admin-tokens'] !== undefined ? { adminTokens: v['admin-tokens'] } : {}),
    ...(v['join-tokens'] !== undefined ? { joinTokens: v['join-tokens'] } : {}),
    ...(gateway !== undefined ? { gatewayAddress: gateway } : {}),
    relayListen: v['relay-listen'] ? parseHostPort(v['relay-listen'], 'relay-listen') : (base?.relayListen ?? D.relayListen),
    adminListen: v['admin-listen'] ? parseHostPort(v['admin-listen'], 'admin-listen') : (base?.adminListen ?? D.adminListen),
    stateDir: v['state-dir'] ?? base?.stateDir ?? D.stateDir,
    reportIntervalMs,
    evidenceWindowMs,
    workloadCertTtlMs,
    identityTtlMs,
    // Probes run only for services whose discovery names a health-check path.
    healthCheck: base?.healthCheck ?? D.healthCheck,
  };
}

/** Runs the agent until SIGINT or SIGTERM. */
export async function run(argv: readonly string[]): Promise<number> {
  const args = resolveArgs(argv);
  if (!args) return 0;
  const logger = createLogger({ component: 'zone-agent', zone: args.locality.zone });
  let agent;
  try {
    agent = await startZoneAgent({
      ...args, logger,
      ...(args.adminTokens !== undefined ? { adminAuth: loadAdminAuth(args.adminTokens) } : {}),
      ...(args.joinTokens !== undefined ? { attestation: loadJoinTokens(args.joinTokens) } : {}),
    });
  } catch (e) {
    if (e instanceof MeshfedError) throw e;
    throw new MeshfedError('MESHFED_E_INTERNAL', `cannot start: ${(e as Error).message}`, { cause: e });
  }
  // Bracketed for IPv6 so the printed addresses paste back into --agent/--admin flags and URLs.
  announceListening({
    zone: args.locality.zone,
    relay: formatHostPort({ host: args.relayListen.host, port: agent.relayPort }),
    admin: `http://${formatHostPort({ host: args.adminListen.host, port: agent.adminPort })}`,
  });
  logger.info({ signal: await untilStopSignal() }, 'shutting down');
  await agent.stop();
  return 0;
}
