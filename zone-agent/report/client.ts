// The Federation stream to global-lb: Hello, periodic reports and heartbeats, reconnect with backoff across addresses.
import * as grpc from '@grpc/grpc-js';
import { federationProto } from '../../api/proto.ts';
import type { AgentMessage } from '../../api/generated/meshfed/v1/AgentMessage.ts';
import type { BalancerMessage__Output } from '../../api/generated/meshfed/v1/BalancerMessage.ts';
import type { Hello } from '../../api/generated/meshfed/v1/Hello.ts';
import type { ZoneReport } from '../../api/generated/meshfed/v1/ZoneReport.ts';
import { sanUris } from '../../api/identity.ts';
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
  /** Timeouts of a credential handover (setCredentials). */
  readonly handover?: HandoverTimeouts;
}

/** One Federation stream and what the reporter tracks about it. */
interface Stream {
  readonly address: string;
  readonly client: grpc.Client;
  readonly call: grpc.ClientDuplexStream<AgentMessage, BalancerMessage__Output>;
  timer: NodeJS.Timeout | undefined;
  sequence: number;
  lastSentMs: number;
  lastAcked: number;
  /** The balancer answered (any message but a refusal). */
  answered: boolean;
  /** Heartbeats only: set on the old stream during a handover, so no report of it lands after the successor's. */
  quiet: boolean;
}

/** Handover timing (ms): how long to wait for the old stream's last ack, and for the successor's first. */
export interface HandoverTimeouts {
  readonly drainMs: number;
  readonly successorMs: number;
}

const DEFAULT_HANDOVER: HandoverTimeouts = { drainMs: 2000, successorMs: 5000 };

/**
 * One Federation stream at a time, except during a credential handover.
 * States: idle -> connecting -> open (answered) -> (ended) -> waiting -> connecting ... -> stopped;
 * open -> draining (old stream quiet until its last report is acked) -> handing over (successor stream open with
 * the new credentials) -> open (successor promoted once the balancer acked its first report, old stream closed).
 * Invariants: at most one main stream, one successor and one timer set per stream exist; a stream that never got an
 * answer counts as a failed attempt and moves to the next address; the backoff attempt counter resets once a stream
 * was answered; during a handover only the successor sends reports, and the old stream is closed only after the
 * successor's first report is stored (the balancer revokes a closed stream's lease, so closing first would delete
 * the zone's report and make it flap ineligible); a failed handover keeps the old stream and is retried.
 */
export class FederationReporter {
  private readonly o: ReporterOptions;
  private credentials: grpc.ChannelCredentials;
  private index = 0;
  private attempt = 0;
  private main: Stream | undefined;
  private successor: Stream | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private handoverTimer: NodeJS.Timeout | undefined;
  private handoverAttempt = 0;
  private draining = false;
  private stopped = true;
  /** The address of the open stream, if any. */
  connectedTo: string | undefined;
  /** The last StreamError the balancer sent, for status pages. */
  lastRefusal: { code: string; message: string } | undefined;
  /** Completed graceful handovers to new credentials. */
  handovers = 0;

  constructor(options: ReporterOptions) {
    if (options.addresses.length === 0) throw new Error('FederationReporter: at least one global-lb address is required');
    this.o = options;
    this.credentials = options.credentials;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.abandonHandover();
    this.teardown();
  }

  /**
   * Switches to new credentials (a rotated client certificate). Connections are authenticated once, at the TLS
   * handshake, so an open stream would keep the old certificate until it breaks; instead the reporter opens a
   * successor stream with the new credentials and closes the old one once the balancer stored a report from the
   * successor (see the class invariants). With no open stream, the next attempt simply uses them.
   */
  setCredentials(credentials: grpc.ChannelCredentials): void {
    this.credentials = credentials;
    if (this.stopped) return;
    this.abandonHandover();
    this.handoverAttempt = 0;
    if (this.main?.answered) this.beginHandover();
  }

  private teardown(): void {
    const s = this.main;
    this.main = undefined;
    if (s) this.closeStream(s);
    if (this.connectedTo !== undefined) {
      const addr = this.connectedTo;
      this.connectedTo = undefined;
      this.o.onConnected(false, addr);
    }
  }

