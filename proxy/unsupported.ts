// Pure check of what HAProxy cannot express in a relayed sidecar config: each problem is path-named, never dropped silently.
import type { SidecarConfig } from '../api/sidecar-config.ts';
import type { RelayOverlay } from '../api/relay-overlay.ts';
import { proxyError } from './errors.ts';

/**
 * The parts of `cfg` HAProxy (as this adapter drives it) cannot enforce, as "SOURCE: PATH: why" lines. Empty when
 * everything can be expressed. Approximations (retry budget, ejection times, circuit-breaker limits) are not
 * problems: docs/native-proxies.md lists them.
 */
export function unsupportedParts(cfg: SidecarConfig, source: string): string[] {
  const out: string[] = [];
  const at = (path: string, why: string) => out.push(`${source}: ${path}: ${why}`);
  for (const [svc, s] of Object.entries(cfg.services)) {
    s.routes.forEach((_, i) => at(`services["${svc}"].routes[${i}]`, 'routes (header/path matches, subsets, splits, mirrors) are not rendered for HAProxy yet; remove them or use the Node sidecar'));
    if (s.policy.retry.retryNonIdempotent) at(`services["${svc}"].policy.retry.retryNonIdempotent`, 'HAProxy retries only what it can replay; retrying POST/PATCH is not offered');
  }
  if (cfg.authz.defaultAction !== 'allow' || Object.keys(cfg.authz.allow).length > 0) {
    at('authz', "HAProxy 2.6 cannot read a client certificate's URI SAN, so SPIFFE-ID authz cannot be enforced; inbound accepts any chain to the trust bundle");
  }
  cfg.faults.rules.forEach((_, i) => at(`faults.rules[${i}]`, 'L7 fault injection is not rendered for HAProxy; clear it (meshfed fault clear) or use the Node sidecar'));
  return out;
}

/** The parts of a relay overlay HAProxy cannot express, as "FILE: PATH: why" lines (routes and authz). */
export function unsupportedOverlayParts(overlay: RelayOverlay, file: string): string[] {
  const out: string[] = [];
  for (const [svc, s] of Object.entries(overlay.services ?? {})) {
    (s.routes ?? []).forEach((_, i) => out.push(`${file}: services["${svc}"].routes[${i}]: routes (header/path matches, subsets, splits, mirrors) are not rendered for HAProxy yet; remove them or use the Node sidecar`));
  }
  if (overlay.authz !== undefined) out.push(`${file}: authz: HAProxy 2.6 cannot read a client certificate's URI SAN, so SPIFFE-ID authz cannot be enforced; remove authz or use the Node sidecar`);
  return out;
}

/** Throws MESHFED_E_PROXY_UNSUPPORTED naming every path of `overlay` HAProxy cannot express. */
export function checkOverlay(overlay: RelayOverlay, file: string): void {
  const bad = unsupportedOverlayParts(overlay, file);
  if (bad.length > 0) throw proxyError('MESHFED_E_PROXY_UNSUPPORTED', `HAProxy cannot express ${bad.length === 1 ? 'this part' : 'these parts'} of the overlay:\n  ${bad.join('\n  ')}`, { details: bad });
}
