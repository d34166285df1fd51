// Public API of the balancer's server side (re-exported by global-lb/index.ts).
export { startGlobalLb, spiffePeerCheck, DEFAULT_MAX_REPORT_BYTES, DEFAULT_COLD_START_GRACE_MS } from './server.ts';
export type { GlobalLb, GlobalLbOptions, GlobalLbTls } from './server.ts';
export { DEFAULT_REPORT_LIMITS, validateHello, validateReport, toZoneState, buildDirectory } from './report.ts';
export type { StoredZoneReport, ZoneIdentity, ReportLimits, Refusal } from './report.ts';
export type { ZoneView } from './admin.ts';
export type { AgentStreamInfo } from './federation.ts';
