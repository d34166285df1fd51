// The mergeable latency histogram: fixed shared bucket bounds, so histograms from many zones and windows add up.
import { err, ok, type Result } from '../common/errors.ts';
import type { LatencyHistogram } from './generated/meshfed/v1/LatencyHistogram.ts';
import type { LatencyHistogram__Output } from './generated/meshfed/v1/LatencyHistogram.ts';

/**
 * The upper bounds (inclusive, in ms) every meshfed histogram uses. counts[i] holds samples in
 * (bounds[i-1], bounds[i]]; the last count holds everything above the last bound.
 */
export const LATENCY_BOUNDS_MS: readonly number[] = Object.freeze([0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]);

/**
 * An immutable latency histogram. Invariant: counts.length === boundsMs.length + 1, bounds strictly increase,
 * counts are non-negative integers and count === sum(counts).
 */
export interface Histogram {
  readonly boundsMs: readonly number[];
  readonly counts: readonly number[];
  readonly sumMs: number;
  readonly count: number;
}

/** Why two histograms could not be merged or a message could not be read. */
export interface HistogramProblem {
  readonly code: 'MESHFED_E_HISTOGRAM_BOUNDS_MISMATCH' | 'MESHFED_E_HISTOGRAM_INVALID';
  readonly message: string;
}

function freeze(h: Histogram): Histogram {
  Object.freeze(h.counts);
  return Object.freeze(h);
}

/** An empty histogram over the given bounds (default: the shared LATENCY_BOUNDS_MS). */
export function emptyHistogram(boundsMs: readonly number[] = LATENCY_BOUNDS_MS): Histogram {
  return freeze({ boundsMs, counts: new Array<number>(boundsMs.length + 1).fill(0), sumMs: 0, count: 0 });
}

/** The bucket a sample falls in: the first bound >= ms, or the overflow bucket. */
export function bucketIndex(boundsMs: readonly number[], ms: number): number {
  let lo = 0;
  let hi = boundsMs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((boundsMs[mid] as number) >= ms) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** A new histogram with n samples of ms added. Negative or non-finite samples are a programmer error. */
export function record(h: Histogram, ms: number, n = 1): Histogram {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`latency sample must be a finite, non-negative number of ms, got ${ms}`);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`sample count must be a non-negative integer, got ${n}`);
  const counts = [...h.counts];
  const i = bucketIndex(h.boundsMs, ms);
  counts[i] = (counts[i] as number) + n;
  return freeze({ boundsMs: h.boundsMs, counts, sumMs: h.sumMs + ms * n, count: h.count + n });
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a === b || (a.length === b.length && a.every((v, i) => v === b[i]));
}

/** Adds two histograms. Refuses (as a value) when their bounds differ: counts over different buckets cannot be added. */
export function merge(a: Histogram, b: Histogram): Result<Histogram, HistogramProblem> {
  if (!sameBounds(a.boundsMs, b.boundsMs)) {
    return err({
      code: 'MESHFED_E_HISTOGRAM_BOUNDS_MISMATCH',
      message: `cannot merge histograms with different bucket bounds ([${a.boundsMs.join(', ')}] vs [${b.boundsMs.join(', ')}])`,
    });
  }
  const counts = a.counts.map((c, i) => c + (b.counts[i] as number));
  return ok(freeze({ boundsMs: a.boundsMs, counts, sumMs: a.sumMs + b.sumMs, count: a.count + b.count }));
}

/** Merges many histograms, starting from an empty one over the shared bounds. */
export function mergeAll(hs: readonly Histogram[], boundsMs: readonly number[] = LATENCY_BOUNDS_MS): Result<Histogram, HistogramProblem> {
  let acc = emptyHistogram(boundsMs);
  for (const h of hs) {
    const r = merge(acc, h);
    if (!r.ok) return r;
    acc = r.value;
  }
  return ok(acc);
}

/**
 * The q-quantile (0 ≤ q ≤ 1) in ms, interpolating linearly inside the bucket that holds it, as Prometheus'
 * histogram_quantile does. The first bucket starts at 0. A quantile that lands in the overflow bucket returns the
 * last bound: the histogram cannot say how far above it the samples are. Undefined for an empty histogram.
 */
