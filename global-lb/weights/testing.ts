// Builders shared by the engine's table tests: one service (SVC), zones by cloud/region/zone path, policies.
import { validatePolicy, type Policy } from '../../api/policy.ts';
import type { ServiceStats, ZoneState } from './types.ts';

/** The service every table test computes. */
export const SVC = 'default/reviews';

/** SVC's stats in a zone: 3 healthy endpoints, 100 rps capacity, 1000 clean successes, unless overridden. */
export function stats(over: Partial<ServiceStats> = {}): ServiceStats {
  return { healthyEndpoints: 3, totalEndpoints: 3, capacityRps: 100, rps: 0, inFlight: 0, successes: 1000, errors: { http5xx: 0, connectFailure: 0, timeout: 0, reset: 0 }, ...over };
}

/** A zone at cloud/region/zone; `demand` is what its clients ASK of SVC (ZoneState.demandRps), whether or not it hosts a copy. */
export function zone(path: string, s: ServiceStats | undefined, over: Partial<Omit<ZoneState, 'locality'>> & { demand?: number } = {}): ZoneState {
  const [cloud, region, name] = path.split('/') as [string, string, string];
  const { demand, ...rest } = over;
  return {
    locality: { cloud, region, zone: name },
    network: 'net',
    alive: true,
    drained: false,
    reportedAt: 0,
    services: new Map(s ? [[SVC, s]] : []),
    rttMs: new Map(),
    demandRps: new Map(demand !== undefined ? [[SVC, demand]] : []),
    ...rest,
  };
}

/** SVC's policy with `extra` fields, validated as a user's file would be. */
export function policy(extra: Record<string, unknown> = {}): Map<string, Policy> {
  return new Map([[SVC, validatePolicy({ namespace: 'default', name: 'reviews', ...extra }, 'test')]]);
}
