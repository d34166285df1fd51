// The service-policy file: per-service failover, distribution, ejection and damping settings for the weight engine.
import { z } from 'zod';
import { deepFreeze, type DeepReadonly } from '../common/freeze.ts';
import { parseDurationMs } from './fields.ts';
import { loadConfigFile, parseConfig, validateConfig } from './load.ts';
import { isLocalitySegment, LOCALITY_LEVELS } from './locality.ts';

// A narrower grammar than the shared one in fields.ts (no d/y units, no surrounding spaces), checked here so the
// text stored in a policy is exactly what was validated; the arithmetic is parseDurationMs's.
const DURATION = /^\d+(?:\.\d+)?(?:ms|s|m|h)$/;

/** Milliseconds in a policy duration such as "500ms", "10s", "2m", "1h". Throws on text the schema would reject. */
export function durationMs(text: string): number {
  const ms = DURATION.test(text) ? parseDurationMs(text) : undefined;
  if (ms === undefined) throw new Error(`not a duration: "${text}"`);
  return ms;
}

// Kept as text in the parsed policy so a stored policy round-trips through JSON unchanged; the engine converts with
// durationMs. Not fields.ts's durationSchema, which turns the text into a number.
const durationSchema = z.string({ error: 'expected a duration such as "10s"' }).regex(DURATION, {
  error: (issue) => `"${String(issue.input)}" is not a duration (use e.g. 500ms, 10s, 2m, 1h)`,
});

const dnsLabel = (what: string) =>
  z.string({ error: `expected the ${what} as text` }).regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, {
    error: (issue) => `"${String(issue.input)}" is not a valid ${what} (lowercase letters, digits and "-", at most 63)`,
  });

const zoneName = z.string({ error: 'expected a zone name' }).refine(isLocalitySegment, {
  error: (issue) => `"${String(issue.input)}" is not a zone name (lowercase letters, digits and "-", e.g. us-east-1a)`,
});

/**
 * The shapes a `distribute` locality matcher may take: "*", a zone name, "cloud/*", "cloud/region/*" or
 * "cloud/region/zone". Returns undefined when text has none of them.
 */
export function parseLocalityMatcher(text: string): LocalityMatcher | undefined {
  if (text === '*') return { cloud: undefined, region: undefined, zone: undefined };
  const parts = text.split('/');
  if (parts.length === 1) return isLocalitySegment(text) ? { cloud: undefined, region: undefined, zone: text } : undefined;
  const last = parts[parts.length - 1];
  const named = last === '*' ? parts.slice(0, -1) : parts;
  if (named.length === 0 || named.length > 3 || !named.every(isLocalitySegment)) return undefined;
  if (last !== '*' && parts.length !== 3) return undefined;
  return { cloud: named[0], region: named[1], zone: named[2] };
}

/** A parsed locality pattern; an undefined part matches anything. */
export interface LocalityMatcher {
  readonly cloud: string | undefined;
  readonly region: string | undefined;
  readonly zone: string | undefined;
}

const MATCHER_SHAPES = '*, a zone name, cloud/*, cloud/region/* or cloud/region/zone';

const matcherText = z.string({ error: `expected a locality: ${MATCHER_SHAPES}` }).refine((t) => parseLocalityMatcher(t) !== undefined, {
  error: (issue) => `"${String(issue.input)}" is not a locality (expected ${MATCHER_SHAPES})`,
});

const distributeRule = z.strictObject({
  from: matcherText,
  to: z.record(z.string(), z.number({ error: 'expected a percentage (a whole number 0..100)' }).int('expected a whole-number percentage').min(0, 'a percentage cannot be negative').max(100, 'a percentage cannot exceed 100')).superRefine((to, ctx) => {
    const keys = Object.keys(to);
    if (keys.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'name at least one target, e.g. { us-east-1a: 80, europe-west1-b: 20 }' });
      return;
    }
    for (const key of keys) {
      if (key === '*' || parseLocalityMatcher(key) === undefined)
        ctx.addIssue({ code: 'custom', path: [key], message: `"${key}" is not a target (expected a zone name, cloud/*, cloud/region/* or cloud/region/zone)` });
    }
    const sum = keys.reduce((s, k) => s + (to[k] ?? 0), 0);
    if (sum !== 100) ctx.addIssue({ code: 'custom', message: `percentages sum to ${sum}; make them sum to 100` });
  }),
});

