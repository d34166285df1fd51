// Shared plumbing used by every component: errors, logging, metrics, freezing.
export * from './errors.ts';
export * from './freeze.ts';
export * from './logger.ts';
export * from './metrics.ts';
export * from './random.ts';
