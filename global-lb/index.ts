// Public API of the global balancer: start a replica, its options, and its error codes.
export * from './server/index.ts';
export { GLOBAL_LB_CODES } from './errors.ts';
export type { GlobalLbCode } from './errors.ts';