const failoverSchema = z
  .strictObject({
    priority: z.array(z.enum(LOCALITY_LEVELS)).optional(),
    zones: z.array(z.union([zoneName, z.array(zoneName).min(1, 'a tier needs at least one zone')], { error: 'expected a zone name or a list of zone names (one tier)' })).min(1, 'list at least one zone, or use priority instead').optional(),
  })
  .superRefine((f, ctx) => {
    if (f.priority !== undefined && f.zones !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'give either priority (locality levels) or zones (an explicit order), not both' });
    }
    if (f.priority) {
      const seen = new Set<string>();
      f.priority.forEach((level, i) => {
        if (seen.has(level)) ctx.addIssue({ code: 'custom', path: ['priority', i], message: `"${level}" is listed twice; list each level once` });
        seen.add(level);
      });
      for (let i = 1; i < f.priority.length; i++) {
        const a = LOCALITY_LEVELS.indexOf(f.priority[i - 1]!);
        const b = LOCALITY_LEVELS.indexOf(f.priority[i]!);
        if (b < a) ctx.addIssue({ code: 'custom', path: ['priority', i], message: `"${f.priority[i]}" must come before "${f.priority[i - 1]}" (list levels from nearest to farthest: zone, region, cloud)` });
      }
    }
    if (f.zones) {
      const seen = new Set<string>();
      f.zones.forEach((tier, i) => {
        for (const zone of typeof tier === 'string' ? [tier] : tier) {
          if (seen.has(zone)) ctx.addIssue({ code: 'custom', path: ['zones', i], message: `zone "${zone}" is listed twice; list each zone once` });
          seen.add(zone);
        }
      });
    }
  })
  .transform((f) => (f.priority === undefined && f.zones === undefined ? { priority: [...LOCALITY_LEVELS] } : f));

const fraction = (what: string, allowZero: boolean) =>
  z
    .number({ error: `expected ${what} as a number between 0 and 1` })
    .refine((v) => (allowZero ? v >= 0 : v > 0) && v <= 1, {
      error: (issue) => `${String(issue.input)} is out of range; ${what} must be ${allowZero ? 'at least 0' : 'greater than 0'} and at most 1 (a fraction, e.g. 0.8)`,
    });

const LOCALITY_PAIRS = ['sameZone', 'sameRegion', 'sameCloud', 'crossCloud'] as const;
/** The four locality pairs an egress cost is declared for, nearest first. */
export type LocalityPair = (typeof LOCALITY_PAIRS)[number];

/**
 * Relative egress cost per locality pair when neither the policy nor the topology names one (roughly cents per GB on
 * public clouds: free inside a zone, cheap inside a region, more across regions, most across clouds).
 */
export const DEFAULT_EGRESS_COST: Readonly<Record<LocalityPair, number>> = Object.freeze({ sameZone: 0, sameRegion: 1, sameCloud: 2, crossCloud: 10 });

const costValue = z.number({ error: 'expected a relative cost (a number ≥ 0, e.g. 10)' }).min(0, 'a cost cannot be negative').max(1e6, 'a cost above 1000000 is not a relative cost');

/**
 * Relative egress cost per locality pair (`sameZone`, `sameRegion`, `sameCloud`, `crossCloud`), each optional:
 * shared by the topology file (federation-wide defaults) and the policy (per-service overrides).
 */
export const egressCostSchema = z.strictObject({
  sameZone: costValue.optional(),
  sameRegion: costValue.optional(),
  sameCloud: costValue.optional(),
  crossCloud: costValue.optional(),
});

const residencyRule = z.strictObject({
  /** Sources this rule restricts (first match wins). */
  from: matcherText,
  /** The only localities those sources may send to, in the matcher syntax; even in panic and under distribute. */
  allow: z.array(matcherText).min(1, 'allow at least one locality, e.g. [gcp/europe-west1/*]'),
});

