// Pure handling of agent messages: Hello and ZoneReport validation, the stored report record, and its
// conversion into the weight engine's ZoneState and the Directory pushed to agents.
import { createHash } from 'node:crypto';
import { err, ok, type Result } from '../../common/errors.ts';
import { isLocalitySegment, type Locality } from '../../api/locality.ts';
import type { Hello__Output } from '../../api/generated/meshfed/v1/Hello.ts';
import type { ZoneReport__Output } from '../../api/generated/meshfed/v1/ZoneReport.ts';
import type { LatencyHistogram__Output } from '../../api/generated/meshfed/v1/LatencyHistogram.ts';
import type { Directory } from '../../api/generated/meshfed/v1/Directory.ts';
import type { ServiceStats, ZoneState } from '../weights/index.ts';
import type { GlobalLbCode } from '../errors.ts';

/** A refused agent message: the StreamError sent before the stream closes. */
export interface Refusal {
  readonly code: GlobalLbCode;
  readonly message: string;
}

/** What a Hello says about its zone, as stored beside every report. */
export interface ZoneIdentity {
  readonly locality: Locality;
  readonly cluster: string;
  readonly network: string;
  readonly gatewayAddress: string;
  readonly agentId: string;
  readonly agentVersion: string;
}

/** The JSON stored under KEYS.zoneReport(zone): the zone's identity, its latest report, and who received it when. */
export interface StoredZoneReport {
  readonly identity: ZoneIdentity;
  readonly report: ZoneReport__Output;
  /** ms since epoch, by the receiving replica's clock. */
  readonly receivedAt: number;
  readonly replicaId: string;
}

/** Bounds that keep one report from exhausting memory or poisoning the engine. */
export interface ReportLimits {
  readonly maxServices: number;
  readonly maxEndpointsPerService: number;
  readonly maxRtts: number;
}

export const DEFAULT_REPORT_LIMITS: ReportLimits = Object.freeze({ maxServices: 20_000, maxEndpointsPerService: 10_000, maxRtts: 1_000 });

/** Namespaces and service names become etcd key segments, so no slashes and a bounded length. */
const NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/;
const NETWORK = /^[A-Za-z0-9._-]{0,253}$/;
/** Rates above this are not a measurement but a bug or an attack. */
const MAX_RATE = 1e9;
const MAX_COUNT = 1e15;

/** Checks a Hello: a valid locality (the zone is the stream's key) and sane identity strings. */
export function validateHello(hello: Hello__Output | null | undefined): Result<ZoneIdentity, Refusal> {
  const bad = (message: string) => err({ code: 'MESHFED_E_STREAM_BAD_HELLO' as const, message });
  if (!hello) return bad('Hello is empty');
  const l = hello.locality;
  if (!l) return bad('Hello.locality is required');
  for (const [field, value] of [['cloud', l.cloud], ['region', l.region], ['zone', l.zone]] as const) {
    if (!isLocalitySegment(value)) return bad(`Hello.locality.${field}: "${value.slice(0, 80)}" is not a DNS label (lowercase letters, digits, dashes)`);
  }
  if (!NETWORK.test(hello.network)) return bad('Hello.network: only letters, digits, ".", "_" and "-" are allowed');
  if (hello.gateway_address.length > 300) return bad('Hello.gateway_address is too long');
  if (hello.cluster.length > 253 || hello.agent_id.length > 253 || hello.agent_version.length > 100) return bad('Hello: cluster, agent_id or agent_version is too long');
  return ok({
    locality: { cloud: l.cloud, region: l.region, zone: l.zone },
    cluster: hello.cluster,
    network: hello.network,
    gatewayAddress: hello.gateway_address,
    agentId: hello.agent_id,
    agentVersion: hello.agent_version,
  });
}

function finiteNonNegative(value: number, max: number): boolean {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= max;
}

function countOk(text: string): boolean {
  const n = Number(text);
  return /^\d+$/.test(text) && n <= MAX_COUNT;
}

