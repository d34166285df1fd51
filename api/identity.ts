// SPIFFE identities: workloads (ns/sa) and meshfed's own components.

/** A parsed SPIFFE ID. */
export type SpiffeId =
  | { readonly kind: 'workload'; readonly trustDomain: string; readonly namespace: string; readonly serviceAccount: string }
  | { readonly kind: 'zone-agent'; readonly trustDomain: string; readonly zone: string }
  | { readonly kind: 'global-lb'; readonly trustDomain: string }
  | { readonly kind: 'other'; readonly trustDomain: string; readonly path: string };

const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const NAME = /^[A-Za-z0-9._-]+$/;

/** True when text is a valid SPIFFE trust domain (lowercase letters, digits, dot, dash, underscore). */
export function isTrustDomain(text: string): boolean {
  return TRUST_DOMAIN.test(text) && text.length <= 255;
}

export function workloadId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

export function zoneAgentId(trustDomain: string, zone: string): string {
  return `spiffe://${trustDomain}/meshfed/zone/${zone}`;
}

export function globalLbId(trustDomain: string): string {
  return `spiffe://${trustDomain}/meshfed/global-lb`;
}

/** The URI SANs in node's subjectAltName text (`DNS:a, URI:spiffe://td/x`), in order. */
export function sanUris(subjectAltName: string | undefined): string[] {
  return (subjectAltName ?? '').split(',').map((s) => s.trim()).filter((s) => s.startsWith('URI:')).map((s) => s.slice(4));
}

/** Parses a SPIFFE ID URI; returns undefined when it is not one. */
export function parseSpiffeId(uri: string): SpiffeId | undefined {
  const m = /^spiffe:\/\/([^/?#]+)(\/[^?#]*)$/.exec(uri);
  if (!m) return undefined;
  const trustDomain = m[1] as string;
  const path = m[2] as string;
  if (!isTrustDomain(trustDomain)) return undefined;
  const segs = path.split('/').slice(1);
  if (segs.some((s) => !NAME.test(s))) return undefined;
  if (segs.length === 4 && segs[0] === 'ns' && segs[2] === 'sa') {
    return { kind: 'workload', trustDomain, namespace: segs[1] as string, serviceAccount: segs[3] as string };
  }
  if (segs.length === 3 && segs[0] === 'meshfed' && segs[1] === 'zone') return { kind: 'zone-agent', trustDomain, zone: segs[2] as string };
  if (segs.length === 2 && segs[0] === 'meshfed' && segs[1] === 'global-lb') return { kind: 'global-lb', trustDomain };
  return { kind: 'other', trustDomain, path };
}
