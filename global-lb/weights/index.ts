// Public API of the weight engine: pure computation of cross-zone weight tables from a federation snapshot.
export type {
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
  SourceRow,
  TargetShare,
  ZoneMemory,
  ZoneState,
  ZoneVerdict,
} from './types.ts';
export { defaultPolicy, loadPolicyFile, parsePolicy, policyKey, policySchema, validatePolicy } from '../../api/policy.ts';
