// The zone-agent config file: the zone it serves, how it finds endpoints, where global-lb is, and its timings.
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { isTrustDomain } from './identity.ts';
import { parseLocality, type Locality } from './locality.ts';
import { dnsLabelSchema, durationBetween, hostPortSchema, pathSchema } from './fields.ts';
import { parseConfig, readConfigText } from './load.ts';
import { deepFreeze, type DeepReadonly } from '../common/freeze.ts';

const localitySchema = z.string().transform((text, ctx): Locality => {
  const l = parseLocality(text);
  if (l) return l;
  ctx.addIssue({
    code: 'custom',
    input: text,
    message: `"${text}" is not a locality; write cloud/region/zone, each a DNS label (e.g. aws/us-east-1/us-east-1a)`,
  });
  return z.NEVER;
});

const kubernetesDiscovery = z
  .strictObject({
    type: z.literal('kubernetes'),
    /** Path of a kubeconfig file. Exactly one of kubeconfig and inCluster. */
    kubeconfig: pathSchema.optional(),
    /** Use the pod's service account (the agent runs inside the cluster). */
    inCluster: z.boolean().default(false),
    /** The kubeconfig context; the file's current context when absent. */
    context: z.string().min(1).optional(),
    /** Namespaces to watch; every namespace when empty. */
    namespaces: z.array(dnsLabelSchema).default([]),
  })
  .superRefine((d, ctx) => {
    if ((d.kubeconfig !== undefined) === d.inCluster) {
      ctx.addIssue({
        code: 'custom',
        path: d.inCluster ? ['kubeconfig'] : [],
        message: d.inCluster
          ? 'give either kubeconfig or inCluster: true, not both'
          : 'say how to reach Kubernetes: kubeconfig: PATH, or inCluster: true',
      });
    }
  });

const staticDiscovery = z.strictObject({
  type: z.literal('static'),
  /** A YAML/JSON file listing the zone's services and endpoints; re-read when it changes. */
  file: pathSchema,
});

const healthCheckSchema = z
  .strictObject({
    interval: durationBetween(100, 3600e3).default(5000),
    timeout: durationBetween(10, 600e3).default(1000),
    healthyThreshold: z.int().min(1).max(100).default(2),
    unhealthyThreshold: z.int().min(1).max(100).default(3),
  })
  .refine((h) => h.timeout <= h.interval, { path: ['timeout'], message: 'must not exceed interval (a probe must finish before the next starts)' });

/** The zone-agent config schema, strict about unknown keys. */
export const agentConfigSchema = z
  .strictObject({
    /** The zone this agent serves, as cloud/region/zone. */
    zone: localitySchema,
    cluster: dnsLabelSchema,
    network: dnsLabelSchema,
    trustDomain: z
      .string()
      .refine(isTrustDomain, { error: (issue) => `"${String(issue.input)}" is not a valid SPIFFE trust domain (e.g. meshfed.local)` })
      .default('meshfed.local'),
    globalLb: z.strictObject({
      /** Every global-lb replica; the agent connects to one and moves to another when it fails. */
      addresses: z.array(hostPortSchema).min(1, { message: 'list at least one global-lb address (host:port)' }),
      /** Plaintext to global-lb: for local demos only. */
      insecure: z.boolean().default(false),
    }),
    discovery: z.discriminatedUnion('type', [kubernetesDiscovery, staticDiscovery]),
    /** The plug-in CA directory of this cluster: root-cert.pem, ca-cert.pem, ca-key.pem, cert-chain.pem. */
    caDir: pathSchema.optional(),
    /** This zone's east-west gateway as other networks reach it; announced in the hello. */
    gatewayAddress: hostPortSchema.optional(),
    adminListen: hostPortSchema.default({ host: '127.0.0.1', port: 15100 }),
    relayListen: hostPortSchema.default({ host: '127.0.0.1', port: 15101 }),
    healthCheck: healthCheckSchema.prefault({}),
    reportInterval: durationBetween(100, 60e3).default(1000),
    /**
     * How far back a report's counters reach (several report intervals), so a service called a few times a second
     * still gives the balancer enough requests to judge its error rate. At least one report interval is always kept.
     */
    evidenceWindow: durationBetween(100, 300e3).default(5000),
    /** Lifetime of the sidecar certificates the agent signs; they rotate at half-life. */
    certTtl: durationBetween(60e3, 365 * 86400e3).default(86400e3),
    /** Lifetime of the agent's own zone certificate (mTLS to global-lb); renewed at half-life plus jitter. */
    identityTtl: durationBetween(60e3, 365 * 86400e3).default(86400e3),
    /** Where the last good weights are kept for fail-static. */
    stateDir: pathSchema.default('.meshfed/agent-state'),
  })
  .superRefine((c, ctx) => {
    if (!c.globalLb.insecure && c.caDir === undefined) {
      ctx.addIssue({ code: 'custom', path: ['caDir'], message: 'required unless globalLb.insecure is true (the agent needs its cluster CA for mTLS)' });
    }
  });

/** A validated, frozen zone-agent config. Durations are milliseconds; relative paths are resolved against the file's directory. */
export type AgentConfig = DeepReadonly<z.output<typeof agentConfigSchema>>;

/**
 * Parses and validates agent config text. Relative paths are resolved against baseDir (default: the directory of file).
 * Throws MeshfedError (MESHFED_E_CONFIG_PARSE / _INVALID) naming file and path.
 */
export function parseAgentConfig(text: string, file: string, baseDir: string = dirname(resolve(file))): AgentConfig {
  return resolvePaths(parseConfig(agentConfigSchema, text, file), baseDir);
}

/** Reads, parses and validates an agent config file. Throws MeshfedError (MESHFED_E_CONFIG_READ / _PARSE / _INVALID). */
export function loadAgentConfigFile(path: string): AgentConfig {
  return parseAgentConfig(readConfigText(path), path);
}

function resolvePaths(c: AgentConfig, baseDir: string): AgentConfig {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const d = c.discovery;
  const discovery = d.type === 'static'
    ? { ...d, file: abs(d.file) }
    : { ...d, ...(d.kubeconfig !== undefined ? { kubeconfig: abs(d.kubeconfig) } : {}) };
  return deepFreeze({ ...c, discovery, stateDir: abs(c.stateDir), ...(c.caDir !== undefined ? { caDir: abs(c.caDir) } : {}) });
}
