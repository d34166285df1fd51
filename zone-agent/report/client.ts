// The Federation stream to global-lb: Hello, periodic reports and heartbeats, reconnect with backoff across addresses.
import * as grpc from '@grpc/grpc-js';
import { federationProto } from '../../api/proto.ts';
import type { AgentMessage } from '../../api/generated/meshfed/v1/AgentMessage.ts';
import type { BalancerMessage__Output } from '../../api/generated/meshfed/v1/BalancerMessage.ts';
import type { Hello } from '../../api/generated/meshfed/v1/Hello.ts';
import type { ZoneReport } from '../../api/generated/meshfed/v1/ZoneReport.ts';
import { describeError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { backoffDelay, DEFAULT_BACKOFF, nextAddressIndex, type BackoffPolicy } from './backoff.ts';

export interface ReporterOptions {
  /** host:port of every global-lb replica. */
  readonly addresses: readonly string[];
  readonly credentials: grpc.ChannelCredentials;
  readonly hello: Hello;
  readonly reportIntervalMs: number;
  /** A Heartbeat goes out when no report was sent for this long (reports double as heartbeats). */
  readonly heartbeatMs: number;
  /** Builds the next report; sequence increases by one per report on a stream. */
  readonly buildReport: (sequence: number, nowMs: number) => ZoneReport;
  readonly onMessage: (msg: BalancerMessage__Output) => void;
  /** Called with true once the balancer answered on a stream, with false when that stream ends. */
  readonly onConnected: (connected: boolean, address: string) => void;
  readonly onReportSent?: () => void;
  readonly logger: Logger;
  readonly backoff?: BackoffPolicy;
  readonly random?: () => number;
  readonly channelOptions?: grpc.ChannelOptions;
}

/**
 * One Federation stream at a time.
 * States: idle -> connecting -> open (answered) -> (ended) -> waiting -> connecting ... -> stopped.
 * Invariants: at most one stream and one timer set exist; a stream that never got an answer counts as a failed
 * attempt and moves to the next address; the backoff attempt counter resets once a stream was answered.
 */
export class FederationReporter {
  private readonly o: ReporterOptions;
  private index = 0;
  private attempt = 0;
  private client: grpc.Client | undefined;
  private call: grpc.ClientDuplexStream<AgentMessage, BalancerMessage__Output> | undefined;
  private reportTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private sequence = 0;
  private lastSentMs = 0;
  private answered = false;
  private stopped = true;
  /** The address of the open stream, if any. */
  connectedTo: string | undefined;
  /** The last StreamError the balancer sent, for status pages. */
  lastRefusal: { code: string; message: string } | undefined;

  constructor(options: ReporterOptions) {
    if (options.addresses.length === 0) throw new Error('FederationReporter: at least one global-lb address is required');
    this.o = options;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.teardown();
  }

  private teardown(): void {
    if (this.reportTimer) clearInterval(this.reportTimer);
    this.reportTimer = undefined;
    const call = this.call;
    this.call = undefined;
    if (call) {
      call.removeAllListeners();
      call.on('error', () => undefined);
      call.cancel();
    }
    this.client?.close();
    this.client = undefined;
    if (this.connectedTo !== undefined) {
      const addr = this.connectedTo;
      this.connectedTo = undefined;
      this.o.onConnected(false, addr);
    }
  }

  private connect(): void {
    if (this.stopped) return;
    const address = this.o.addresses[this.index % this.o.addresses.length] as string;
    const Ctor = federationProto().meshfed.v1.Federation;
    const client = new Ctor(address, this.o.credentials, {
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.initial_reconnect_backoff_ms': 100,
      ...this.o.channelOptions,
    });
    this.client = client;
    this.answered = false;
    this.sequence = 0;
    const call = client.Connect();
    this.call = call;
    let ended = false;
    const end = (why: string): void => {
      if (ended || this.call !== call) return;
      ended = true;
      const wasHealthy = this.answered;
      this.teardown();
      if (this.stopped) return;
      this.index = nextAddressIndex(this.index, this.o.addresses.length, wasHealthy);
      if (wasHealthy) this.attempt = 0;
      const delay = backoffDelay(this.o.backoff ?? DEFAULT_BACKOFF, this.attempt, this.o.random ?? Math.random);
      this.attempt += 1;
      this.o.logger.warn({ code: 'MESHFED_E_AGENT_BALANCER_UNREACHABLE', address, reason: why, retryInMs: delay, next: this.o.addresses[this.index % this.o.addresses.length] },
        'Federation stream ended; reconnecting');
      this.retryTimer = setTimeout(() => this.connect(), delay);
    };
    call.on('data', (msg: BalancerMessage__Output) => {
      if (!this.answered) {
        this.answered = true;
        this.attempt = 0;
        this.lastRefusal = undefined;
        this.connectedTo = address;
        this.o.onConnected(true, address);
      }
      if (msg.msg === 'error' && msg.error) {
        this.lastRefusal = { code: msg.error.code, message: msg.error.message };
        this.o.logger.error({ code: 'MESHFED_E_AGENT_STREAM_REFUSED', balancerCode: msg.error.code, address }, `balancer refused the stream: ${msg.error.message}`);
        // A refusal is a failed attempt, not a healthy stream: keep backing off.
        this.answered = false;
        return;
      }
      try {
        this.o.onMessage(msg);
      } catch (e) {
        this.o.logger.error({ err: describeError(e) }, 'handling a balancer message failed');
      }
    });
    call.on('error', (e: grpc.ServiceError) => end(`${grpc.status[e.code] ?? e.code}: ${e.details || e.message}`));
    call.on('end', () => end('stream ended by the balancer'));
    call.on('close', () => end('stream closed'));
    call.write({ hello: this.o.hello });
    this.sendReport();
    this.reportTimer = setInterval(() => this.tick(), Math.min(this.o.reportIntervalMs, this.o.heartbeatMs));
  }

  private tick(): void {
    const now = Date.now();
    if (now - this.lastSentMs >= this.o.reportIntervalMs - 5) this.sendReport();
    else if (now - this.lastSentMs >= this.o.heartbeatMs - 5) this.call?.write({ heartbeat: { sent_at_unix_ms: String(now) } });
  }

  private sendReport(): void {
    if (!this.call) return;
    const now = Date.now();
    this.sequence += 1;
    try {
      this.call.write({ report: this.o.buildReport(this.sequence, now) });
      this.lastSentMs = now;
      this.o.onReportSent?.();
    } catch (e) {
      this.o.logger.error({ err: describeError(e) }, 'building or sending a report failed');
    }
  }
}

/**
 * Client credentials for the Federation stream: the agent's zone certificate, the trust roots, and a server check
 * that the peer is global-lb by its SPIFFE ID (a hostname check means nothing on loopback or behind a VIP).
 */
export function federationCredentials(tls: { rootsPem: string; certChainPem: string; keyPem: string; balancerId: string }): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(Buffer.from(tls.rootsPem), Buffer.from(tls.keyPem), Buffer.from(tls.certChainPem), {
    checkServerIdentity: (_host, cert) => {
      const uris = (cert.subjectaltname ?? '').split(',').map((s) => s.trim()).filter((s) => s.startsWith('URI:')).map((s) => s.slice(4));
      return uris.includes(tls.balancerId) ? undefined : new Error(`the balancer presented ${uris.join(', ') || 'no SPIFFE ID'}, expected ${tls.balancerId}`);
    },
  });
}
