// The admin tokens file every admin API (global-lb, zone agent, sidecar, gateway) reads with --admin-tokens FILE.
import { z } from 'zod';
import { parseConfig, readConfigText } from './load.ts';
import { deepFreeze, type DeepReadonly } from '../common/freeze.ts';

/**
 * `{ tokens: [{ name, role, sha256 }] }`: each caller's name (for logs), its role, and the SHA-256 (hex) of its
 * bearer token. Only hashes live here, so the file the servers read grants nothing to whoever reads it.
 * - read: GET of status, weights, zones, policies, stats, config, faults, events;
 * - write: also every change (drain, policy put/delete, faults, trust bundle).
 */
export const adminTokensSchema = z.strictObject({
  tokens: z.array(z.strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'a short name: lowercase letters, digits, ".", "_", "-"'),
    role: z.enum(['read', 'write']),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'the SHA-256 of the token, 64 lowercase hex digits (meshfed up writes them; or: printf %s TOKEN | sha256sum)'),
  })).min(1, { message: 'list at least one token' }),
});

export type AdminTokensFile = DeepReadonly<z.output<typeof adminTokensSchema>>;

/** Reads and validates a tokens file; errors name the file and the path (MESHFED_E_CONFIG_READ / _PARSE / _INVALID). */
export function loadAdminTokensFile(path: string): AdminTokensFile {
  return deepFreeze(parseConfig(adminTokensSchema, readConfigText(path), path));
}
