// Pure: builds the gateway's SNI routing table from the sidecar config — the endpoints of the gateway's own zone.
import type { SidecarConfig } from '../../api/sidecar-config.ts';
import type { GatewayTarget } from './sni.ts';
import type { GatewayEndpoint, GatewayResolver } from './gateway.ts';
import { serviceHosts } from '../balancer/endpoints.ts';

/**
 * Returns a resolver over the services with endpoints in `zone`. A target matches a service by host and port;
 * a subset narrows the endpoints by the subset's label selector. Unknown host, port or subset: undefined.
 */
export function gatewayResolver(cfg: SidecarConfig, zone: string): GatewayResolver {
  const table = new Map<string, { endpoints: { ep: GatewayEndpoint; labels: Readonly<Record<string, string>> }[]; subsets: Readonly<Record<string, Readonly<Record<string, string>>>> }>();
  for (const [service, s] of Object.entries(cfg.services)) {
    const local = s.endpoints[zone];
    if (!local) continue;
    const entry = { endpoints: local.map((e) => ({ ep: { address: e.address.host, port: e.address.port }, labels: e.labels })), subsets: s.subsets };
    for (const h of serviceHosts(service, s)) table.set(`${h}:${s.port}`, entry);
  }
  return (t: GatewayTarget) => {
    const entry = table.get(`${t.host}:${t.port}`);
    if (!entry) return undefined;
    if (t.subset === '') return entry.endpoints.map((e) => e.ep);
    const selector = entry.subsets[t.subset];
    if (!selector) return undefined;
    return entry.endpoints.filter((e) => Object.entries(selector).every(([k, v]) => e.labels[k] === v)).map((e) => e.ep);
  };
}
