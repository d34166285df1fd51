// Pure conversion of HAProxy's `show stat` CSV into the cumulative totals the Node sidecar relays (asked per destination zone, served per service).
import { LATENCY_BOUNDS_MS, bucketIndex } from '../api/histogram.ts';
import type { ServiceTotals, Totals } from '../sidecar/relay/stats.ts';
import type { ProxyModel } from './model.ts';

/** One row of `show stat`, column name -> text. */
export type StatRow = Readonly<Record<string, string>>;

/** Parses `show stat` (a CSV whose header line starts with "# "). */
export function parseShowStat(text: string): StatRow[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0];
  if (!header?.startsWith('# ')) return [];
  const cols = header.slice(2).split(',');
  return lines.slice(1).map((l) => {
    const cells = l.split(',');
    return Object.fromEntries(cols.map((c, i) => [c, cells[i] ?? '']));
  });
}

const num = (r: StatRow, col: string): number => {
  const n = Number(r[col]);
  return Number.isFinite(n) ? n : 0;
};

type Entry = { -readonly [K in keyof ServiceTotals]: ServiceTotals[K] extends readonly number[] ? number[] : ServiceTotals[K] extends object ? { -readonly [L in keyof ServiceTotals[K]]: number } : ServiceTotals[K] };

const empty = (): Entry => ({
  requests: 0, successes: 0, http5xx: 0, timeout: 0, connectFailure: 0, reset: 0, inFlight: 0,
  buckets: new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0), sumMs: 0,
  local: { faultInjected: 0, overflow: 0, denied: 0, noEndpoint: 0, timeout: 0 },
  endpointsKnown: 0, endpointsEjected: 0,
});

/**
 * Adds one server or frontend row: answers by class (1xx-4xx are successes of the path, 5xx errors), connection
 * errors (econ) as connect failures and response errors (eresp: resets and server timeouts, which HAProxy does not
 * tell apart) as resets. HAProxy keeps only the average time of the last 1024 requests (ttime), so a row's new
 * answers all go into that average's bucket: the histogram is coarse, the sum is right on average.
 */
function add(t: Entry, r: StatRow): void {
  const ok = num(r, 'hrsp_1xx') + num(r, 'hrsp_2xx') + num(r, 'hrsp_3xx') + num(r, 'hrsp_4xx');
  const e5 = num(r, 'hrsp_5xx');
  const econ = num(r, 'econ');
  const eresp = num(r, 'eresp');
  const answered = ok + e5;
  t.successes += ok;
  t.http5xx += e5;
  t.connectFailure += econ;
  t.reset += eresp;
  t.requests += answered + econ + eresp;
  t.inFlight += num(r, 'scur');
  const ms = num(r, 'ttime');
  const i = bucketIndex(LATENCY_BOUNDS_MS, ms);
  t.buckets[i] = (t.buckets[i] as number) + answered;
  t.sumMs += ms * answered;
}

/**
 * The totals of every destination (ASKED, "ns/name|zone", summed over the service's backends: a try counts once,
 * on the backend that sent it) and of this workload's inbound (SERVED, under `service`). Endpoint levels come from
 * the weighted backend: every server of the zone is known, a DOWN or MAINT one is ejected.
 */
export function totalsFromStat(rows: readonly StatRow[], model: ProxyModel, service: string): Totals {
  const asked: Record<string, Entry> = {};
  const served: Record<string, Entry> = {};
  const byBackend = new Map<string, { service: string; zoneOf: Map<string, string>; primary: boolean }>();
  for (const s of model.services) {
    const zoneOf = new Map(s.servers.map((x) => [x.name, x.zone]));
    s.backends.forEach((b, i) => byBackend.set(b.name, { service: s.service, zoneOf, primary: i === 0 }));
  }
  for (const r of rows) {
    const px = r['pxname'] ?? '';
    const sv = r['svname'] ?? '';
    // SERVED is what reached the app: the local app backend, not the inbound frontend (which also counts its own refusals).
    if (px === 'mf_local_app' && sv === 'BACKEND') {
      add((served[service] ??= empty()), r);
      continue;
    }
    const b = byBackend.get(px);
    const zone = b?.zoneOf.get(sv);
    if (!b || zone === undefined) continue;
    const t = (asked[`${b.service}|${zone}`] ??= empty());
    add(t, r);
    if (b.primary) {
      t.endpointsKnown += 1;
      if (/^(DOWN|MAINT|NOLB)/.test(r['status'] ?? '')) t.endpointsEjected += 1;
    }
  }
  return { asked, served };
}
