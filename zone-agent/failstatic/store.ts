// Fail-static persistence: the last good balancer state (weights, directory, bundle) on disk, written atomically.
import { readFileSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
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
  // The hold-over clocks (relay/state.ts mergeDirectory/mergeWeights) survive a restart, so an agent restart does not
  // extend a missing zone's stay; a file written before they existed (or with a damaged map) simply has none.
  return ok({
    directory: s.directory ?? undefined, weights: s.weights, bundle: s.bundle ?? undefined, weightsReceivedAtMs: s.weightsReceivedAtMs,
    ...(s.heldZones !== undefined ? { heldZones: clockMap(s.heldZones) } : {}),
    ...(s.heldTables !== undefined ? { heldTables: clockMap(s.heldTables) } : {}),
  });
}

/** A `name -> unix ms` map from disk, keeping only well-formed entries. */
function clockMap(v: unknown): Record<string, number> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1])));
}

/**
 * Writes the state with write-to-temp, fsync, rename: a crash leaves either the old file or the new one, never
 * a torn one. Runs off the event loop, so a slow disk never delays pushes to sidecars. Returns an error value
 * instead of throwing, since a failed write must not stop the agent.
 */
export async function saveLastGood(dir: string, zone: string, state: BalancerState, nowMs: number): Promise<Result<string, string>> {
  const path = join(dir, STATE_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await mkdir(dir, { recursive: true });
    const body: OnDisk = { format: FORMAT, zone, savedAtMs: nowMs, state };
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify(body));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    return ok(path);
  } catch (e) {
    return err(`${path}: ${(e as Error).message}`);
  }
}

/**
 * Coalesces saves: at most one write in flight; changes arriving meanwhile are written once after it, with the
 * newest state. Invariant: after flush() resolves, the file holds the last state passed to save().
 */
export class LastGoodWriter {
  private readonly dir: string;
  private readonly zone: string;
  private readonly onError: (message: string) => void;
  private next: BalancerState | undefined;
  private running: Promise<void> | undefined;

  constructor(dir: string, zone: string, onError: (message: string) => void) {
    this.dir = dir;
    this.zone = zone;
    this.onError = onError;
  }

  save(state: BalancerState): void {
    this.next = state;
    this.running ??= this.drain();
  }

  /** Resolves when everything saved so far is on disk. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    while (this.next) {
      const s = this.next;
      this.next = undefined;
      const r = await saveLastGood(this.dir, this.zone, s, Date.now());
      if (!r.ok) this.onError(r.error);
    }
    this.running = undefined;
  }
}
