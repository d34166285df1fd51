// SPIFFE identities: workloads (ns/sa) and meshfed's own components.

/** A parsed SPIFFE ID. */
export type SpiffeId =
  | { readonly kind: 'workload'; readonly trustDomain: string; readonly namespace: string; readonly serviceAccount: string }
  | { readonly kind: 'zone-agent'; readonly trustDomain: string; readonly zone: string }
  | { readonly kind: 'global-lb'; readonly trustDomain: string }
  | { readonly kind: 'other'; readonly trustDomain: string; readonly path: string };

const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const NAME = /^[A-Za-z0-9._-]+$/;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * True when text is a valid Kubernetes name of that kind: a namespace is a DNS-1123 label (at most 63 characters), a
 * service account a DNS-1123 subdomain (labels joined by dots, at most 253). Neither can hold "/", "." or "..", so an
 * identity built from them cannot be turned into another by URL normalisation.
 */
export function isKubernetesName(kind: 'namespace' | 'serviceAccount', text: string): boolean {
  if (kind === 'namespace') return text.length <= 63 && DNS_LABEL.test(text);
  return text.length <= 253 && text.split('.').every((l) => l.length <= 63 && DNS_LABEL.test(l));
}

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
  // The SPIFFE spec forbids "." and ".." segments: a verifier that normalises the path would read another identity.
  if (segs.some((s) => !NAME.test(s) || s === '.' || s === '..')) return undefined;
  if (segs.length === 4 && segs[0] === 'ns' && segs[2] === 'sa') {
    return { kind: 'workload', trustDomain, namespace: segs[1] as string, serviceAccount: segs[3] as string };
  }
  if (segs.length === 3 && segs[0] === 'meshfed' && segs[1] === 'zone') return { kind: 'zone-agent', trustDomain, zone: segs[2] as string };
  if (segs.length === 2 && segs[0] === 'meshfed' && segs[1] === 'global-lb') return { kind: 'global-lb', trustDomain };
  return { kind: 'other', trustDomain, path };
}
