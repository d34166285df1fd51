// The sidecar's seeded random source, for tests and benchmarks that must replay the same decisions.
import { seededRandom as seeded } from '../common/random.ts';
import type { Random } from './types.ts';

/** A deterministic Random from a 32-bit seed. Not for anything secret. */
export const seededRandom: (seed: number) => Random = seeded;
