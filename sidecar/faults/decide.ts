// Pure L7 fault decisions: which rule applies to a request, whether to delay it and whether to abort it (HTTP or gRPC).
import type { FaultRule, FaultSettings } from '../../api/sidecar-config.ts';
import { matchValue, headerValue } from '../routing/match.ts';
import type { ProxyRequest, ProxyResponse, Random } from '../types.ts';

/** What to do to one request. */
export interface FaultDecision {
  readonly rule: number;
  /** 0 when not delayed. */
  readonly delayMs: number;
  /** Set when aborted: the HTTP status, or for gRPC requests the gRPC status carried on HTTP 200. */
  readonly abort?: { readonly httpStatus: number; readonly grpcStatus?: number };
}

/** gRPC status for an HTTP status, per the gRPC spec's HTTP-to-gRPC mapping (doc/http-grpc-status-mapping.md). */
export function grpcStatusForHttp(status: number): number {
  switch (status) {
    case 400: return 13; // INTERNAL
    case 401: return 16; // UNAUTHENTICATED
    case 403: return 7; // PERMISSION_DENIED
    case 404: return 12; // UNIMPLEMENTED
    case 429: case 502: case 503: case 504: return 14; // UNAVAILABLE
    default: return 2; // UNKNOWN
  }
}

/** HTTP status for a gRPC status, when an HTTP client hits a rule that only gives a gRPC status. */
export function httpStatusForGrpc(code: number): number {
  switch (code) {
    case 0: return 200;
    case 3: case 9: case 11: return 400;
    case 16: return 401;
    case 7: return 403;
    case 5: case 12: return 404;
    case 6: case 10: return 409;
    case 8: return 429;
    case 1: return 499;
    case 4: return 504;
    case 14: return 503;
    default: return 500;
  }
}

/** The first rule for this service and direction whose header conditions all hold. */
export function findFaultRule(settings: FaultSettings, req: Pick<ProxyRequest, 'service' | 'headers'>, direction: 'outbound' | 'inbound'): number {
  return settings.rules.findIndex(
    (r) => r.direction === direction && (r.service === '*' || r.service === req.service) && r.headers.every((h) => matchValue(h, headerValue(req.headers, h.name))),
  );
}

/**
 * Decides the fault for a request, or undefined for none. Delay and abort are drawn independently (as Envoy does),
 * each only when its rule part exists, so a fixed seed replays the same decisions.
 */
export function decideFault(settings: FaultSettings, req: Pick<ProxyRequest, 'service' | 'headers' | 'protocol'>, direction: 'outbound' | 'inbound', random: Random): FaultDecision | undefined {
  if (settings.rules.length === 0) return undefined;
  const i = findFaultRule(settings, req, direction);
  if (i < 0) return undefined;
  const rule = settings.rules[i] as FaultRule;
  const delayMs = rule.delay && random() * 100 < rule.delay.percent ? rule.delay.fixed : 0;
  let abort: FaultDecision['abort'];
  if (rule.abort && random() * 100 < rule.abort.percent) {
    const a = rule.abort;
    if (req.protocol === 'grpc') abort = { httpStatus: 200, grpcStatus: a.grpcStatus ?? grpcStatusForHttp(a.httpStatus ?? 503) };
    else abort = { httpStatus: a.httpStatus ?? httpStatusForGrpc(a.grpcStatus ?? 14) };
  }
  if (delayMs === 0 && abort === undefined) return undefined;
  return abort ? { rule: i, delayMs, abort } : { rule: i, delayMs };
}

/**
 * The response of an injected abort. gRPC gets a trailers-only response: HTTP 200 with grpc-status in the
 * headers, which gRPC clients read as the call's status.
 */
export function abortResponse(abort: NonNullable<FaultDecision['abort']>): ProxyResponse {
  if (abort.grpcStatus !== undefined) {
    return {
      status: 200,
      headers: { 'content-type': 'application/grpc', 'grpc-status': String(abort.grpcStatus), 'grpc-message': 'fault filter abort', 'x-meshfed-fault': 'abort' },
      body: null,
      flags: ['fault-abort'],
    };
  }
  const text = new TextEncoder().encode('fault filter abort\n');
  return {
    status: abort.httpStatus,
    headers: { 'content-type': 'text/plain', 'content-length': String(text.length), 'x-meshfed-fault': 'abort' },
    body: (async function* () { yield text; })(),
    flags: ['fault-abort'],
  };
}
