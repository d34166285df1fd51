// The sidecar's `--config FILE` schema: zones, endpoints and weights per service, routes, resilience, faults, authz, certificates.
import { z } from 'zod';
import { durationSchema, hostPortSchema, pathSchema, dnsLabelSchema, type HostPort } from './fields.ts';
import { parseSpiffeId, isTrustDomain } from './identity.ts';
import { loadConfigFile, parseConfig } from './load.ts';
import type { DeepReadonly } from '../common/freeze.ts';

const SERVICE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\/[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A service name `namespace/name`, both DNS labels. */
export const serviceNameSchema = z.string().refine((s) => SERVICE.test(s), {
  error: (issue) => `"${String(issue.input)}" is not a service; write namespace/name (e.g. shop/catalog)`,
});

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A record whose keys are checked with a message that names the key (zod's own says only "Invalid key in record"). */
function keyedRecord<T extends z.ZodType>(what: 'service' | 'zone', value: T) {
  return z.record(z.string(), value).superRefine((rec, ctx) => {
    for (const k of Object.keys(rec)) {
      if (what === 'service' && !SERVICE.test(k)) ctx.addIssue({ code: 'custom', path: [k], message: `"${k}" is not a service; write namespace/name (e.g. shop/catalog)` });
      if (what === 'zone' && !DNS_LABEL.test(k)) ctx.addIssue({ code: 'custom', path: [k], message: `"${k}" is not a valid zone name (lowercase letters, digits and "-", at most 63 characters)` });
    }
  });
}

function isRegex(text: string): boolean {
  try {
    new RegExp(text);
    return true;
  } catch {
    return false;
  }
}

const regexSchema = z.string().refine(isRegex, { error: (issue) => `"${String(issue.input)}" is not a valid regular expression` });

function exactlyOne(keys: readonly string[], what: string) {
  return (value: Record<string, unknown>, ctx: z.RefinementCtx) => {
    const given = keys.filter((k) => value[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({ code: 'custom', message: `${what}: give exactly one of ${keys.join(', ')}${given.length > 1 ? ` (got ${given.join(' and ')})` : ''}` });
    }
  };
}

/** Matches one header or cookie by name: exact value, prefix, regex, or mere presence. `invert` negates the match. */
export const valueMatchSchema = z
  .strictObject({
    name: z.string().min(1),
    exact: z.string().optional(),
    prefix: z.string().optional(),
    regex: regexSchema.optional(),
    present: z.boolean().optional(),
    invert: z.boolean().default(false),
  })
  .superRefine(exactlyOne(['exact', 'prefix', 'regex', 'present'], 'a header or cookie match'));

/** Matches the request path. */
export const pathMatchSchema = z
  .strictObject({ exact: z.string().optional(), prefix: z.string().optional(), regex: regexSchema.optional() })
  .superRefine(exactlyOne(['exact', 'prefix', 'regex'], 'a path match'));

/** One match block: every condition given must hold (AND). A route's list of blocks is OR. */
export const requestMatchSchema = z.strictObject({
  path: pathMatchSchema.optional(),
  methods: z.array(z.string().regex(/^[A-Za-z]+$/).transform((m) => m.toUpperCase())).optional(),
  headers: z.array(valueMatchSchema).default([]),
  cookies: z.array(valueMatchSchema).default([]),
});

const RETRY_ON = ['connect-failure', 'reset', '503', 'gateway-error'] as const;
const percentSchema = z.number().min(0, { message: 'must be a percentage between 0 and 100' }).max(100, { message: 'must be a percentage between 0 and 100' });

/** Retries; every field has a default, so `retry: {}` means "the defaults". */
export const retrySchema = z.strictObject({
  /** Total tries including the first; 1 disables retries. */
  attempts: z.number().int().min(1).max(10).default(3),
  /** "0ms" means no per-try deadline. */
  perTryTimeout: durationSchema.default(0),
  // YAML reads an unquoted 503 as a number; accept it as the condition it obviously means.
  retryOn: z.array(z.preprocess((v) => (v === 503 ? '503' : v), z.enum(RETRY_ON))).default(['connect-failure', 'reset', '503']),
  backoffBase: durationSchema.default(25),
  backoffMax: durationSchema.default(250),
  /** Also retry POST and PATCH (unsafe unless the upstream deduplicates). */
  retryNonIdempotent: z.boolean().default(false),
});

/** Retry budget per destination service (Envoy's retry_budget). */
export const retryBudgetSchema = z.strictObject({
  percent: percentSchema.default(20),
  minConcurrency: z.number().int().min(0).default(3),
});

/** Circuit-breaker thresholds per destination service (Envoy defaults). */
export const circuitBreakerSchema = z.strictObject({
  maxConnections: z.number().int().min(1).default(1024),
  maxPendingRequests: z.number().int().min(0).default(1024),
  maxRequests: z.number().int().min(1).default(1024),
});

/** Local outlier detection. maxEjectionPercent defaults to 100 so a dead zone can be ejected whole and spill over at once. */
export const outlierDetectionSchema = z.strictObject({
  /** 0 disables this trigger. */
  consecutive5xx: z.number().int().min(0).default(5),
  /** Connect failures, resets and per-try timeouts (locally originated failures). 0 disables this trigger. */
  consecutiveConnectFailures: z.number().int().min(0).default(5),
  baseEjectionTime: durationSchema.default(30_000),
  maxEjectionTime: durationSchema.default(300_000),
  maxEjectionPercent: percentSchema.default(100),
});

/** Resilience policy of a destination service; routes may override timeout and retry. */
export const policySchema = z.strictObject({
  /** Overall deadline of a request including retries; "0ms" means none. */
  timeout: durationSchema.default(15_000),
  retry: retrySchema.prefault({}),
  retryBudget: retryBudgetSchema.prefault({}),
  circuitBreaker: circuitBreakerSchema.prefault({}),
  outlierDetection: outlierDetectionSchema.prefault({}),
});

/** A route: first match wins; it may pick a subset, split between subsets (canary) and mirror a share. */
export const routeSchema = z
  .strictObject({
    name: z.string().min(1),
    /** Any block matching (OR); absent or empty means every request. */
    match: z.array(requestMatchSchema).default([]),
    /** Send to another service than the one addressed. */
    service: serviceNameSchema.optional(),
    subset: z.string().min(1).optional(),
    split: z.array(z.strictObject({ subset: z.string().min(1), weight: z.number().int().min(0) })).min(1).optional(),
    mirror: z.strictObject({ service: serviceNameSchema.optional(), subset: z.string().min(1).optional(), percent: percentSchema }).optional(),
    timeout: durationSchema.optional(),
    retry: retrySchema.optional(),
  })
  .superRefine((r, ctx) => {
    if (r.subset !== undefined && r.split !== undefined) ctx.addIssue({ code: 'custom', path: ['split'], message: 'give subset or split, not both' });
    if (r.split && r.split.reduce((s, x) => s + x.weight, 0) <= 0) ctx.addIssue({ code: 'custom', path: ['split'], message: 'the split weights must add up to more than 0' });
  });

/** A SPIFFE ID, `spiffe://td/ns/NS/sa/SA`. */
export const spiffeIdSchema = z.string().refine((s) => parseSpiffeId(s) !== undefined, {
  error: (issue) => `"${String(issue.input)}" is not a SPIFFE ID (spiffe://TRUST_DOMAIN/ns/NAMESPACE/sa/ACCOUNT)`,
});

/** An allowed source: a SPIFFE ID, a prefix ending in `/*`, or `spiffe://TRUST_DOMAIN/*` for a whole trust domain. */
export const spiffePatternSchema = z.string().refine(
  (s) => (s.endsWith('/*') ? /^spiffe:\/\/[^/]+(\/[^*]*)?\/\*$/.test(s) && isTrustDomain(s.slice(9).split('/')[0] ?? '') : parseSpiffeId(s) !== undefined),
  { error: (issue) => `"${String(issue.input)}" is not a SPIFFE ID or pattern (e.g. spiffe://td/ns/shop/sa/web, spiffe://td/ns/shop/*, spiffe://td/*)` },
);

const endpointSchema = z.union([
  hostPortSchema.transform((a) => ({ address: a, labels: {} as Record<string, string> })),
  z.strictObject({ address: hostPortSchema, labels: z.record(z.string(), z.string()).default({}) }),
]);

/** A destination service: where its endpoints are, how traffic from this sidecar's zone is split, and its routes. */
export const serviceSchema = z.strictObject({
  /** Authorities that name it, besides NAME.NS, NAME.NS.svc.meshfed and NAME.NS.svc.cluster.local. */
  hosts: z.array(z.string().min(1)).default([]),
  /** The service port named in the east-west SNI. */
  port: z.number().int().min(1).max(65535).default(80),
  /** The SPIFFE ID its endpoints must present. */
  identity: spiffeIdSchema.optional(),
  /** Named subsets, each a label selector over endpoint labels. */
  subsets: z.record(z.string().min(1), z.record(z.string(), z.string())).default({}),
  /** Endpoints per zone: `host:port` of each endpoint's sidecar inbound, or `{ address, labels }`. */
  endpoints: keyedRecord('zone', z.array(endpointSchema)).default({}),
  /**
   * This sidecar's weight row in basis points: sum 10000, or every share 0 when no zone may get traffic (then
   * `unavailableReason` says why). A zone with 0 is a standby target. Absent: equal shares over zones with endpoints.
   */
  weights: keyedRecord('zone', z.number().int().min(0).max(10000)).optional(),
  /**
   * Failover tier of each zone of the row, 0 nearest (the engine's TargetWeight.tier). When a zone with a share has
   * no healthy endpoint, its share goes to the lowest tier that has one. A zone of `weights` missing here is tier 0;
   * a zone only here is a standby target (share 0).
   */
  tiers: keyedRecord('zone', z.number().int().min(0).max(1000)).optional(),
  /**
   * Residency: never send to a zone not listed in `weights` or `tiers`, not even in local failover. When no listed
   * zone can serve, the request is answered 503 MESHFED_E_NO_ALLOWED_ZONE.
   */
  exclusive: z.boolean().default(false),
  /** Why no zone of the row has a share (the engine's unavailable_reason); given in the 503's reason. */
  unavailableReason: z.string().min(1).optional(),
  routes: z.array(routeSchema).default([]),
  policy: policySchema.prefault({}),
});

/** One L7 fault rule. Percentages are 0-100. */
export const faultRuleSchema = z
  .strictObject({
    /** Destination service (outbound) or own service (inbound); "*" for every service. */
    service: z.union([z.literal('*'), serviceNameSchema]).default('*'),
    direction: z.enum(['outbound', 'inbound']).default('outbound'),
    /** Only requests matching every header condition. */
    headers: z.array(valueMatchSchema).default([]),
    delay: z.strictObject({ fixed: durationSchema, percent: percentSchema }).optional(),
    abort: z
      .strictObject({
        httpStatus: z.number().int().min(200).max(599).optional(),
        /** Used for gRPC requests (HTTP 200 + grpc-status); mapped from httpStatus when absent. */
        grpcStatus: z.number().int().min(0).max(16).optional(),
        percent: percentSchema,
      })
      .refine((a) => a.httpStatus !== undefined || a.grpcStatus !== undefined, { message: 'give httpStatus, grpcStatus, or both' })
      .optional(),
  })
  .refine((r) => r.delay !== undefined || r.abort !== undefined, { message: 'a fault rule needs delay, abort, or both' });

/** The runtime fault settings: the body of `PUT /faults` on the admin port and the `faults` key of the config file. */
export const faultSettingsSchema = z.strictObject({ rules: z.array(faultRuleSchema).default([]) });

/** Identity-based authz for inbound requests. */
export const authzSchema = z.strictObject({
  /** What happens to a service with no allow list. */
  defaultAction: z.enum(['allow', 'deny']).default('allow'),
  /** Allowed caller identities per service (patterns: exact, `.../*` prefix, `spiffe://td/*`). */
  allow: keyedRecord('service', z.array(spiffePatternSchema)).default({}),
});

/** A zone this sidecar can reach: its network and, for another network, its east-west gateway. */
export const zoneSchema = z.strictObject({
  network: dnsLabelSchema,
  gateway: hostPortSchema.optional(),
});

/** The whole `--config FILE`. */
export const sidecarConfigSchema = z
  .strictObject({
    /** This sidecar's zone (the --zone flag wins). */
    zone: dnsLabelSchema.optional(),
    trustDomain: z.string().refine(isTrustDomain, { message: 'not a trust domain (lowercase letters, digits, ".", "-", "_")' }).default('cluster.local'),
    zones: keyedRecord('zone', zoneSchema).default({}),
    services: keyedRecord('service', serviceSchema).default({}),
    authz: authzSchema.prefault({}),
    faults: faultSettingsSchema.prefault({}),
    certificates: z.strictObject({ cert: pathSchema, key: pathSchema, ca: pathSchema }).optional(),
  })
  .superRefine((c, ctx) => {
    for (const [svc, s] of Object.entries(c.services)) {
      for (const key of ['endpoints', 'weights', 'tiers'] as const) {
        for (const zone of Object.keys(s[key] ?? {})) {
          if (c.zones[zone] === undefined) {
            ctx.addIssue({ code: 'custom', path: ['services', svc, key, zone], message: `zone "${zone}" is not declared under zones: (add zones.${zone}.network)` });
          }
        }
      }
      if (s.weights) {
        const sum = Object.values(s.weights).reduce((a, b) => a + b, 0);
        if (sum !== 10000 && sum !== 0) ctx.addIssue({ code: 'custom', path: ['services', svc, 'weights'], message: `weights are basis points and must add up to 10000 (they add up to ${sum}); all 0 means no zone may get traffic` });
      }
      s.routes.forEach((r, i) => {
        const target = r.service ?? svc;
        const subsets = c.services[target]?.subsets;
        if (r.service !== undefined && c.services[r.service] === undefined) ctx.addIssue({ code: 'custom', path: ['services', svc, 'routes', i, 'service'], message: `service "${r.service}" is not declared under services:` });
        for (const [j, name] of [r.subset, ...(r.split ?? []).map((x) => x.subset)].entries()) {
          if (name !== undefined && subsets !== undefined && subsets[name] === undefined) {
            ctx.addIssue({ code: 'custom', path: ['services', svc, 'routes', i, j === 0 ? 'subset' : 'split'], message: `subset "${name}" is not declared under services.${target}.subsets` });
          }
        }
        if (r.mirror) {
          const m = r.mirror.service ?? target;
          if (c.services[m] === undefined) ctx.addIssue({ code: 'custom', path: ['services', svc, 'routes', i, 'mirror', 'service'], message: `service "${m}" is not declared under services:` });
        }
      });
    }
  });

export type SidecarConfig = DeepReadonly<z.output<typeof sidecarConfigSchema>>;
export type ServiceConfig = SidecarConfig['services'][string];
export type RouteConfig = ServiceConfig['routes'][number];
export type RequestMatch = RouteConfig['match'][number];
export type ValueMatch = RequestMatch['headers'][number];
export type PathMatch = NonNullable<RequestMatch['path']>;
export type PolicyConfig = ServiceConfig['policy'];
export type OutlierDetectionConfig = PolicyConfig['outlierDetection'];
export type RetryBudgetConfig = PolicyConfig['retryBudget'];
export type FaultSettings = DeepReadonly<z.output<typeof faultSettingsSchema>>;
export type FaultRule = FaultSettings['rules'][number];
export type AuthzConfig = SidecarConfig['authz'];
export type ZoneConfig = SidecarConfig['zones'][string];
export type { HostPort };

/** Parses and validates config text (YAML or JSON). Throws MESHFED_E_CONFIG_PARSE / MESHFED_E_CONFIG_INVALID. */
export function parseSidecarConfig(text: string, fileName: string): SidecarConfig {
  return parseConfig(sidecarConfigSchema, text, fileName);
}

/** Reads, parses and validates a sidecar config file. */
export function loadSidecarConfig(path: string): SidecarConfig {
  return loadConfigFile(sidecarConfigSchema, path);
}
