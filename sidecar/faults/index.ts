// Public API of sidecar L7 faults: decisions, abort responses, and the runtime settings schema.
export { decideFault, findFaultRule, abortResponse, grpcStatusForHttp, httpStatusForGrpc, type FaultDecision } from './decide.ts';
export { faultSettingsSchema, faultRuleSchema, parseFaultSettings, type FaultSettings, type FaultRule } from './schema.ts';
