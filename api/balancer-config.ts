// The global-lb config file: its store, listeners, timings and TLS.
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { isTrustDomain } from './identity.ts';
import { durationBetween, formatDurationMs, hostPortSchema, pathSchema } from './fields.ts';
import { parseConfig, readConfigText } from './load.ts';
import { deepFreeze, type DeepReadonly } from '../common/freeze.ts';

const ETCD_ENDPOINT = /^(https?:\/\/)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

const storeSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('etcd'),
    endpoints: z
      .array(z.string().regex(ETCD_ENDPOINT, { message: 'not an etcd endpoint; write host:port or http(s)://host:port' }))
      .min(1, { message: 'list at least one etcd endpoint (e.g. http://127.0.0.1:2379)' }),
    /** How long a single etcd call may take before it counts as failed. */
    dialTimeout: durationBetween(100, 60e3).default(5000),
    /** Client TLS for https endpoints: the members' CA, and this replica's certificate for --client-cert-auth. */
    tls: z
      .strictObject({ ca: pathSchema.optional(), cert: pathSchema.optional(), key: pathSchema.optional() })
      .refine((t) => (t.cert === undefined) === (t.key === undefined), { path: ['key'], message: 'cert and key go together (a client certificate and its key)' })
      .optional(),
    /** A file whose first line is user:password, for an etcd with auth enabled. */
    userFile: pathSchema.optional(),
  }),
  z.strictObject({ type: z.literal('memory') }),
]);

const tlsSchema = z.strictObject({
  /** This replica's certificate chain (PEM), with the global-lb SPIFFE ID in its URI SAN. */
  cert: pathSchema,
  key: pathSchema,
  /** The trust roots agents' certificates must chain to (PEM). */
  bundle: pathSchema,
});

/** The global-lb config schema, strict about unknown keys. */
export const balancerConfigSchema = z
  .strictObject({
    store: storeSchema.default({ type: 'memory' }),
    trustDomain: z
      .string()
      .refine(isTrustDomain, { error: (issue) => `"${String(issue.input)}" is not a valid SPIFFE trust domain (e.g. meshfed.local)` })
      .default('meshfed.local'),
    /** The Federation gRPC listener agents connect to. */
    grpcListen: hostPortSchema.default({ host: '127.0.0.1', port: 15200 }),
    /** The admin HTTP API (JSON, /metrics, /healthz). */
    adminListen: hostPortSchema.default({ host: '127.0.0.1', port: 15201 }),
    /** How often the balancer expects a heartbeat from each agent. */
    heartbeat: durationBetween(100, 60e3).default(1000),
    /** The TTL of each zone's report lease; a zone whose agent goes quiet this long is out. Whole seconds (etcd leases are). */
    leaseTtl: durationBetween(1000, 3600e3).default(5000).refine((ms) => ms % 1000 === 0, { message: 'must be whole seconds (etcd leases count in seconds)' }),
    /** Weight recomputation waits at least min after a change, and never more than max after the first pending change. */
    debounce: z
      .strictObject({ min: durationBetween(0, 60e3).default(100), max: durationBetween(0, 600e3).default(1000) })
      .refine((d) => d.min <= d.max, { path: ['max'], message: 'must be at least debounce.min' })
      .prefault({}),
    /**
     * After a cold start (every replica was down), how long a replica waits at most for the zones the store knew to
     * report again before it computes and publishes from the zones it has. 0 publishes at once (the old behaviour).
     */
    coldStartGrace: durationBetween(0, 600e3).default(10_000),
    tls: tlsSchema.optional(),
    /** Plaintext gRPC: for local demos only. */
    insecure: z.boolean().default(false),
  })
  .superRefine((c, ctx) => {
    if (c.leaseTtl < 2 * c.heartbeat) {
      ctx.addIssue({ code: 'custom', path: ['leaseTtl'], message: `must be at least twice heartbeat (${formatDurationMs(c.heartbeat)}), so one late heartbeat does not drop a zone` });
    }
    if (c.tls === undefined && !c.insecure) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: 'give tls: { cert, key, bundle }, or insecure: true for a local demo' });
    }
    if (c.tls !== undefined && c.insecure) {
      ctx.addIssue({ code: 'custom', path: ['insecure'], message: 'cannot be true when tls is given; remove one of them' });
    }
  });

/** A validated, frozen global-lb config. Durations are milliseconds; relative paths are resolved against the file's directory. */
export type BalancerConfig = DeepReadonly<z.output<typeof balancerConfigSchema>>;

/**
 * Parses and validates global-lb config text. Relative paths are resolved against baseDir (default: the directory of file).
 * Throws MeshfedError (MESHFED_E_CONFIG_PARSE / _INVALID) naming file and path.
 */
export function parseBalancerConfig(text: string, file: string, baseDir: string = dirname(resolve(file))): BalancerConfig {
  const c = parseConfig(balancerConfigSchema, text, file);
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const store = c.store.type !== 'etcd' ? c.store : {
    ...c.store,
    // Only the keys given: a path left out stays absent rather than becoming undefined.
    ...(c.store.tls ? { tls: Object.fromEntries(Object.entries(c.store.tls).map(([k, v]) => [k, abs(v)])) as typeof c.store.tls } : {}),
    ...(c.store.userFile !== undefined ? { userFile: abs(c.store.userFile) } : {}),
  };
  return deepFreeze({ ...c, store, ...(c.tls ? { tls: { cert: abs(c.tls.cert), key: abs(c.tls.key), bundle: abs(c.tls.bundle) } } : {}) });
}

/** Reads, parses and validates a global-lb config file. Throws MeshfedError (MESHFED_E_CONFIG_READ / _PARSE / _INVALID). */
export function loadBalancerConfigFile(path: string): BalancerConfig {
  return parseBalancerConfig(readConfigText(path), path);
}
