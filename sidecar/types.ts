// The seam between the sidecar's pure decision layers (sidecar-core) and its sockets (sidecar-io).
import type { SidecarCode } from './errors.ts';

/** A source of uniform numbers in [0, 1). Injected so every random decision is reproducible in tests. */
export type Random = () => number;

/** Milliseconds since some epoch. Injected so every time-based decision is testable without timers. */
export type Clock = () => number;

/** An outbound or inbound request as the layers see it. Layers derive new requests with spread; only `attempt` mutates. */
export interface ProxyRequest {
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Streamed, never buffered whole. */
  readonly body: AsyncIterable<Uint8Array> | null;
  readonly protocol: 'http1' | 'http2' | 'grpc';
  /** Destination "namespace/name" (outbound) or own service (inbound). */
  readonly service: string;
  /** Verified SPIFFE ID of the caller (inbound). */
  readonly peerIdentity?: string;
  readonly startedAt: number;
  /** Set by the retry layer: 1 for the first try. */
  attempt: number;
  /** Aborted when the client goes away or a timeout fires. */
  readonly signal: AbortSignal;
  /** Set by the route layer: which route matched and the policies that apply to this request. */
  readonly route?: RouteDecision;
  /** Set by the retry layer for retries: what earlier attempts already tried, so the balancer avoids it. */
  readonly exclude?: PickExclude;
  /** Set by the balancer layer: the endpoint the upstream handler must send this attempt to. */
  readonly target?: EndpointRef;
}

/** The answer, streamed. Upstream errors are values: status 502/503/504 plus a flag from UPSTREAM_FAILURE_FLAGS. */
export interface ProxyResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: AsyncIterable<Uint8Array> | null;
  readonly trailers?: Promise<Record<string, string>>;
  /** Who served it. */
  readonly endpoint?: string;
  readonly zone?: string;
  /** e.g. 'retried', 'fault-abort', 'ejected-failover', 'circuit-open', and the upstream failure flags. */
  readonly flags?: readonly string[];
}

export type Handler = (req: ProxyRequest) => Promise<ProxyResponse>;
export type Layer = (next: Handler) => Handler;

/**
 * Flags the upstream handler (sidecar-io) sets on a 502/503/504 it produced itself, so retry and outlier
 * decisions stay pure: 'connect-failure' (no connection could be made; the request was not sent),
 * 'reset' (the connection or stream broke before a response), 'timeout' (the per-try deadline fired).
 */
export const UPSTREAM_FAILURE_FLAGS = ['connect-failure', 'reset', 'timeout'] as const;
export type UpstreamFailureFlag = (typeof UPSTREAM_FAILURE_FLAGS)[number];

/** The endpoint a request goes to. `viaGateway` is set when the endpoint sits on another network. */
export interface EndpointRef {
  /** Stable and unique across zones, e.g. "us-east-1a/127.0.0.1:15006". */
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly zone: string;
  readonly network: string;
  /** Subset selectors match on these (e.g. version: v2). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Istio's SNI form `outbound_.PORT_.SUBSET_.HOST` (SUBSET is `_` when none). */
  readonly viaGateway?: { readonly address: string; readonly port: number; readonly sni: string };
  /** The SPIFFE ID the destination must present, when known. */
  readonly identity?: string;
}

/** What a picker may be asked to avoid: endpoints and zones earlier attempts failed on. */
export interface PickExclude {
  readonly endpoints: ReadonlySet<string>;
  readonly zones: ReadonlySet<string>;
}

/** Why a complete pick is not the plain weighted first choice. */
export type PickFlag = 'failover' | 'panic' | 'excluded-relaxed' | 'unweighted-spill';

/** The result of a synchronous pick (grpc-js style). */
export type Pick =
  | { readonly kind: 'complete'; readonly endpoint: EndpointRef; readonly zone: string; readonly flags?: readonly PickFlag[] }
  | { readonly kind: 'queue' }
  | { readonly kind: 'unavailable'; readonly reason: string; /** The code to answer with; MESHFED_E_SIDECAR_NO_HEALTHY_UPSTREAM when absent. */ readonly code?: SidecarCode }
  | { readonly kind: 'drop'; readonly reason: string };

/** What a picker needs from a request. `now` is passed in because ejections end with time. */
export interface PickRequest {
  readonly now: number;
  readonly subset?: string;
}

/** An immutable picker for one destination service, published by whoever owns endpoint state. */
export interface Picker {
  pick(request: PickRequest, exclude?: PickExclude): Pick;
}

/**
 * What one try sent to a destination zone came to, as the relayed stats charge it to that zone: status < 500 is a
 * success; a connect failure, reset or timeout the upstream handler flagged is that class; any other 5xx is http_5xx.
 */
export type TryOutcome = 'success' | 'http_5xx' | 'connect_failure' | 'reset' | 'timeout';

/** Why the sidecar failed a request itself before any destination served it (LocalFailures in relay.proto). */
export type LocalFailureClass = 'fault_injected' | 'overflow' | 'denied' | 'no_endpoint' | 'timeout';

/** The TryOutcome of an answer (a try's upstream response, or what the inbound side answered for the app). */
export function tryOutcome(res: { readonly status: number; readonly flags?: readonly string[] | undefined }): TryOutcome {
  const flags = res.flags;
  if (flags !== undefined && flags.length > 0) {
    if (flags.includes('connect-failure')) return 'connect_failure';
    if (flags.includes('reset')) return 'reset';
    if (flags.includes('timeout')) return 'timeout';
  }
  return res.status < 500 ? 'success' : 'http_5xx';
}

/** What happened to one attempt, as the outlier detector sees it. */
export type Outcome = 'success' | '5xx' | 'connect-failure' | 'reset' | 'timeout';

/** Retry conditions (Envoy names). 'gateway-error' is 502, 503 and 504, including locally produced ones. */
export type RetryOn = 'connect-failure' | 'reset' | '503' | 'gateway-error';

/** The retry policy in force for one request (defaults already applied). */
export interface RetryPolicy {
  /** Total tries including the first; 1 disables retries. */
  readonly attempts: number;
  /** 0 means no per-try deadline. */
  readonly perTryTimeoutMs: number;
  readonly retryOn: readonly RetryOn[];
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** Retry POST/PATCH too. */
  readonly retryNonIdempotent: boolean;
}

/** Circuit-breaker thresholds per destination service (Envoy names and meaning). */
export interface CircuitBreakerLimits {
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
}

/** The route layer's decision, attached to the request for the layers below it. */
export interface RouteDecision {
  /** The matched route's name, or "default" when none matched. */
  readonly name: string;
  /** Destination service after the route (a route may redirect to another service). */
  readonly service: string;
  readonly subset?: string;
  /** 0 means no overall deadline. */
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly circuitBreaker: CircuitBreakerLimits;
}
