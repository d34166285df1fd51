// Holds: "keep this component down until T" requests from `meshfed hold`, as files under <run>/holds/, and the pure decision a supervisor takes on them.
//
// Why files and not a control socket: `meshfed up` already publishes everything through its state directory
// (up.json), a hold must outlive the CLI process that set it, and a file per hold is atomic (tmp + rename), needs
// no listener, port or protocol, and can be read by a human with `ls`. The supervisor reads the directory before
// it decides on any exit (so a hold written before a kill is always seen) and polls it every HOLD_POLL_MS (a
// readdir of a few entries) to restart promptly when a hold expires or its file is removed (`meshfed release`).
// The supervisor acknowledges a hold by writing it into up.json (components[].hold), which the CLI waits for.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** How often the supervisor reads the holds directory. */
export const HOLD_POLL_MS = 250;
/** The shortest and longest hold `meshfed hold --for` accepts: a hold always ends by itself. */
export const MIN_HOLD_MS = 1000;
export const MAX_HOLD_MS = 3_600_000;

/** One hold of one component. Times are epoch milliseconds. */
export interface Hold {
  /** Unique per hold; names its file, so removing an expired hold can never remove a newer one. */
  readonly id: string;
  readonly component: string;
  readonly since: number;
  readonly until: number;
  /** The component is to be SIGKILLed when the hold is applied. */
  readonly kill: boolean;
}

/** Where the component is, as the supervisor sees it: running, or kept down by a hold since `since`. */
export type HeldState = { readonly kind: 'running' } | { readonly kind: 'exited' } | { readonly kind: 'kept-down'; readonly since: number };

/** What to do about a component, given the holds now. */
export type HoldDecision =
  /** No hold in force: the restart policy applies as usual. */
  | { readonly kind: 'not-held' }
  /** Running under a --kill hold not yet applied: SIGKILL it (once per hold id). */
  | { readonly kind: 'kill'; readonly hold: Hold }
  /** Held: leave it as it is (down stays down and its exit is not counted); look again by `until` at the latest. */
  | { readonly kind: 'keep-down'; readonly hold: Hold; readonly until: number }
  /** Kept down, and the hold ended (expired or released): start it now, `heldMs` after it went down. */
  | { readonly kind: 'restart-now'; readonly heldMs: number };

/** The hold in force for a component at `now`: the most recent one (latest `since`) that has not expired. */
export function activeHold(holds: readonly Hold[], component: string, now: number): Hold | undefined {
  let best: Hold | undefined;
  for (const h of holds) {
    if (h.component !== component) continue;
    if (best === undefined || h.since > best.since || (h.since === best.since && h.id > best.id)) best = h;
  }
  return best !== undefined && best.until > now ? best : undefined;
}

/**
 * Decides on one component at `now`. `killed` holds the ids of holds whose kill was already sent.
 * Invariant: a component kept down is restarted exactly when no hold is in force for it; the latest hold wins, so a
 * shorter hold set after a longer one ends the hold earlier.
 */
export function decideHold(holds: readonly Hold[], component: string, state: HeldState, now: number, killed: ReadonlySet<string> = new Set()): HoldDecision {
  const hold = activeHold(holds, component, now);
  if (hold === undefined) return state.kind === 'kept-down' ? { kind: 'restart-now', heldMs: now - state.since } : { kind: 'not-held' };
  if (state.kind === 'running' && hold.kill && !killed.has(hold.id)) return { kind: 'kill', hold };
  return { kind: 'keep-down', hold, until: hold.until };
}

/** Holds whose file can go: expired at `now` or replaced by a newer hold of the same component. */
export function staleHolds(holds: readonly Hold[], now: number): Hold[] {
  return holds.filter((h) => activeHold(holds, h.component, now)?.id !== h.id);
}

/** "8.0s", "1m 5s": how long a hold lasted, for progress lines. */
export function formatHeld(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m ${s % 60}s`;
}

/** Matches component names: an exact name, or a prefix ending in `*` (`app-us-east-1a-catalog-*`). */
export function matchComponents(patterns: readonly string[], names: readonly string[]): { matched: string[]; unknown: string[] } {
  const matched = new Set<string>();
  const unknown: string[] = [];
  for (const p of patterns) {
    const hits = p.endsWith('*') ? names.filter((n) => n.startsWith(p.slice(0, -1))) : names.filter((n) => n === p);
    if (hits.length === 0) unknown.push(p);
    for (const h of hits) matched.add(h);
  }
  return { matched: names.filter((n) => matched.has(n)), unknown };
}

/** Decodes a hold file's JSON; undefined when it is not one (a half-written or foreign file is ignored). */
export function decodeHold(value: unknown): Hold | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const { id, component, since, until, kill } = v;
  if (typeof id !== 'string' || typeof component !== 'string' || typeof since !== 'number' || typeof until !== 'number' || typeof kill !== 'boolean') return undefined;
  return Object.freeze({ id, component, since, until, kill });
}

/** The holds directory of a run. */
export function holdsDir(runDir: string): string {
  return join(runDir, 'holds');
}

/** Reads every hold file in `dir` (none when it does not exist). */
export function readHolds(dir: string): Hold[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const out: Hold[] = [];
  for (const f of files) {
    try {
      const h = decodeHold(JSON.parse(readFileSync(join(dir, f), 'utf8')));
      if (h !== undefined) out.push(h);
    } catch {
      // removed while we read it, or not JSON
    }
  }
  return out;
}

/** Writes a new hold atomically and returns it. */
export function writeHold(dir: string, component: string, now: number, forMs: number, kill: boolean): Hold {
  mkdirSync(dir, { recursive: true });
  const hold: Hold = Object.freeze({ id: `${now.toString(36)}-${randomBytes(4).toString('hex')}`, component, since: now, until: now + forMs, kill });
  const path = holdFile(dir, hold);
  writeFileSync(`${path}.tmp`, JSON.stringify(hold) + '\n');
  renameSync(`${path}.tmp`, path);
  return hold;
}

/** Removes one hold's file. */
export function removeHold(dir: string, hold: Hold): void {
  rmSync(holdFile(dir, hold), { force: true });
}

function holdFile(dir: string, hold: Hold): string {
  return join(dir, `${hold.component}@${hold.id}.json`);
}
