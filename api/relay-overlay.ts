// The relay overlay (`--overlay FILE` of `meshfed sidecar --agent` and `meshfed gateway --agent`): what the zone agent does not relay.
import { z } from 'zod';
import { parseConfig, readConfigText, validateConfig } from './load.ts';
import { sidecarConfigSchema } from './sidecar-config.ts';
import type { DeepReadonly } from '../common/freeze.ts';

/**
 * One service's part of the overlay, in the sidecar config's own format (docs/sidecar-config.md): hosts, port,
 * expected identity, subsets, routes and a fallback policy. Routes and policy stay as written (durations as text):
 * they are merged into each relayed state and validated with it.
 */
const overlayServiceSchema = z.strictObject({
  hosts: z.array(z.string()).optional(),
  port: z.number().optional(),
  identity: z.string().optional(),
  subsets: z.record(z.string(), z.record(z.string(), z.string())).optional(),
  routes: z.array(z.unknown()).optional(),
  /** Used when the agent relays no policy for the service (it relays only its own zone's services' policies). */
  policy: z.unknown().optional(),
});

/** The overlay file: per-service additions, and inbound authz. */
export const relayOverlaySchema = z.strictObject({
  services: z.record(z.string(), overlayServiceSchema).optional(),
  authz: z.unknown().optional(),
});

/** What a relay-fed sidecar or gateway adds to every relayed state. */
export type RelayOverlay = DeepReadonly<z.output<typeof relayOverlaySchema>>;

/**
 * Parses and checks an overlay. Beyond its shape, the overlay is validated as the sidecar config it will be merged
 * into (service names, ports, SPIFFE IDs, routes naming declared subsets, policy and authz values), so a mistake is
 * refused at start with its path instead of making every relayed state fail later.
 */
export function parseRelayOverlay(text: string, fileName: string): RelayOverlay {
  const overlay = parseConfig(relayOverlaySchema, text, fileName);
  validateConfig(sidecarConfigSchema, { services: overlay.services ?? {}, ...(overlay.authz !== undefined ? { authz: overlay.authz } : {}) }, fileName);
  return overlay;
}

/** Reads and checks an overlay file (MESHFED_E_CONFIG_READ / _PARSE / _INVALID). */
export function loadRelayOverlay(path: string): RelayOverlay {
  return parseRelayOverlay(readConfigText(path), path);
}