  private closeStream(s: Stream): void {
    if (s.timer) clearInterval(s.timer);
    s.timer = undefined;
    s.call.removeAllListeners();
    s.call.on('error', () => undefined);
    s.call.cancel();
    s.client.close();
  }

  /** Opens a stream; its events go to the main or successor handling by the role it has when they arrive. */
  private openStream(address: string): Stream {
    const Ctor = federationProto().meshfed.v1.Federation;
    const client = new Ctor(address, this.credentials, {
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.initial_reconnect_backoff_ms': 100,
      ...this.o.channelOptions,
    });
    const call = client.Connect();
    const s: Stream = { address, client, call, timer: undefined, sequence: 0, lastSentMs: 0, lastAcked: 0, answered: false, quiet: false };
    let ended = false;
    const end = (why: string): void => {
      if (ended) return;
      ended = true;
      if (s === this.main) this.onMainEnd(s, why);
      else if (s === this.successor) this.failHandover(s, why);
    };
    call.on('data', (msg: BalancerMessage__Output) => {
      if (msg.msg === 'ack' && msg.ack) s.lastAcked = Math.max(s.lastAcked, Number(msg.ack.sequence));
      if (s === this.main) this.onMainData(s, msg);
      else if (s === this.successor) this.onSuccessorData(s, msg);
    });
    call.on('error', (e: grpc.ServiceError) => end(`${grpc.status[e.code] ?? e.code}: ${e.details || e.message}`));
    call.on('end', () => end('stream ended by the balancer'));
    call.on('close', () => end('stream closed'));
    call.write({ hello: this.o.hello });
    this.sendReport(s);
    s.timer = setInterval(() => this.tick(s), Math.min(this.o.reportIntervalMs, this.o.heartbeatMs));
    return s;
  }

  private connect(): void {
    if (this.stopped) return;
    const address = this.o.addresses[this.index % this.o.addresses.length] as string;
    this.main = this.openStream(address);
  }

