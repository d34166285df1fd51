// Pure translation of the sidecar config into endpoint references (direct or via a gateway) and weight rows.
import type { ServiceConfig, SidecarConfig } from '../../api/sidecar-config.ts';
import { formatHostPort } from '../../api/fields.ts';
import { gatewaySni } from '../gateway/sni.ts';
import type { EndpointRef } from '../types.ts';

/** The canonical host of a service `ns/name`: `name.ns.svc.meshfed` (used in the east-west SNI). */
export function serviceHost(service: string): string {
  const [ns, name] = service.split('/') as [string, string];
  return `${name}.${ns}.svc.meshfed`;
}

/** Every authority that names a service: NAME.NS, NAME.NS.svc.meshfed, NAME.NS.svc.cluster.local and its configured hosts. */
export function serviceHosts(service: string, config: ServiceConfig): string[] {
  const [ns, name] = service.split('/') as [string, string];
  return [`${name}.${ns}`, `${name}.${ns}.svc.meshfed`, `${name}.${ns}.svc.cluster.local`, ...config.hosts].map((h) => h.toLowerCase());
}

/** An index from authority (without port) to service, for the outbound side to find the destination. */
export function hostIndex(config: SidecarConfig): ReadonlyMap<string, string> {
  const m = new Map<string, string>();
  for (const [svc, s] of Object.entries(config.services)) for (const h of serviceHosts(svc, s)) if (!m.has(h)) m.set(h, svc);
  return m;
}

/** The service an authority names (port and trailing dot ignored), or undefined. */
export function resolveAuthority(index: ReadonlyMap<string, string>, authority: string): string | undefined {
  let host = authority.toLowerCase();
  if (host.startsWith('[')) host = host.slice(0, host.indexOf(']') + 1);
  else if (host.includes(':')) host = host.slice(0, host.lastIndexOf(':'));
  if (host.endsWith('.')) host = host.slice(0, -1);
  return index.get(host);
}

/**
 * The endpoints of a service per zone, as seen from `ownZone`. Endpoints on another network than the own zone's,
 * in a zone with a gateway, go through that gateway with SNI `outbound_.PORT_.SUBSET_.HOST`. The subset is only
 * known per request, so the SNI here names none (`_`) and the picker rewrites it per subset (PickerInput.gatewaySni).
 */
export function endpointsFor(config: SidecarConfig, service: string, ownZone: string): Map<string, EndpointRef[]> {
  const svc = config.services[service];
  const out = new Map<string, EndpointRef[]>();
  if (!svc) return out;
  const ownNetwork = config.zones[ownZone]?.network;
  for (const [zone, list] of Object.entries(svc.endpoints)) {
    const z = config.zones[zone];
    const network = z?.network ?? '';
    const gw = ownNetwork !== undefined && network !== ownNetwork ? z?.gateway : undefined;
    out.set(
      zone,
      list.map((e): EndpointRef => {
        const ref: { -readonly [K in keyof EndpointRef]: EndpointRef[K] } = {
          id: `${zone}/${formatHostPort(e.address)}`,
          address: e.address.host,
          port: e.address.port,
          zone,
          network,
          labels: e.labels,
        };
        if (gw) ref.viaGateway = { address: gw.host, port: gw.port, sni: gatewaySni({ port: svc.port, subset: '', host: serviceHost(service) }) };
        if (svc.identity) ref.identity = svc.identity;
        return ref;
      }),
    );
  }
  return out;
}

/** The gateway SNI of a service for a subset ('' for none), for PickerInput.gatewaySni. */
export function sniFor(service: string, port: number): (subset: string) => string {
  return (subset) => gatewaySni({ port, subset, host: serviceHost(service) });
}

/** This sidecar's weight row for a service: the configured one, or equal shares over zones with endpoints. */
export function weightsFor(config: ServiceConfig): Record<string, number> {
  if (config.weights) return { ...config.weights };
  const zones = Object.keys(config.endpoints).filter((z) => (config.endpoints[z]?.length ?? 0) > 0).sort();
  const row: Record<string, number> = {};
  zones.forEach((z, i) => {
    row[z] = Math.floor(10000 / zones.length) + (i < 10000 % zones.length ? 1 : 0);
  });
  return row;
}

/** A service's row as the picker takes it: shares, tiers, residency and the reason when nothing has a share. */
export interface ServiceRow {
  readonly weights: Record<string, number>;
  readonly tiers?: Readonly<Record<string, number>>;
  readonly exclusive: boolean;
  readonly unavailableReason?: string;
}

/** weightsFor plus the row's tiers, `exclusive` and unavailable reason. */
export function rowFor(config: ServiceConfig): ServiceRow {
  return {
    weights: weightsFor(config),
    ...(config.tiers ? { tiers: config.tiers } : {}),
    exclusive: config.exclusive,
    ...(config.unavailableReason !== undefined ? { unavailableReason: config.unavailableReason } : {}),
  };
}
