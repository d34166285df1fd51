// The admin tokens of a `meshfed up` federation: one read and one write token, their hashes for every admin port.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashToken, newToken } from '../common/admin-auth.ts';

/** What createAdminTokens wrote (paths). */
export interface UpAdminTokens {
  /** { tokens: [{ name, role, sha256 }] }, for every component's --admin-tokens. */
  readonly file: string;
  /** The tokens themselves, one per file (0600), for the CLI, the chaos runner, tests and the dashboard URL. */
  readonly read: string;
  readonly write: string;
}

/** Writes a fresh read and write token into `dir` (0700): a new pair on every `meshfed up`. */
export function createAdminTokens(dir: string): UpAdminTokens {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tokens = { read: newToken(), write: newToken() };
  const read = join(dir, 'read.token');
  const write = join(dir, 'write.token');
  writeFileSync(read, tokens.read + '\n', { mode: 0o600 });
  writeFileSync(write, tokens.write + '\n', { mode: 0o600 });
  const file = join(dir, 'tokens.json');
  writeFileSync(file, JSON.stringify({ tokens: [
    { name: 'up-read', role: 'read', sha256: hashToken(tokens.read) },
    { name: 'up-write', role: 'write', sha256: hashToken(tokens.write) },
  ] }, null, 2) + '\n', { mode: 0o600 });
  return { file, read, write };
}
