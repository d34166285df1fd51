// Pure trace propagation: W3C traceparent and B3 (multi-header and single `b3`), one new span per hop, x-request-id kept.

/** The trace context of one hop. */
export interface TraceContext {
  /** 32 lowercase hex digits. */
  readonly traceId: string;
  /** This hop's span, 16 hex digits. */
  readonly spanId: string;
  /** The caller's span, when one arrived. */
  readonly parentSpanId?: string;
  readonly sampled: boolean;
  readonly requestId: string;
}

/** Returns `bytes` random bytes as lowercase hex; injected so tests are deterministic. */
export type HexSource = (bytes: number) => string;

type Headers = Readonly<Record<string, string | string[] | undefined>>;

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

function one(h: Headers, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Reads the incoming context, W3C first, then single-header b3, then multi-header B3. */
export function readIncoming(h: Headers): { traceId: string; spanId: string; sampled: boolean } | undefined {
  const tp = one(h, 'traceparent')?.trim().toLowerCase();
  const m = tp ? TRACEPARENT.exec(tp) : null;
  if (m && m[1] !== 'ff' && m[2] !== ZERO_TRACE && m[3] !== ZERO_SPAN) {
    return { traceId: m[2]!, spanId: m[3]!, sampled: (parseInt(m[4]!, 16) & 1) === 1 };
  }
  const b3 = one(h, 'b3')?.trim().toLowerCase();
  if (b3 && b3 !== '0' && b3 !== '1' && b3 !== 'd') {
    const [t, s, f] = b3.split('-');
    if (t && s && /^([0-9a-f]{16}|[0-9a-f]{32})$/.test(t) && /^[0-9a-f]{16}$/.test(s)) {
      return { traceId: t.padStart(32, '0'), spanId: s, sampled: f !== '0' };
    }
  }
  const bt = one(h, 'x-b3-traceid')?.trim().toLowerCase();
  const bs = one(h, 'x-b3-spanid')?.trim().toLowerCase();
  if (bt && bs && /^([0-9a-f]{16}|[0-9a-f]{32})$/.test(bt) && /^[0-9a-f]{16}$/.test(bs)) {
    const flag = one(h, 'x-b3-sampled');
    return { traceId: bt.padStart(32, '0'), spanId: bs, sampled: flag !== '0' && flag !== 'false' };
  }
  return undefined;
}

/**
 * Continues the incoming trace with a new span for this hop, or starts one. Returns the context and the headers to
 * set on the forwarded request (both W3C and B3, so callers of either kind see the same trace).
 */
export function nextHop(h: Headers, hex: HexSource): { ctx: TraceContext; headers: Record<string, string> } {
  const incoming = readIncoming(h);
  const spanId = nonZero(hex, 8);
  const traceId = incoming?.traceId ?? nonZero(hex, 16);
  const sampled = incoming?.sampled ?? true;
  const rid = one(h, 'x-request-id');
  const requestId = rid !== undefined && rid !== '' && rid.length <= 200 ? rid : uuidFromHex(hex(16));
  const ctx: TraceContext = { traceId, spanId, sampled, requestId, ...(incoming ? { parentSpanId: incoming.spanId } : {}) };
  const headers: Record<string, string> = {
    traceparent: `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`,
    'x-b3-traceid': traceId,
    'x-b3-spanid': spanId,
    'x-b3-sampled': sampled ? '1' : '0',
    'x-request-id': requestId,
  };
  if (incoming) headers['x-b3-parentspanid'] = incoming.spanId;
  return { ctx, headers };
}

/** Trace headers replaced by nextHop; anything else from the caller (e.g. tracestate) is forwarded untouched. */
export const TRACE_HEADERS = ['traceparent', 'b3', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled', 'x-b3-flags', 'x-request-id'] as const;

function nonZero(hex: HexSource, bytes: number): string {
  for (;;) {
    const v = hex(bytes);
    if (!/^0+$/.test(v)) return v;
  }
}

/** A version-4 UUID from 32 random hex digits: version nibble 4, variant bits 10. */
function uuidFromHex(h: string): string {
  const variant = '89ab'[parseInt(h[16] ?? '0', 16) & 3];
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
