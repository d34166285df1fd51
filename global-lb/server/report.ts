// Pure handling of agent messages: Hello and ZoneReport validation, the stored report record, and its
// conversion into the weight engine's ZoneState and the Directory pushed to agents.
import { createHash } from 'node:crypto';
import { err, ok, type Result } from '../../common/errors.ts';
import { isLocalitySegment, type Locality } from '../../api/locality.ts';
import type { Hello__Output } from '../../api/generated/meshfed/v1/Hello.ts';
import type { ZoneReport__Output } from '../../api/generated/meshfed/v1/ZoneReport.ts';
import type { LatencyHistogram__Output } from '../../api/generated/meshfed/v1/LatencyHistogram.ts';
import type { AskedReport__Output } from '../../api/generated/meshfed/v1/AskedReport.ts';
import type { ErrorCounts__Output } from '../../api/generated/meshfed/v1/ErrorCounts.ts';
import { fromProto, quantile } from '../../api/histogram.ts';
import type { Directory } from '../../api/generated/meshfed/v1/Directory.ts';
import type { CallerEvidence, ErrorCounts, FederationSnapshot, ServiceStats, SourceEvidence, ZoneState } from '../weights/index.ts';
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

function checkErrors(e: ErrorCounts__Output | null, where: string): string | undefined {
  if (!e) return undefined;
  for (const f of ['http_5xx', 'connect_failure', 'timeout', 'reset'] as const) if (!countOk(e[f])) return `${where}.errors.${f}: absurd count`;
  return undefined;
}

/** Checks one AskedReport: names, rate, one outcome per destination zone, sane counters. */
function checkAsked(a: AskedReport__Output, where: string, seen: Set<string>, limits: ReportLimits): string | undefined {
  if (!NAME.test(a.namespace)) return `${where}.namespace: "${a.namespace.slice(0, 80)}" is not a valid name`;
  if (!NAME.test(a.name)) return `${where}.name: "${a.name.slice(0, 80)}" is not a valid name`;
  const key = `${a.namespace}/${a.name}`;
  if (seen.has(key)) return `${where}: service ${key} is listed twice`;
  seen.add(key);
  if (!finiteNonNegative(a.rps, MAX_RATE)) return `${where}.rps: must be a finite number between 0 and ${MAX_RATE}`;
  if (a.destinations.length > limits.maxRtts) return `${where}.destinations: ${a.destinations.length} entries exceed the limit of ${limits.maxRtts}`;
  const zones = new Set<string>();
  for (let j = 0; j < a.destinations.length; j++) {
    const d = a.destinations[j]!;
    const at = `${where}.destinations[${j}]`;
    if (!isLocalitySegment(d.zone)) return `${at}.zone: "${d.zone.slice(0, 80)}" is not a zone name`;
    if (zones.has(d.zone)) return `${at}: zone ${d.zone} is listed twice`;
    zones.add(d.zone);
    if (!countOk(d.requests) || !countOk(d.successes)) return `${at}: requests and successes must be counts`;
    const problem = checkErrors(d.errors, at) ?? (d.latency ? checkHistogram(d.latency, at) : undefined);
    if (problem) return problem;
    if (Number(d.successes) + errorTotal(d.errors) > Number(d.requests)) return `${at}: successes + errors exceed requests`;
    if ((d.sidecars_ejecting_all ?? 0) > (d.sidecars_knowing ?? 0)) return `${at}.sidecars_ejecting_all: exceeds sidecars_knowing`;
  }
  if (a.local) {
    for (const f of ['fault_injected', 'overflow', 'denied', 'no_endpoint', 'timeout'] as const) if (!countOk(a.local[f])) return `${where}.local.${f}: absurd count`;
  }
  return undefined;
}

function errorTotal(e: ErrorCounts__Output | null): number {
  return e ? Number(e.http_5xx) + Number(e.connect_failure) + Number(e.timeout) + Number(e.reset) : 0;
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
    const errProblem = checkErrors(s.errors, where);
    if (errProblem) return bad(errProblem);
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
  const asked = report.asked ?? [];
  if (asked.length > limits.maxServices) return bad(`asked: ${asked.length} services exceed the limit of ${limits.maxServices}`);
  const askedSeen = new Set<string>();
  for (let i = 0; i < asked.length; i++) {
    const problem = checkAsked(asked[i]!, `asked[${i}]`, askedSeen, limits);
    if (problem) return bad(problem);
  }
  for (let i = 0; i < report.rtts.length; i++) {
    const r = report.rtts[i]!;
    if (!isLocalitySegment(r.zone)) return bad(`rtts[${i}].zone: "${r.zone.slice(0, 80)}" is not a zone name`);
    if (!finiteNonNegative(r.rtt_ms, 600_000)) return bad(`rtts[${i}].rtt_ms: must be a finite, non-negative number of milliseconds`);
  }
  return ok(report);
}

/** A quantile of a reported histogram (upper bound of its bucket, see api/histogram.ts); undefined when empty. */
export function histogramQuantile(h: LatencyHistogram__Output | null, q: number): number | undefined {
  if (!h) return undefined;
  const parsed = fromProto(h);
  return parsed.ok ? quantile(parsed.value, q) : undefined;
}

function errorsOf(e: ErrorCounts__Output | null): ErrorCounts {
  return { http5xx: Number(e?.http_5xx ?? 0), connectFailure: Number(e?.connect_failure ?? 0), timeout: Number(e?.timeout ?? 0), reset: Number(e?.reset ?? 0) };
}

type MutableEvidence = {
  requests: number; successes: number; errors: { http5xx: number; connectFailure: number; timeout: number; reset: number }; sources: string[];
  sidecarsKnowing: number; sidecarsEjectingAll: number; ejectingSources: string[]; bySource: SourceEvidence[];
};