function checkHistogram(h: LatencyHistogram__Output, where: string): string | undefined {
  if (h.bounds_ms.length > 64) return `${where}.latency.bounds_ms: at most 64 bounds`;
  if (h.counts.length !== 0 && h.counts.length !== h.bounds_ms.length + 1) return `${where}.latency.counts: must have one more entry than bounds_ms`;
  for (let i = 0; i < h.bounds_ms.length; i++) {
    const b = h.bounds_ms[i] as number;
    if (!finiteNonNegative(b, 1e9)) return `${where}.latency.bounds_ms[${i}]: must be a finite, non-negative number`;
    if (i > 0 && b <= (h.bounds_ms[i - 1] as number)) return `${where}.latency.bounds_ms: must increase strictly`;
  }
  for (const c of h.counts) if (!countOk(c)) return `${where}.latency.counts: absurd count ${c}`;
  if (!finiteNonNegative(h.sum_ms, 1e18)) return `${where}.latency.sum_ms: must be a finite, non-negative number`;
  if (!countOk(h.count)) return `${where}.latency.count: absurd count`;
  return undefined;
}

/**
 * Checks a report against the stream's zone and the limits. A report for another zone is refused with
 * MESHFED_E_STREAM_WRONG_ZONE; anything malformed with MESHFED_E_REPORT_INVALID and a path-named message.
 */
export function validateReport(report: ZoneReport__Output | null | undefined, zone: string, limits: ReportLimits = DEFAULT_REPORT_LIMITS): Result<ZoneReport__Output, Refusal> {
  const bad = (message: string) => err({ code: 'MESHFED_E_REPORT_INVALID' as const, message });
  if (!report) return bad('report is empty');
  if (report.zone !== zone) {
    return err({ code: 'MESHFED_E_STREAM_WRONG_ZONE' as const, message: `report for zone "${report.zone.slice(0, 80)}" on a stream that said Hello for "${zone}"` });
  }
  if (!countOk(report.sequence)) return bad('sequence: not a valid counter');
  if (!/^-?\d+$/.test(report.sent_at_unix_ms)) return bad('sent_at_unix_ms: not a valid timestamp');
  if (report.services.length > limits.maxServices) return bad(`services: ${report.services.length} services exceed the limit of ${limits.maxServices}`);
  if (report.rtts.length > limits.maxRtts) return bad(`rtts: ${report.rtts.length} entries exceed the limit of ${limits.maxRtts}`);
  const seen = new Set<string>();
  for (let i = 0; i < report.services.length; i++) {
    const s = report.services[i]!;
    const where = `services[${i}]`;
    if (!NAME.test(s.namespace)) return bad(`${where}.namespace: "${s.namespace.slice(0, 80)}" is not a valid name`);
    if (!NAME.test(s.name)) return bad(`${where}.name: "${s.name.slice(0, 80)}" is not a valid name`);
    const key = `${s.namespace}/${s.name}`;
    if (seen.has(key)) return bad(`${where}: service ${key} is listed twice`);
    seen.add(key);
    if (s.healthy_endpoints > s.total_endpoints) return bad(`${where}.healthy_endpoints: ${s.healthy_endpoints} exceeds total_endpoints ${s.total_endpoints}`);
    if (s.total_endpoints > 1_000_000) return bad(`${where}.total_endpoints: absurd count ${s.total_endpoints}`);
    if (!finiteNonNegative(s.capacity_rps, MAX_RATE)) return bad(`${where}.capacity_rps: must be a finite number between 0 and ${MAX_RATE}`);
    if (!finiteNonNegative(s.rps, MAX_RATE)) return bad(`${where}.rps: must be a finite number between 0 and ${MAX_RATE}`);
    if (!countOk(s.successes)) return bad(`${where}.successes: absurd count`);
    if (s.errors) {
      for (const f of ['http_5xx', 'connect_failure', 'timeout', 'reset'] as const) {
        if (!countOk(s.errors[f])) return bad(`${where}.errors.${f}: absurd count`);
      }
    }
    if (s.latency) {
      const problem = checkHistogram(s.latency, where);
      if (problem) return bad(problem);
    }
    if (s.endpoints.length > limits.maxEndpointsPerService) return bad(`${where}.endpoints: ${s.endpoints.length} exceed the limit of ${limits.maxEndpointsPerService}`);
    for (let j = 0; j < s.endpoints.length; j++) {
      const e = s.endpoints[j]!;
      if (e.address === '' || e.address.length > 253) return bad(`${where}.endpoints[${j}].address: required, at most 253 characters`);
      if (e.port < 1 || e.port > 65535) return bad(`${where}.endpoints[${j}].port: must be 1-65535`);
    }
  }
  for (let i = 0; i < report.rtts.length; i++) {
    const r = report.rtts[i]!;
    if (!isLocalitySegment(r.zone)) return bad(`rtts[${i}].zone: "${r.zone.slice(0, 80)}" is not a zone name`);
    if (!finiteNonNegative(r.rtt_ms, 600_000)) return bad(`rtts[${i}].rtt_ms: must be a finite, non-negative number of milliseconds`);
  }
  return ok(report);
}

