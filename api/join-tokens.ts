// The join tokens file a zone agent reads with --join-tokens FILE: which workload identity each token proves.
import { z } from 'zod';
import { parseConfig, readConfigText } from './load.ts';
import { deepFreeze, type DeepReadonly } from '../common/freeze.ts';
import { isKubernetesName } from './identity.ts';

/**
 * `{ tokens: [{ namespace, serviceAccount, sha256 }] }`: the SHA-256 (hex) of each join token and the one identity it
 * proves. A sidecar sends its token in its SubscribeRequest; the agent signs only for the identity the token names.
 */
export const joinTokensSchema = z.strictObject({
  tokens: z.array(z.strictObject({
    namespace: z.string().refine((n) => isKubernetesName('namespace', n), { message: 'a Kubernetes namespace name (DNS-1123 label)' }),
    serviceAccount: z.string().refine((n) => isKubernetesName('serviceAccount', n), { message: 'a Kubernetes service account name (DNS-1123 subdomain)' }),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'the SHA-256 of the token, 64 lowercase hex digits'),
  })).min(1, { message: 'list at least one token' }),
});

export type JoinTokensFile = DeepReadonly<z.output<typeof joinTokensSchema>>;

/** Reads and validates a join tokens file; errors name the file and the path. */
export function loadJoinTokensFile(path: string): JoinTokensFile {
  return deepFreeze(parseConfig(joinTokensSchema, readConfigText(path), path));
}
