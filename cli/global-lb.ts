// `meshfed global-lb`: runs one global balancer replica (Federation gRPC, admin API, leader loop) until signalled.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { ADMIN_TOKENS_OPTION, parseCommand, parseDuration, parseHostPort, UsageError } from './args.ts';
import { loadAdminAuth } from '../common/admin-auth.ts';
import { MeshfedError } from '../common/errors.ts';
import { createLogger } from '../common/logger.ts';
import { loadBalancerConfigFile } from '../api/balancer-config.ts';
import { isTrustDomain } from '../api/identity.ts';
import { openStore, readEtcdCredentials } from '../global-lb/store/index.ts';
import { startGlobalLb, DEFAULT_COLD_START_GRACE_MS, DEFAULT_MAX_REPORT_BYTES, type GlobalLbTls } from '../global-lb/index.ts';
import { announceListening, untilStopSignal } from './lifecycle.ts';

const spec = {
  name: 'global-lb',
  summary: 'run a global balancer replica (federation gRPC, admin API, weights)',
  usage: 'meshfed global-lb (--etcd URL[,URL...] | --store memory) (--tls-cert F --tls-key F --tls-bundle F | --insecure) [options]',
  allowPositionals: false,
  options: {
    config: { type: 'string', value: 'FILE', description: 'a global-lb config file (api/balancer-config.ts); flags override it' },
    etcd: { type: 'string', value: 'URL[,URL...]', description: 'etcd endpoints, comma-separated' },
    store: { type: 'string', value: 'etcd|memory', description: 'the state store; memory is for a single process only' },
    'etcd-ca': { type: 'string', value: 'FILE', description: 'CA that etcd members\' certificates chain to (PEM), for https endpoints' },
    'etcd-cert': { type: 'string', value: 'FILE', description: 'client certificate for an etcd started with --client-cert-auth (PEM; with --etcd-key)' },
    'etcd-key': { type: 'string', value: 'FILE', description: 'its private key (PEM)' },
    'etcd-user-file': { type: 'string', value: 'FILE', description: 'a file whose first line is user:password, for an etcd with auth enabled' },
    'grpc-listen': { type: 'string', value: 'HOST:PORT', description: 'Federation gRPC listener for agents (default 127.0.0.1:15200)' },
    'admin-listen': { type: 'string', value: 'HOST:PORT', description: 'admin HTTP API listener (default 127.0.0.1:15201)' },
    heartbeat: { type: 'string', value: 'DURATION', description: 'expected agent heartbeat and the leader\'s recompute tick (default 1s)' },
    'lease-ttl': { type: 'string', value: 'DURATION', description: 'TTL of zone report leases and of leadership, whole seconds (default 5s)' },
    'cold-start-grace': { type: 'string', value: 'DURATION', description: 'after a cold start, wait at most this long for known zones to report before publishing (default 10s; 0 = at once)' },
    'replica-id': { type: 'string', value: 'ID', description: 'this replica\'s id (default HOSTNAME-PID)' },
    'tls-cert': { type: 'string', value: 'FILE', description: 'this replica\'s certificate chain (PEM)' },
    'tls-key': { type: 'string', value: 'FILE', description: 'its private key (PEM)' },
    'tls-bundle': { type: 'string', value: 'FILE', description: 'roots agent certificates must chain to (PEM)' },
    'trust-domain': { type: 'string', value: 'TD', description: 'require agent SPIFFE IDs in this trust domain' },
    insecure: { type: 'boolean', description: 'plaintext gRPC without client authentication (local development only; logs a warning)' },
    'max-report-bytes': { type: 'string', value: 'BYTES', description: `largest agent message accepted (default ${DEFAULT_MAX_REPORT_BYTES})` },
    ...ADMIN_TOKENS_OPTION,
    'chaos-reports': { type: 'string', value: 'DIR', description: 'where the dashboard (/ui/) lists `meshfed chaos run` reports from (default $MESHFED_CHAOS_REPORTS, then ./chaos-reports)' },
  },
  details: `
Exit codes: 0 after SIGINT/SIGTERM, 1 when the replica cannot start, 2 for usage errors.
The replica keeps no state of its own: policies, reports, weights and the trust bundle live in the store.
Example: meshfed global-lb --etcd http://127.0.0.1:2379 --insecure --lease-ttl 5s
A production etcd: --etcd https://etcd-1:2379,https://etcd-2:2379 --etcd-ca ca.pem --etcd-cert lb.pem --etcd-key lb-key.pem
(docs/store.md, "etcd TLS and authentication").`,
} as const;