export function quantile(h: Histogram, q: number): number | undefined {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be in [0, 1], got ${q}`);
  if (h.count === 0) return undefined;
  const rank = q * h.count;
  let below = 0;
  for (let i = 0; i < h.counts.length; i++) {
    const c = h.counts[i] as number;
    if (c > 0 && below + c >= rank) {
      if (i === h.boundsMs.length) return h.boundsMs[h.boundsMs.length - 1] as number;
      const lower = i === 0 ? 0 : (h.boundsMs[i - 1] as number);
      const upper = h.boundsMs[i] as number;
      return lower + (upper - lower) * ((rank - below) / c);
    }
    below += c;
  }
  return h.boundsMs[h.boundsMs.length - 1] as number;
}

/** The mean sample in ms; undefined for an empty histogram. */
export function mean(h: Histogram): number | undefined {
  return h.count === 0 ? undefined : h.sumMs / h.count;
}

/** The LatencyHistogram message. Counts are uint64, which the loader options carry as decimal strings. */
export function toProto(h: Histogram): LatencyHistogram {
  return { bounds_ms: [...h.boundsMs], counts: h.counts.map((c) => String(c)), sum_ms: h.sumMs, count: String(h.count) };
}

function readCount(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * Reads a LatencyHistogram message, checking its invariants, since it arrives from another process.
 * An absent message (null, or no buckets at all) reads as an empty histogram over the shared bounds.
 * Bounds equal to LATENCY_BOUNDS_MS share that array, so merging stays cheap.
 */
export function fromProto(msg: LatencyHistogram__Output | LatencyHistogram | null | undefined): Result<Histogram, HistogramProblem> {
  const invalid = (why: string) => err({ code: 'MESHFED_E_HISTOGRAM_INVALID' as const, message: `invalid latency histogram: ${why}` });
  if (msg === null || msg === undefined) return ok(emptyHistogram());
  const rawBounds = (msg.bounds_ms ?? []).map(Number);
  const rawCounts = msg.counts ?? [];
  if (rawBounds.length === 0 && rawCounts.length === 0) {
    return readCount(msg.count ?? 0) === 0 ? ok(emptyHistogram()) : invalid('count is non-zero but there are no buckets');
  }
  if (rawCounts.length !== rawBounds.length + 1) return invalid(`${rawCounts.length} counts for ${rawBounds.length} bounds (expected ${rawBounds.length + 1})`);
  for (let i = 0; i < rawBounds.length; i++) {
    const b = rawBounds[i] as number;
    if (!Number.isFinite(b) || b <= 0 || (i > 0 && b <= (rawBounds[i - 1] as number))) return invalid('bounds must be positive and strictly increasing');
  }
  const counts: number[] = [];
  for (const c of rawCounts) {
    const n = readCount(typeof c === 'object' && c !== null ? String(c) : c);
    if (n === undefined) return invalid(`count ${String(c)} is not a non-negative integer`);
    counts.push(n);
  }
  const count = readCount(msg.count ?? 0);
  const total = counts.reduce((s, c) => s + c, 0);
  if (count !== total) return invalid(`count ${String(msg.count)} differs from the sum of bucket counts (${total})`);
  const sumMs = Number(msg.sum_ms ?? 0);
  if (!Number.isFinite(sumMs) || sumMs < 0) return invalid(`sum_ms ${String(msg.sum_ms)} is not a finite, non-negative number`);
  const boundsMs = sameBounds(rawBounds, LATENCY_BOUNDS_MS) ? LATENCY_BOUNDS_MS : Object.freeze(rawBounds);
  return ok(freeze({ boundsMs, counts, sumMs, count: total }));
}

/**
 * A mutable recorder for hot paths (the sidecar records one sample per request): observe() is O(log buckets)
 * with no allocation; take() returns the window as an immutable Histogram and starts a new window.
 */
export class HistogramRecorder {
  readonly #bounds: readonly number[];
  #counts: number[];
  #sum = 0;
  #count = 0;

  constructor(boundsMs: readonly number[] = LATENCY_BOUNDS_MS) {
    this.#bounds = boundsMs;
    this.#counts = new Array<number>(boundsMs.length + 1).fill(0);
  }

  /** Records one sample; negative or non-finite samples are ignored (a clock step backwards must not poison stats). */
  observe(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const i = bucketIndex(this.#bounds, ms);
    this.#counts[i] = (this.#counts[i] as number) + 1;
    this.#sum += ms;
    this.#count += 1;
  }

  /** The samples so far, without resetting. */
  snapshot(): Histogram {
    return freeze({ boundsMs: this.#bounds, counts: [...this.#counts], sumMs: this.#sum, count: this.#count });
  }

  /** The samples so far; the recorder starts empty again. */
  take(): Histogram {
    const h = this.snapshot();
    this.#counts = new Array<number>(this.#bounds.length + 1).fill(0);
    this.#sum = 0;
    this.#count = 0;
    return h;
  }
}
