// Fail-static persistence: the last good balancer state (weights, directory, bundle) on disk, written atomically.
import { mkdirSync, openSync, writeSync, fsyncSync, closeSync, renameSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { err, ok, type Result } from '../../common/errors.ts';
import type { BalancerState } from '../relay/state.ts';

/** The file inside the state directory. */
export const STATE_FILE = 'last-good.json';
const FORMAT = 'meshfed.zone-agent.last-good/v1';

interface OnDisk {
  readonly format: string;
  readonly zone: string;
  readonly savedAtMs: number;
  readonly state: BalancerState;
}

/**
 * Writes the state with write-to-temp, fsync, rename: a crash leaves either the old file or the new one, never
 * a torn one. Returns an error value instead of throwing, since a failed write must not stop the agent.
 */
export function saveLastGood(dir: string, zone: string, state: BalancerState, nowMs: number): Result<string, string> {
  const path = join(dir, STATE_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true });
    const body: OnDisk = { format: FORMAT, zone, savedAtMs: nowMs, state };
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(body));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    return ok(path);
  } catch (e) {
    return err(`${path}: ${(e as Error).message}`);
  }
}

/**
 * Reads the persisted state. A missing file is `ok(undefined)` (first start); a corrupt file, a file of another
 * format or one saved for another zone is an error value, and the caller starts without it.
 */
export function loadLastGood(dir: string, zone: string): Result<BalancerState | undefined, string> {
  const path = join(dir, STATE_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return ok(undefined);
    return err(`${path}: cannot read: ${(e as Error).message}`);
  }
  let body: Partial<OnDisk>;
  try {
    body = JSON.parse(text) as Partial<OnDisk>;
  } catch (e) {
    return err(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (body.format !== FORMAT) return err(`${path}: unknown format ${JSON.stringify(body.format)} (expected ${FORMAT})`);
  if (body.zone !== zone) return err(`${path}: saved for zone ${JSON.stringify(body.zone)}, not ${zone}`);
  const s = body.state;
  if (typeof s !== 'object' || s === null || typeof s.weights !== 'object' || s.weights === null || typeof s.weightsReceivedAtMs !== 'number') {
    return err(`${path}: state is missing weights or weightsReceivedAtMs`);
  }
  return ok({ directory: s.directory ?? undefined, weights: s.weights, bundle: s.bundle ?? undefined, weightsReceivedAtMs: s.weightsReceivedAtMs });
}