/**
 * What callers saw from each zone's copy of each service: every alive zone's ASKED outcomes summed per
 * (service, destination zone). A failure a client saw is charged here, to the zone that served it, never to the
 * client's zone. Reports of zones whose lease is gone are not evidence any more. Each source's own outcomes are kept
 * beside the sums (`bySource`, sorted by source zone): a source's evidence about its own path outweighs the others'.
 */
export function callerEvidence(alive: Iterable<StoredZoneReport>): Map<string, Map<string, CallerEvidence>> {
  const out = new Map<string, Map<string, MutableEvidence>>();
  for (const r of alive) {
    const source = r.identity.locality.zone;
    for (const a of r.report.asked ?? []) {
      const key = `${a.namespace}/${a.name}`;
      let perZone = out.get(key);
      if (!perZone) out.set(key, (perZone = new Map()));
      for (const d of a.destinations) {
        let ev = perZone.get(d.zone);
        if (!ev) perZone.set(d.zone, (ev = { requests: 0, successes: 0, errors: { http5xx: 0, connectFailure: 0, timeout: 0, reset: 0 }, sources: [], sidecarsKnowing: 0, sidecarsEjectingAll: 0, ejectingSources: [], bySource: [] }));
        const e = errorsOf(d.errors);
        ev.requests += Number(d.requests);
        ev.successes += Number(d.successes);
        ev.errors.http5xx += e.http5xx;
        ev.errors.connectFailure += e.connectFailure;
        ev.errors.timeout += e.timeout;
        ev.errors.reset += e.reset;
        if (Number(d.requests) > 0) ev.sources.push(source);
        ev.sidecarsKnowing += d.sidecars_knowing ?? 0;
        ev.sidecarsEjectingAll += d.sidecars_ejecting_all ?? 0;
        if ((d.sidecars_ejecting_all ?? 0) > 0) ev.ejectingSources.push(source);
        if (Number(d.requests) > 0 || (d.sidecars_knowing ?? 0) > 0) {
          ev.bySource.push({ zone: source, requests: Number(d.requests), successes: Number(d.successes), errors: e, sidecarsKnowing: d.sidecars_knowing ?? 0, sidecarsEjectingAll: d.sidecars_ejecting_all ?? 0 });
        }
      }
    }
  }
  for (const perZone of out.values()) for (const ev of perZone.values()) if (ev.bySource.length > 1) ev.bySource.sort((a, b) => (a.zone < b.zone ? -1 : a.zone > b.zone ? 1 : 0));
  return out;
}

/**
 * Converts a stored report into what the engine reads. `alive` says whether the report's lease still exists;
 * `callers` is the evidence other zones' clients gave about this zone (see callerEvidence).
 */
export function toZoneState(stored: StoredZoneReport, drained: boolean, alive: boolean, callers?: ReadonlyMap<string, ReadonlyMap<string, CallerEvidence>>): ZoneState {
  const zone = stored.identity.locality.zone;
  const services = new Map<string, ServiceStats>();
  for (const s of stored.report.services) {
    const key = `${s.namespace}/${s.name}`;
    const p50 = histogramQuantile(s.latency, 0.5);
    const p99 = histogramQuantile(s.latency, 0.99);
    const seen = callers?.get(key)?.get(zone);
    services.set(key, {
      healthyEndpoints: s.healthy_endpoints,
      totalEndpoints: s.total_endpoints,
      capacityRps: s.capacity_rps,
      rps: s.rps,
      inFlight: s.in_flight,
      successes: Number(s.successes),
      errors: errorsOf(s.errors),
      ...(p50 === undefined ? {} : { latencyP50Ms: p50 }),
      ...(p99 === undefined ? {} : { latencyP99Ms: p99 }),
      ...(seen && (seen.requests > 0 || (seen.sidecarsEjectingAll ?? 0) > 0) ? { callers: seen } : {}),
    });
  }
  const rttMs = new Map<string, number>();
  for (const r of stored.report.rtts) rttMs.set(r.zone, r.rtt_ms);
  const demandRps = new Map<string, number>();
  if (alive) for (const a of stored.report.asked ?? []) if (a.rps > 0) demandRps.set(`${a.namespace}/${a.name}`, a.rps);
  return {
    locality: stored.identity.locality,
    network: stored.identity.network,
    alive,
    drained,
    reportedAt: stored.receivedAt,
    services,
    rttMs,
    demandRps,
  };
}

/**
 * The engine's snapshot: alive zones from their reports; departed zones (lease gone) as not alive, with how long ago
 * the lease went (the engine keeps such a zone while callers still see it serve, for a grace period); each service's
 * stats with its callers' evidence from every alive zone. Sorted by zone name.
 */
export function buildSnapshot(
  alive: ReadonlyMap<string, StoredZoneReport>,
  departed: ReadonlyMap<string, { readonly last: StoredZoneReport; readonly departedAt: number }>,
  drained: (zone: string) => boolean,
  now: number,
): FederationSnapshot {
  const callers = callerEvidence(alive.values());
  const zones: ZoneState[] = [];
  for (const [zone, report] of alive) zones.push(toZoneState(report, drained(zone), true, callers));
  for (const [zone, d] of departed) {
    if (alive.has(zone)) continue;
    zones.push({ ...toZoneState(d.last, drained(zone), false, callers), leaseGoneForMs: Math.max(0, now - d.departedAt) });
  }
  zones.sort((a, b) => (a.locality.zone < b.locality.zone ? -1 : a.locality.zone > b.locality.zone ? 1 : 0));
  return { zones };
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
