// Localities (cloud/region/zone) and the rules for comparing them.

/** Where a zone sits. The zone name is unique across a federation and is the zone's key everywhere. */
export interface Locality {
  readonly cloud: string;
  readonly region: string;
  readonly zone: string;
}

/** The levels a failover priority can name, from nearest to farthest. */
export const LOCALITY_LEVELS = ['zone', 'region', 'cloud'] as const;
export type LocalityLevel = (typeof LOCALITY_LEVELS)[number];

const SEGMENT = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** True when a name is valid as a cloud, region or zone segment (DNS-label rules). */
export function isLocalitySegment(text: string): boolean {
  return SEGMENT.test(text);
}

/** Parses `cloud/region/zone`; returns undefined when the text is not of that form. */
export function parseLocality(text: string): Locality | undefined {
  const parts = text.split('/');
  if (parts.length !== 3 || !parts.every(isLocalitySegment)) return undefined;
  const [cloud, region, zone] = parts as [string, string, string];
  return { cloud, region, zone };
}

export function formatLocality(l: Locality): string {
  return `${l.cloud}/${l.region}/${l.zone}`;
}

/**
 * The nearest level two localities share: 0 = same zone, 1 = same region, 2 = same cloud, 3 = nothing.
 * This is the default failover tier of `to` seen from `from`.
 */
export function proximity(from: Locality, to: Locality): 0 | 1 | 2 | 3 {
  if (from.cloud !== to.cloud) return 3;
  if (from.region !== to.region) return 2;
  if (from.zone !== to.zone) return 1;
  return 0;
}
