// The built-in load generator: steady, bounded traffic at every zone's frontend, with a periodic one-line summary.
import { request, Agent } from 'undici';
import { dueCount, type LoadPlan } from './load-plan.ts';
import { hopZones, type SampleReply } from './sample-app.ts';

/** A running load. */
export interface Load {
  /** Resolves when the plan is exhausted or stop() was called. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/** Counts of one summary period. */
export interface LoadWindow {
  ok: number;
  failed: number;
  /** "service@zone" → requests that hop was served there. */
  readonly hops: Map<string, number>;
}

/** One summary line: success rate and, per service, the zones that served it. */
export function formatWindow(w: LoadWindow, seconds: number): string {
  const total = w.ok + w.failed;
  const perService = new Map<string, Map<string, number>>();
  for (const [key, n] of w.hops) {
    const [service, zone] = key.split('@') as [string, string];
    const m = perService.get(service) ?? new Map<string, number>();
    m.set(zone, (m.get(zone) ?? 0) + n);
    perService.set(service, m);
  }
  const parts = [...perService].filter(([s]) => s !== 'frontend').map(([s, m]) => {
    const sum = [...m.values()].reduce((a, b) => a + b, 0);
    return `${s}: ${[...m].sort().map(([z, n]) => `${z} ${Math.round((100 * n) / sum)}%`).join(' ')}`;
  });
  const rate = total === 0 ? '-' : `${((100 * w.ok) / total).toFixed(1)}%`;
  return `load: ${(total / seconds).toFixed(0)} rps, success ${rate}${parts.length ? ' | ' + parts.join(' | ') : ''}`;
}

/** One request of the load, as its client saw it. Times are epoch ms. */
export interface LoadResult {
  readonly sentAt: number;
  readonly doneAt: number;
  /** The HTTP status, 0 when the request failed without one (reset, refused, timed out). */
  readonly status: number;
  readonly ok: boolean;
  /** Sent as a GET (idempotent), else a POST. */
  readonly idempotent: boolean;
  readonly target: string;
  /** The zone that served each hop, for a 200 reply. */
  readonly hops: readonly { readonly service: string; readonly zone: string }[];
  /** The x-meshfed-code of a failed reply, or the client error. */
  readonly error?: string;
}

/** What else a load may do: headers, idempotency, a timeout, and a callback per finished request. */
export interface LoadOptions {
  readonly headers?: Readonly<Record<string, string>>;
  /** Share of requests sent as GET (idempotent), 0..100; the rest are POSTs. Default 100. */
  readonly idempotentPercent?: number;
  readonly timeoutMs?: number;
  readonly onResult?: (r: LoadResult) => void;
}

/** Sends `plan.rps` requests per second spread round-robin over `targets`, until the plan or stop() ends it. */
export function startLoad(targets: readonly string[], plan: LoadPlan, report: (line: string) => void, reportEveryMs = 5000, options: LoadOptions = {}): Load {
  const agent = new Agent({ connections: 32 });
  const timeoutMs = options.timeoutMs ?? 10_000;
  const getPercent = options.idempotentPercent ?? 100;
  let stopping = false;
  let sent = 0;
  let inFlight = 0;
  let window: LoadWindow = { ok: 0, failed: 0, hops: new Map() };
  let windowStart = Date.now();
  const start = Date.now();
  const one = async (url: string, n: number) => {
    inFlight++;
    const sentAt = Date.now();
    // Spread POSTs evenly (n-th request is idempotent when its slot falls under the percentage).
    const idempotent = ((n * 37) % 100) < getPercent;
    let status = 0;
    let hops: { service: string; zone: string }[] = [];
    let error: string | undefined;
    try {
      const res = await request(url, { method: idempotent ? 'GET' : 'POST', dispatcher: agent, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, ...(options.headers ? { headers: options.headers } : {}) });
      const text = await res.body.text();
      status = res.statusCode;
      if (status !== 200) {
        window.failed++;
        const code = res.headers['x-meshfed-code'];
        error = typeof code === 'string' ? code : `HTTP ${status}`;
      } else {
        window.ok++;
        hops = hopZones(JSON.parse(text) as SampleReply);
        for (const h of hops) window.hops.set(`${h.service}@${h.zone}`, (window.hops.get(`${h.service}@${h.zone}`) ?? 0) + 1);
      }
    } catch (e) {
      window.failed++;
      error = (e as Error).message;
    } finally {
      inFlight--;
    }
    options.onResult?.({ sentAt, doneAt: Date.now(), status, ok: status === 200, idempotent, target: url, hops, ...(error !== undefined ? { error } : {}) });
  };
  const done = new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = dueCount(plan, Date.now() - start);
      // Never more than 256 in flight: a stalled federation must not make the generator pile up sockets.
      while (!stopping && sent < due && inFlight < 256) {
        void one(targets[sent % targets.length]!, sent);
        sent++;
      }
      if (Date.now() - windowStart >= reportEveryMs) {
        report(formatWindow(window, (Date.now() - windowStart) / 1000));
        window = { ok: 0, failed: 0, hops: new Map() };
        windowStart = Date.now();
      }
      if (stopping || dueCount(plan, Date.now() - start) >= plan.maxRequests || Date.now() - start >= plan.maxDurationMs) {
        clearInterval(timer);
        resolve();
      }
    }, 10);
  });
  return {
    done,
    async stop() {
      stopping = true;
      await done;
      await agent.close().catch(() => {});
    },
  };
}
