// Pure L4 fault decisions: when a chunk may leave under latency and a bandwidth cap, and a connection's fate.

/** Connection-level faults, settable at runtime through the admin port. Zero/false means "off". */
export interface L4Faults {
  /** Added one-way delay on every chunk, in each direction, in milliseconds. */
  readonly latencyMs: number;
  /** Bytes per second in each direction; 0 means unlimited. */
  readonly bandwidthBytesPerSec: number;
  /** Share of new connections reset at once (TCP RST), 0..100. */
  readonly resetPercent: number;
  /** Share of new connections whose bytes are swallowed and never answered, 0..100. */
  readonly blackholePercent: number;
}

export const NO_L4_FAULTS: L4Faults = Object.freeze({ latencyMs: 0, bandwidthBytesPerSec: 0, resetPercent: 0, blackholePercent: 0 });

/** True when any fault is set, so the I/O side can skip the fault pipe on the hot path. */
export function l4Active(f: L4Faults): boolean {
  return f.latencyMs > 0 || f.bandwidthBytesPerSec > 0 || f.resetPercent > 0 || f.blackholePercent > 0;
}

/** What happens to a new connection. `random` is a draw in [0, 1). */
export function connectionFate(f: L4Faults, random: number): 'reset' | 'blackhole' | 'pass' {
  const r = random * 100;
  if (r < f.resetPercent) return 'reset';
  if (r < f.resetPercent + f.blackholePercent) return 'blackhole';
  return 'pass';
}

/**
 * The time a chunk of `bytes` arriving at `now` may be delivered, given when the previous chunk in the same
 * direction was delivered (`prevRelease`). Invariant: release times never decrease, so order is kept; with a
 * bandwidth cap, consecutive chunks are spaced by bytes / rate.
 */
export function releaseAt(f: L4Faults, now: number, prevRelease: number, bytes: number): number {
  const earliest = now + f.latencyMs;
  const start = Math.max(earliest, prevRelease);
  if (f.bandwidthBytesPerSec <= 0) return start;
  return start + (bytes * 1000) / f.bandwidthBytesPerSec;
}

/** Validates a JSON body for L4 faults; returns the problems as path-named lines. Missing keys mean "off". */
export function parseL4Faults(input: unknown): { ok: true; value: L4Faults } | { ok: false; errors: string[] } {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return { ok: false, errors: ['l4: expected a mapping'] };
  const o = input as Record<string, unknown>;
  const errors: string[] = [];
  const allowed = ['latencyMs', 'bandwidthBytesPerSec', 'resetPercent', 'blackholePercent'];
  for (const k of Object.keys(o)) if (!allowed.includes(k)) errors.push(`l4.${k}: unknown key (allowed: ${allowed.join(', ')})`);
  const num = (k: string, max: number): number => {
    const v = o[k];
    if (v === undefined) return 0;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max) {
      errors.push(`l4.${k}: expected a number from 0 to ${max}, got ${JSON.stringify(v)}`);
      return 0;
    }
    return v;
  };
  const value: L4Faults = {
    latencyMs: num('latencyMs', 60_000),
    bandwidthBytesPerSec: num('bandwidthBytesPerSec', 1e12),
    resetPercent: num('resetPercent', 100),
    blackholePercent: num('blackholePercent', 100),
  };
  if (value.resetPercent + value.blackholePercent > 100) errors.push('l4: resetPercent + blackholePercent must not exceed 100');
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: Object.freeze(value) };
}
