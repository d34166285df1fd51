// Public API of the weight engine: pure computation of cross-zone weight tables from a federation snapshot.
export type {
  CallerEvidence,
  ErrorCounts,
  ComputeServiceWeights,
  ComputeWeights,
  EngineResult,
  EngineState,
  FederationSnapshot,
  Policy,
  ServiceKey,
  ServiceMemory,
  ServiceResult,
  ServiceStats,
  ServiceTable,
  SourceEvidence,
  SourceRow,
  PathMemory,
  TargetShare,
  ZoneMemory,
  ZoneState,
  ZoneVerdict,
} from './types.ts';
export { defaultPolicy, loadPolicyFile, parsePolicy, policyKey, policySchema, validatePolicy } from '../../api/policy.ts';
export { computeServiceFromIndex, computeServiceWeights, computeWeights, FORGET_AFTER_MS, indexSnapshot, NOMINAL_RPS_PER_ENDPOINT, withServiceMemory, type SnapshotIndex } from './engine.ts';
export { largestRemainder, dampStep, TOTAL_BP } from './damping.ts';
export { SLOW_START_FLOOR, STALE_GRACE_MS } from './eligibility.ts';
export { exclusiveText, explain } from './explain.ts';
