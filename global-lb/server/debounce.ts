// The leader's recompute debounce as a pure rule plus a small timer wrapper.

/**
 * When a debounced recompute fires: quietMs after the latest change, but never later than maxMs after the
 * first change of the burst, so a steady stream of changes cannot postpone a recompute forever.
 */
export function debounceFireAt(firstChangeAt: number, lastChangeAt: number, quietMs: number, maxMs: number): number {
  return Math.min(lastChangeAt + quietMs, firstChangeAt + maxMs);
}

/** A debouncer over real timers, with time injected for the rule. Invariant: at most one timer is pending. */
export class Debouncer {
  private first: number | undefined;
  private last = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly quietMs: number;
  private readonly maxMs: number;
  private readonly fire: () => void;
  private readonly now: () => number;

  constructor(quietMs: number, maxMs: number, fire: () => void, now: () => number = Date.now) {
    this.quietMs = quietMs;
    this.maxMs = maxMs;
    this.fire = fire;
    this.now = now;
  }

  /** Records a change and (re)arms the timer. */
  poke(): void {
    const t = this.now();
    this.first ??= t;
    this.last = t;
    this.arm();
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.first = undefined;
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    const at = debounceFireAt(this.first!, this.last, this.quietMs, this.maxMs);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.first = undefined;
      this.fire();
    }, Math.max(0, at - this.now()));
  }
}
