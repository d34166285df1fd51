// Integer basis-point arithmetic for weights: largest-remainder rounding and the bounded-step damping rule.

/** Total of every non-empty row. */
export const TOTAL_BP = 10000;

// Scratch for remainders, reused across calls (never returned).
let remBuf = new Float64Array(16);

/**
 * Rounds non-negative reals to integers summing to exactly `total` (largest remainder; ties go to the lower index,
 * so the result is deterministic). All-zero input gives all zeros.
 */
export function largestRemainder(values: readonly number[], total: number = TOTAL_BP): number[] {
  const n = values.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i]! > 0 ? values[i]! : 0;
  // A loop, not Array#fill: this runs for every group of every service, and the builtin call dominated it.
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = 0;
  if (sum <= 0 || n === 0) return out;
  const scale = total / sum;
  if (remBuf.length < n) remBuf = new Float64Array(2 * n);
  const rem = remBuf;
  let used = 0;
  for (let i = 0; i < n; i++) {
    const exact = values[i]! > 0 ? values[i]! * scale : 0;
    const f = Math.floor(exact);
    out[i] = f;
    rem[i] = exact - f;
    used += f;
  }
  let left = total - used;
  if (left > 0 && left < n && n <= 32) {
    // Picking the largest remainder `left` times (ties: lower index) is the sorted order's prefix, without sorting.
    let taken = 0;
    for (; left > 0; left--) {
      let best = -1;
      for (let i = 0; i < n; i++) if ((taken & (1 << i)) === 0 && (best < 0 || rem[i]! > rem[best]!)) best = i;
      taken |= 1 << best;
      out[best]!++;
    }
  } else if (left > 0) {
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => rem[b]! - rem[a]! || a - b);
    for (let k = 0; left > 0; k = (k + 1) % n) {
      out[order[k]!]!++;
      left--;
    }
  }
  return out;
}

/**
 * One damped step from `previous` toward `target` (both integer basis points over the same zones, target summing
 * to 10000). Zones the caller zeroed in `previous` (now ineligible) have already dropped; their freed share goes at
 * once to the zones that need to grow (fast failover). Then every zone moves toward its target by the same fraction,
 * chosen so that no zone moves by more than maxStep (slow failback, no overshoot, so no oscillation). Moves whose
 * largest change is at most `deadband` are skipped so measurement noise does not churn tables.
 *
 * Invariants: the result sums to 10000; each zone lies between its (refilled) previous value and its target;
 * |result − refilled previous| ≤ maxStep for every zone.
 */
export function dampStep(previous: readonly number[], target: readonly number[], maxStep: number, deadband: number): number[] {
  const n = target.length;
  let prevSum = 0;
  for (let i = 0; i < n; i++) prevSum += previous[i]!;
  if (prevSum <= 0) return target.slice();
  const freed = TOTAL_BP - prevSum;
  let base = previous.slice();
  if (freed > 0) {
    const need = target.map((t, i) => Math.max(0, t - previous[i]!));
    const add = largestRemainder(need, freed);
    base = base.map((p, i) => p + add[i]!);
  }
  let maxDiff = 0;
  for (let i = 0; i < n; i++) maxDiff = Math.max(maxDiff, Math.abs(target[i]! - base[i]!));
  if (maxDiff <= deadband) return base;
  if (maxDiff <= maxStep) return target.slice();
  const alpha = maxStep / maxDiff;
  // Fractional moves are rounded with largest remainder on the fractional parts only, so a zone never rounds
  // past its bound: each lands on floor or ceil of a value already within [base−maxStep, base+maxStep].
  const exact = base.map((b, i) => b + alpha * (target[i]! - b));
  const floors = exact.map((x) => Math.floor(x + 1e-9));
  let left = TOTAL_BP - floors.reduce((s, x) => s + x, 0);
  if (left < 0) return largestRemainder(exact);
  if (left > 0) {
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => exact[b]! - floors[b]! - (exact[a]! - floors[a]!) || a - b);
    for (let k = 0; left > 0 && k < n; k++, left--) floors[order[k]!]!++;
  }
  return floors;
}