function readPem(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new MeshfedError('MESHFED_E_CONFIG_READ', `--${flag}: cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Runs a replica until SIGINT or SIGTERM. */
export async function run(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  const base = v.config ? loadBalancerConfigFile(v.config) : undefined;

  let storeKind: 'etcd' | 'memory' = base?.store.type ?? 'memory';
  let endpoints: string[] = base?.store.type === 'etcd' ? [...base.store.endpoints] : [];
  if (v.store !== undefined) {
    if (v.store !== 'etcd' && v.store !== 'memory') throw new UsageError(`--store: "${v.store}" is not supported (use etcd or memory)`);
    storeKind = v.store;
  }
  if (v.etcd !== undefined) {
    if (v.store === 'memory') throw new UsageError('--etcd and --store memory exclude each other');
    storeKind = 'etcd';
    endpoints = v.etcd.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (endpoints.length === 0) throw new UsageError('--etcd: list at least one endpoint, e.g. http://127.0.0.1:2379');
  }
  if (storeKind === 'etcd' && endpoints.length === 0) throw new UsageError('--store etcd needs --etcd URL[,URL...]');
  if (!v.config && v.store === undefined && v.etcd === undefined) throw new UsageError('choose a store: --etcd URL[,URL...] or --store memory');
  const etcdFlags = { ca: v['etcd-ca'], cert: v['etcd-cert'], key: v['etcd-key'], userFile: v['etcd-user-file'] };
  const fromFlags = Object.values(etcdFlags).some((f) => f !== undefined);
  if (fromFlags && storeKind !== 'etcd') throw new UsageError('--etcd-ca, --etcd-cert, --etcd-key and --etcd-user-file go with the etcd store (--etcd URL[,URL...])');
  const baseEtcd = base?.store.type === 'etcd' ? base.store : undefined;
  const credentials = storeKind !== 'etcd' ? {} : fromFlags
    ? readEtcdCredentials(etcdFlags, { cert: '--etcd-cert', key: '--etcd-key' })
    : readEtcdCredentials({ ...baseEtcd?.tls, userFile: baseEtcd?.userFile }, { cert: 'config store.tls.cert', key: 'config store.tls.key' });

  const grpcListen = v['grpc-listen'] ? parseHostPort(v['grpc-listen'], 'grpc-listen') : (base?.grpcListen ?? { host: '127.0.0.1', port: 15200 });
  const adminListen = v['admin-listen'] ? parseHostPort(v['admin-listen'], 'admin-listen') : (base?.adminListen ?? { host: '127.0.0.1', port: 15201 });
  const heartbeatMs = v.heartbeat ? parseDuration(v.heartbeat, 'heartbeat') : (base?.heartbeat ?? 1000);
  const leaseMs = v['lease-ttl'] ? parseDuration(v['lease-ttl'], 'lease-ttl') : (base?.leaseTtl ?? 5000);
  if (heartbeatMs < 100) throw new UsageError('--heartbeat: must be at least 100ms');
  if (leaseMs < 1000 || leaseMs % 1000 !== 0) throw new UsageError('--lease-ttl: must be whole seconds, at least 1s (etcd leases count in seconds)');
  if (leaseMs < 2 * heartbeatMs) throw new UsageError('--lease-ttl: must be at least twice --heartbeat, so one late heartbeat does not drop a zone');
  const coldStartGraceMs = v['cold-start-grace'] !== undefined ? parseDuration(v['cold-start-grace'], 'cold-start-grace') : (base?.coldStartGrace ?? DEFAULT_COLD_START_GRACE_MS);
  if (coldStartGraceMs > 600_000) throw new UsageError('--cold-start-grace: must be between 0ms and 10m');
  let maxReportBytes = DEFAULT_MAX_REPORT_BYTES;
  if (v['max-report-bytes'] !== undefined) {
    maxReportBytes = Number(v['max-report-bytes']);
    if (!Number.isInteger(maxReportBytes) || maxReportBytes < 1024) throw new UsageError('--max-report-bytes: a whole number of bytes, at least 1024');
  }
  if (v['trust-domain'] !== undefined && !isTrustDomain(v['trust-domain'])) throw new UsageError(`--trust-domain: "${v['trust-domain']}" is not a SPIFFE trust domain`);

  const tlsFiles = [v['tls-cert'], v['tls-key'], v['tls-bundle']];
  let tls: GlobalLbTls | undefined;
  let insecure = v.insecure || (base?.insecure ?? false);
  if (tlsFiles.some((f) => f !== undefined)) {
    if (tlsFiles.some((f) => f === undefined)) throw new UsageError('--tls-cert, --tls-key and --tls-bundle go together');
    if (v.insecure) throw new UsageError('--insecure and --tls-* exclude each other');
    insecure = false;
    tls = { certPem: readPem(v['tls-cert']!, 'tls-cert'), keyPem: readPem(v['tls-key']!, 'tls-key'), bundlePem: readPem(v['tls-bundle']!, 'tls-bundle') };
  } else if (base?.tls && !v.insecure) {
    tls = { certPem: readPem(base.tls.cert, 'config tls.cert'), keyPem: readPem(base.tls.key, 'config tls.key'), bundlePem: readPem(base.tls.bundle, 'config tls.bundle') };
  }
  const trustDomain = v['trust-domain'] ?? base?.trustDomain;
  if (tls && trustDomain) tls = { ...tls, trustDomain };
  if (!tls && !insecure) throw new UsageError('give --tls-cert, --tls-key and --tls-bundle, or --insecure for local development');

  const replicaId = v['replica-id'] ?? `${hostname()}-${process.pid}`;
  const logger = createLogger({ component: 'global-lb' });
  const store = await openStore(storeKind === 'memory' ? { kind: 'memory' } : {
    kind: 'etcd', endpoints, ...credentials, ...(baseEtcd ? { callTimeoutMs: baseEtcd.dialTimeout } : {}),
  });
  let lb;
  try {
    lb = await startGlobalLb({
      store, replicaId, grpcListen, adminListen, heartbeatMs,
      leaseTtlSeconds: leaseMs / 1000,
      coldStartGraceMs,
      ...(base ? { debounceMinMs: base.debounce.min, debounceMaxMs: base.debounce.max } : {}),
      ...(tls ? { tls } : { insecure: true }),
      maxReportBytes,
      ...(v['admin-tokens'] !== undefined ? { adminAuth: loadAdminAuth(v['admin-tokens']) } : {}),
      logger,
      ...((v['chaos-reports'] ?? process.env['MESHFED_CHAOS_REPORTS']) ? { chaosReportsDir: v['chaos-reports'] ?? process.env['MESHFED_CHAOS_REPORTS']! } : {}),
    });
  } catch (e) {
    await store.close().catch(() => undefined);
    throw new MeshfedError('MESHFED_E_INTERNAL', `cannot start: ${(e as Error).message}`, { cause: e });
  }
  announceListening({ replicaId, grpc: lb.grpcAddress, admin: lb.adminUrl });

  logger.info({ signal: await untilStopSignal() }, 'shutting down');
  await lb.close();
  await store.close().catch(() => undefined);
  return 0;
}
