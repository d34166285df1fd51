// Public API of the global balancer: start a replica, its options, and its error codes.
export { startGlobalLb, spiffePeerCheck, DEFAULT_MAX_REPORT_BYTES } from './server/server.ts';
export type { GlobalLb, GlobalLbOptions, GlobalLbTls } from './server/server.ts';
export type { StoredZoneReport, ZoneIdentity, ReportLimits } from './server/report.ts';
export { DEFAULT_REPORT_LIMITS } from './server/report.ts';
export type { ZoneView } from './server/admin.ts';
export type { AgentStreamInfo } from './server/federation.ts';
export { GLOBAL_LB_CODES } from './errors.ts';
export type { GlobalLbCode } from './errors.ts';
