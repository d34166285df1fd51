// The join tokens of one zone of a `meshfed up` federation: one per workload identity, and their hashes for its agent.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashToken, newToken } from '../common/admin-auth.ts';

/**
 * Writes a token per service account into `dir` (0700; `<serviceAccount>.token`, 0600) and the agent's
 * `join-tokens.json` with their hashes; returns the latter's path. A new set on every `meshfed up`.
 */
export function createJoinTokens(dir: string, namespace: string, serviceAccounts: readonly string[]): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tokens = [...new Set(serviceAccounts)].map((serviceAccount) => {
    const token = newToken();
    writeFileSync(join(dir, `${serviceAccount}.token`), token + '\n', { mode: 0o600 });
    return { namespace, serviceAccount, sha256: hashToken(token) };
  });
  const file = join(dir, 'join-tokens.json');
  writeFileSync(file, JSON.stringify({ tokens }, null, 2) + '\n', { mode: 0o600 });
  return file;
}

/** The join token `createJoinTokens` wrote for a service account. */
export function readJoinToken(dir: string, serviceAccount: string): string {
  return readFileSync(join(dir, `${serviceAccount}.token`), 'utf8').trim();
}
