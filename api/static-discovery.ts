// The static discovery file: a zone's services and endpoints written by hand, for VMs and local use (zone-agent --static).
import { z } from 'zod';
import { dnsLabelSchema, durationBetween, hostPortSchema } from './fields.ts';
import { parseConfig, readConfigText } from './load.ts';
import { faultSettingsSchema, policySchema } from './sidecar-config.ts';
import type { DeepReadonly } from '../common/freeze.ts';

const endpointSchema = z.union([
  hostPortSchema.transform((a) => ({ address: a, healthy: true, labels: {} as Record<string, string> })),
  z.strictObject({
    address: hostPortSchema,
    /** False takes the endpoint out of rotation by hand (health checks may also take it out). */
    healthy: z.boolean().default(true),
    labels: z.record(z.string(), z.string()).default({}),
    /**
     * Probe this port instead of the endpoint's (Envoy's health_check_config.port_value), e.g. a sidecar's plaintext
     * admin port when the endpoint itself is its mTLS inbound, which a plain HTTP probe cannot pass.
     */
    healthCheckPort: z.int().min(1).max(65535).optional(),
  }),
]);

/** Per-service overrides of the agent's health-check settings (api/agent-config.ts healthCheck); each optional. */
const healthCheckOverrideSchema = z
  .strictObject({
    interval: durationBetween(100, 3600e3).optional(),
    timeout: durationBetween(10, 600e3).optional(),
    healthyThreshold: z.int().min(1).max(100).optional(),
    unhealthyThreshold: z.int().min(1).max(100).optional(),
    /** Failed probes of an endpoint that never passed do not count for this long after the agent first sees it. */
    initialDelay: durationBetween(0, 600e3).optional(),
  })
  .refine((h) => h.timeout === undefined || h.interval === undefined || h.timeout <= h.interval, { path: ['timeout'], message: 'must not exceed interval (a probe must finish before the next starts)' });

/** One service of the zone. */
export const staticServiceSchema = z.strictObject({
  namespace: dnsLabelSchema,
  name: dnsLabelSchema,
  /** Requests per second the zone's endpoints can serve at full utilisation; 0 means unknown. */
  capacityRps: z.number().min(0).default(0),
  /** `host:port` of each endpoint, or `{ address, healthy, labels }`. */
  endpoints: z.array(endpointSchema).default([]),
  /** HTTP path the agent probes for active health checks; no probing when absent. */
  healthCheckPath: z.string().startsWith('/', { message: 'must start with "/" (e.g. /healthz)' }).optional(),
  /** This service's probe settings where they differ from the agent's (needs healthCheckPath). */
  healthCheck: healthCheckOverrideSchema.optional(),
  /** Resilience policy relayed to the sidecars (same shape as a service's policy in the sidecar config). */
  policy: policySchema.optional(),
});

/** The whole static discovery file; strict about unknown keys. */
export const staticDiscoverySchema = z
  .strictObject({
    services: z.array(staticServiceSchema).default([]),
    /** Fault settings relayed to this zone's sidecars (same shape as the sidecar's `faults`). */
    faults: faultSettingsSchema.optional(),
  })
  .superRefine((f, ctx) => {
    const seen = new Map<string, number>();
    f.services.forEach((s, i) => {
      if (s.healthCheck !== undefined && s.healthCheckPath === undefined) ctx.addIssue({ code: 'custom', path: ['services', i, 'healthCheck'], message: 'needs healthCheckPath (the path to probe, e.g. /healthz)' });
      const key = `${s.namespace}/${s.name}`;
      const first = seen.get(key);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['services', i, 'name'], message: `service ${key} is already listed at services[${first}] (merge the two entries)` });
      else seen.set(key, i);
    });
  });

/** A validated, frozen static discovery file. */
export type StaticDiscovery = DeepReadonly<z.output<typeof staticDiscoverySchema>>;
export type StaticService = StaticDiscovery['services'][number];

/** Parses static discovery text. Throws MeshfedError (MESHFED_E_CONFIG_PARSE / _INVALID) naming file and path. */
export function parseStaticDiscovery(text: string, file: string): StaticDiscovery {
  return parseConfig(staticDiscoverySchema, text, file);
}

/** Reads and parses a static discovery file. Throws MeshfedError (MESHFED_E_CONFIG_READ / _PARSE / _INVALID). */
export function loadStaticDiscovery(path: string): StaticDiscovery {
  return parseStaticDiscovery(readConfigText(path), path);
}
