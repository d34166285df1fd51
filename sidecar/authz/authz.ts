// Pure identity-based authz: is a caller's SPIFFE ID on the allow list of the service it calls?
import type { AuthzConfig } from '../../api/sidecar-config.ts';

/** The decision, with a reason fit for the 403 body and the log. */
export type AuthzDecision = { readonly allow: true; readonly rule: string } | { readonly allow: false; readonly reason: string };

/** True when `id` matches a pattern: exact, `.../*` (every ID under that path), or `spiffe://td/*` (a trust domain). */
export function matchesSpiffePattern(pattern: string, id: string): boolean {
  if (pattern.endsWith('/*')) return id.startsWith(pattern.slice(0, -1));
  return id === pattern;
}

/**
 * Decides whether `peer` may call `service`. A service with an allow list admits only listed identities; any
 * other service follows defaultAction. No verified identity (plaintext) never matches a list.
 */
export function authorize(config: AuthzConfig, service: string, peer: string | undefined): AuthzDecision {
  const list = config.allow[service];
  if (list === undefined) {
    return config.defaultAction === 'allow' ? { allow: true, rule: 'default allow' } : { allow: false, reason: `${service} has no allow list and the default action is deny` };
  }
  if (peer === undefined) return { allow: false, reason: `no verified client identity; ${service} admits only listed SPIFFE IDs` };
  const hit = list.find((p) => matchesSpiffePattern(p, peer));
  if (hit !== undefined) return { allow: true, rule: hit };
  return { allow: false, reason: `${peer} is not on the allow list of ${service}` };
}