  private onMainEnd(s: Stream, why: string): void {
    if (this.main !== s) return;
    const wasHealthy = s.answered;
    // A handover needs its old stream as the fallback; without it this is an ordinary reconnect (new credentials).
    this.abandonHandover();
    this.teardown();
    if (this.stopped) return;
    this.index = nextAddressIndex(this.index, this.o.addresses.length, wasHealthy);
    if (wasHealthy) this.attempt = 0;
    const delay = backoffDelay(this.o.backoff ?? DEFAULT_BACKOFF, this.attempt, this.o.random ?? Math.random);
    this.attempt += 1;
    this.o.logger.warn({ code: 'MESHFED_E_AGENT_BALANCER_UNREACHABLE', address: s.address, reason: why, retryInMs: delay, next: this.o.addresses[this.index % this.o.addresses.length] },
      'Federation stream ended; reconnecting');
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private onMainData(s: Stream, msg: BalancerMessage__Output): void {
    if (this.main !== s) return;
    if (!s.answered && msg.msg !== 'error') {
      s.answered = true;
      this.attempt = 0;
      this.lastRefusal = undefined;
      this.connectedTo = s.address;
      this.o.onConnected(true, s.address);
    }
    if (msg.msg === 'error' && msg.error) {
      this.refused(s, msg.error);
      // A refusal is a failed attempt, not a healthy stream: keep backing off.
      s.answered = false;
      return;
    }
    if (msg.msg === 'ack' && this.draining && s.lastAcked >= s.sequence) this.openSuccessor();
    this.deliver(msg);
  }

  private refused(s: Stream, error: { code: string; message: string }): void {
    this.lastRefusal = { code: error.code, message: error.message };
    this.o.logger.error({ code: 'MESHFED_E_AGENT_STREAM_REFUSED', balancerCode: error.code, address: s.address }, `balancer refused the stream: ${error.message}`);
  }

  private deliver(msg: BalancerMessage__Output): void {
    try {
      this.o.onMessage(msg);
    } catch (e) {
      this.o.logger.error({ err: describeError(e) }, 'handling a balancer message failed');
    }
  }

  /** Step 1: quiet the old stream (heartbeats keep its lease) until its last report is acked, or drainMs passed. */
  private beginHandover(): void {
    const main = this.main;
    if (!main || this.stopped) return;
    main.quiet = true;
    this.draining = true;
    if (main.lastAcked >= main.sequence) {
      this.openSuccessor();
      return;
    }
    this.handoverTimer = setTimeout(() => this.openSuccessor(), (this.o.handover ?? DEFAULT_HANDOVER).drainMs);
  }

  /** Step 2: a successor stream with the new credentials to the same balancer; it reports at once. */
  private openSuccessor(): void {
    const main = this.main;
    if (!this.draining || !main || this.stopped) return;
    this.draining = false;
    if (this.handoverTimer) clearTimeout(this.handoverTimer);
    this.successor = this.openStream(main.address);
    this.handoverTimer = setTimeout(() => {
      if (this.successor) this.failHandover(this.successor, 'the balancer did not acknowledge a report on the new stream in time');
    }, (this.o.handover ?? DEFAULT_HANDOVER).successorMs);
  }

  /** Step 3: the balancer stored the successor's report under its new lease; the old stream can go. */
  private onSuccessorData(s: Stream, msg: BalancerMessage__Output): void {
    if (this.successor !== s) return;
    if (msg.msg === 'error' && msg.error) {
      this.refused(s, msg.error);
      this.failHandover(s, `refused: ${msg.error.code}`);
      return;
    }
    s.answered = true;
    if (msg.msg === 'ack') {
      const old = this.main;
      if (this.handoverTimer) clearTimeout(this.handoverTimer);
      this.handoverTimer = undefined;
      this.successor = undefined;
      this.main = s;
      this.handoverAttempt = 0;
      this.handovers += 1;
      if (old) this.closeStream(old);
      this.o.logger.info({ address: s.address, handovers: this.handovers }, 'Federation stream handed over to the new credentials');
    }
    this.deliver(msg);
  }

  private failHandover(s: Stream, why: string): void {
    if (this.successor !== s) return;
    this.abandonHandover();
    const main = this.main;
    if (!main || this.stopped) return;
    const delay = backoffDelay(this.o.backoff ?? DEFAULT_BACKOFF, this.handoverAttempt, this.o.random ?? Math.random);
    this.handoverAttempt += 1;
    this.o.logger.warn({ code: 'MESHFED_E_AGENT_HANDOVER_FAILED', address: s.address, reason: why, retryInMs: delay },
      'could not move the Federation stream to the new credentials; the current stream keeps reporting');
    this.handoverTimer = setTimeout(() => {
      this.handoverTimer = undefined;
      this.beginHandover();
    }, delay);
  }

  /** Drops any handover in progress and lets the main stream report again. */
  private abandonHandover(): void {
    if (this.handoverTimer) clearTimeout(this.handoverTimer);
    this.handoverTimer = undefined;
    this.draining = false;
    const succ = this.successor;
    this.successor = undefined;
    if (succ) this.closeStream(succ);
    if (this.main) this.main.quiet = false;
  }

  private tick(s: Stream): void {
    const now = Date.now();
    if (!s.quiet && now - s.lastSentMs >= this.o.reportIntervalMs - 5) this.sendReport(s);
    else if (now - s.lastSentMs >= this.o.heartbeatMs - 5) {
      s.call.write({ heartbeat: { sent_at_unix_ms: String(now) } });
      if (s.quiet) s.lastSentMs = now;
    }
  }

  private sendReport(s: Stream): void {
    const now = Date.now();
    s.sequence += 1;
    try {
      s.call.write({ report: this.o.buildReport(s.sequence, now) });
      s.lastSentMs = now;
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
      const uris = sanUris(cert.subjectaltname);
      return uris.includes(tls.balancerId) ? undefined : new Error(`the balancer presented ${uris.join(', ') || 'no SPIFFE ID'}, expected ${tls.balancerId}`);
    },
  });
}