/** The median from a bucketed histogram: the upper bound of the bucket holding the 50th percentile. */
export function histogramP50(h: LatencyHistogram__Output | null): number | undefined {
  if (!h || h.counts.length === 0) return undefined;
  const counts = h.counts.map(Number);
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  let cumulative = 0;
  for (let i = 0; i < counts.length; i++) {
    cumulative += counts[i] as number;
    if (cumulative * 2 >= total) return i < h.bounds_ms.length ? h.bounds_ms[i] : (h.bounds_ms.at(-1) ?? h.sum_ms / total);
  }
  return undefined;
}

/** Converts a stored report into what the engine reads. `alive` says whether the report's lease still exists. */
export function toZoneState(stored: StoredZoneReport, drained: boolean, alive: boolean): ZoneState {
  const services = new Map<string, ServiceStats>();
  for (const s of stored.report.services) {
    const p50 = histogramP50(s.latency);
    services.set(`${s.namespace}/${s.name}`, {
      healthyEndpoints: s.healthy_endpoints,
      totalEndpoints: s.total_endpoints,
      capacityRps: s.capacity_rps,
      rps: s.rps,
      inFlight: s.in_flight,
      successes: Number(s.successes),
      errors: {
        http5xx: Number(s.errors?.http_5xx ?? 0),
        connectFailure: Number(s.errors?.connect_failure ?? 0),
        timeout: Number(s.errors?.timeout ?? 0),
        reset: Number(s.errors?.reset ?? 0),
      },
      ...(p50 === undefined ? {} : { latencyP50Ms: p50 }),
    });
  }
  const rttMs = new Map<string, number>();
  for (const r of stored.report.rtts) rttMs.set(r.zone, r.rtt_ms);
  return {
    locality: stored.identity.locality,
    network: stored.identity.network,
    alive,
    drained,
    reportedAt: stored.receivedAt,
    services,
    rttMs,
  };
}

/** Parses a stored report; undefined when the value is not one (a foreign or corrupted key is skipped, not fatal). */
export function parseStoredReport(text: string): StoredZoneReport | undefined {
  try {
    const v = JSON.parse(text) as Partial<StoredZoneReport>;
    if (!v || typeof v !== 'object' || !v.identity?.locality?.zone || !v.report || !Array.isArray(v.report.services) || typeof v.receivedAt !== 'number') return undefined;
    if (!Array.isArray(v.report.rtts)) return undefined;
    return v as StoredZoneReport;
  } catch {
    return undefined;
  }
}

/** Every zone and how to reach its services, sorted by zone, versioned by a content hash. */
export function buildDirectory(reports: Iterable<StoredZoneReport>): Directory {
  const zones = [...reports]
    .sort((a, b) => (a.identity.locality.zone < b.identity.locality.zone ? -1 : a.identity.locality.zone > b.identity.locality.zone ? 1 : 0))
    .map((r) => ({
      locality: { ...r.identity.locality },
      cluster: r.identity.cluster,
      network: r.identity.network,
      gateway_address: r.identity.gatewayAddress,
      services: r.report.services
        .filter((s) => s.endpoints.length > 0)
        .map((s) => ({
          namespace: s.namespace,
          name: s.name,
          endpoints: s.endpoints.map((e) => ({ address: e.address, port: e.port, healthy: e.healthy, labels: { ...e.labels } })),
        })),
    }));
  const version = createHash('sha256').update(JSON.stringify(zones)).digest('hex').slice(0, 16);
  return { zones, version };
}