/** The policy file schema. Strict: unknown keys are rejected. Every setting has a default. */
export const policySchema = z
  .strictObject({
    namespace: dnsLabel('namespace'),
    name: dnsLabel('service name'),
    /** Failover order: locality levels (tiers by proximity) or an explicit list of zones/tiers. */
    failover: failoverSchema.optional().transform((f) => f ?? { priority: [...LOCALITY_LEVELS] }),
    /** Static shares per source; honoured, and an ineligible target's share fails over by `failover`. First match wins. */
    distribute: z.array(distributeRule).default([]).superRefine((rules, ctx) => {
      const seen = new Set<string>();
      rules.forEach((r, i) => {
        if (seen.has(r.from)) ctx.addIssue({ code: 'custom', path: [i, 'from'], message: `"${r.from}" already has a rule above; the first match wins, so remove one` });
        seen.add(r.from);
      });
    }),
    /** Fill each tier up to this fraction of its capacity before spilling to the next. */
    targetUtilization: fraction('targetUtilization', false).default(0.8),
    ejection: z
      .strictObject({
        errorRate: fraction('ejection.errorRate', false).default(0.05),
        minRequests: z.number({ error: 'expected a whole number of requests' }).int('expected a whole number of requests').min(0, 'minRequests cannot be negative').default(20),
      })
      .prefault({}),
    /** How long a zone must stay healthy before it is readmitted. */
    holdDown: durationSchema.default('10s'),
    /** How long a readmitted zone ramps from 10% to its full share; "0s" disables. */
    slowStart: durationSchema.default('30s'),
    /** Largest change of any weight per round, in basis points (1..10000). */
    maxStep: z.number({ error: 'expected basis points (1..10000)' }).int('expected whole basis points').min(1, 'maxStep must be at least 1 basis point').max(10000, 'maxStep cannot exceed 10000 basis points').default(1000),
    /** Changes smaller than this (basis points, on every target) are not published, so noise does not churn tables. */
    deadband: z.number({ error: 'expected basis points (0..10000)' }).int('expected whole basis points').min(0, 'deadband cannot be negative').max(10000, 'deadband cannot exceed 10000').default(50),
    /** Panic when the healthy share of total capacity falls below this fraction. */
    panicThreshold: fraction('panicThreshold', true).default(0.5),
    /** Zones the policy takes out of rotation for this service (the operator's zone drain applies to every service). */
    drainedZones: z.array(zoneName).default([]),
    latency: z
      .strictObject({
        /** A zone this far (RTT from the source) gets half the share of an equally spare zone at 0 ms; "0ms" disables. */
        halfWeightAt: durationSchema.default('50ms'),
      })
      .prefault({}),
    /**
     * Egress cost: a target's share is multiplied by halfWeightAt / (halfWeightAt + cost of its locality pair).
     * Pair costs not given here come from the topology's egressCost, then DEFAULT_EGRESS_COST.
     */
    cost: egressCostSchema
      .extend({
        /** The relative cost at which a target gets half the share of a free one; 0 disables the cost term. */
        halfWeightAt: z.number({ error: 'expected a relative cost (a number ≥ 0)' }).min(0, 'halfWeightAt cannot be negative').default(10),
      })
      .prefault({}),
    /** At most this share of a source's traffic leaves its cloud (outside panic), when an in-cloud zone can take it. */
    crossCloud: z
      .strictObject({
        maxShare: z.number({ error: 'expected a percentage (a whole number 0..100)' }).int('expected a whole-number percentage').min(0, 'a percentage cannot be negative').max(100, 'a percentage cannot exceed 100').default(100),
      })
      .prefault({}),
    /** Data residency: where a matching source's traffic may go at all (first match wins); holds in panic and distribute. */
    residency: z.array(residencyRule).default([]).superRefine((rules, ctx) => {
      const seen = new Set<string>();
      rules.forEach((r, i) => {
        if (seen.has(r.from)) ctx.addIssue({ code: 'custom', path: [i, 'from'], message: `"${r.from}" already has a rule above; the first match wins, so remove one` });
        seen.add(r.from);
      });
    }),
  });

/** A validated, defaulted, frozen policy. */
export type Policy = DeepReadonly<z.output<typeof policySchema>>;
/** What a user may write in a policy file. */
export type PolicyInput = z.input<typeof policySchema>;

/** The policy every service has when none is stored: nearest zone first, then region, then cloud, then anywhere. */
export function defaultPolicy(namespace: string, name: string): Policy {
  return validateConfig(policySchema, { namespace, name }, '(default policy)');
}

/**
 * The policy with the topology's egress costs filled in where the policy names none (the leader calls this with
 * the topology's egressCost; a pair the policy sets wins). Returns `policy` itself when nothing changes.
 */
export function withEgressCostDefaults(policy: Policy, costs: Readonly<Partial<Record<LocalityPair, number>>>): Policy {
  const filled: Record<string, number> = {};
  for (const k of LOCALITY_PAIRS) if (policy.cost[k] === undefined && costs[k] !== undefined) filled[k] = costs[k];
  if (Object.keys(filled).length === 0) return policy;
  return deepFreeze({ ...policy, cost: { ...policy.cost, ...filled } }) as Policy;
}

/** Parses policy text (YAML or JSON). Throws MESHFED_E_CONFIG_INVALID with `file: path: message` lines. */
export function parsePolicy(text: string, fileName: string): Policy {
  return parseConfig(policySchema, text, fileName);
}

/** Validates an already-parsed value (e.g. an API request body). Throws like parsePolicy. */
export function validatePolicy(value: unknown, fileName: string): Policy {
  return validateConfig(policySchema, value, fileName);
}

/** Reads and parses a policy file. */
export function loadPolicyFile(path: string): Policy {
  return loadConfigFile(policySchema, path);
}

/** "namespace/name" of a policy. */
export function policyKey(p: { readonly namespace: string; readonly name: string }): string {
  return `${p.namespace}/${p.name}`;
}
