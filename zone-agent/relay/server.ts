// The local gRPC relay: streams the zone's state to every subscribed sidecar, takes their stats, signs their CSRs.
import * as grpc from '@grpc/grpc-js';
import { relayProto } from '../../api/relay.ts';
import type { RelayMessage } from '../../api/generated/meshfed/v1/RelayMessage.ts';
import type { RelayState } from '../../api/generated/meshfed/v1/RelayState.ts';
import type { SidecarMessage__Output } from '../../api/generated/meshfed/v1/SidecarMessage.ts';
import type { SidecarStats__Output } from '../../api/generated/meshfed/v1/SidecarStats.ts';
import { isKubernetesName, workloadId } from '../../api/identity.ts';
import { attest, type Attestation } from './attestation.ts';
import { formatHostPort } from '../../api/fields.ts';
import { describeError, type Result } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';

/** A signed certificate for a sidecar. */
export interface SignedCertificate {
  readonly certChainPem: string;
  readonly rootsPem: string;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  readonly spiffeId: string;
}

/** Signs a CSR for exactly the given SPIFFE ID; throws (with a reason) when it cannot. */
export type CsrSigner = (csrPem: string, spiffeId: string) => Promise<SignedCertificate>;

export interface RelayServerOptions {
  readonly zone: string;
  readonly trustDomain: string;
  readonly logger: Logger;
  readonly signer?: CsrSigner;
  /** When set, a workload subscription must prove its namespace and service account (attestation.ts). */
  readonly attestation?: Attestation;
  /** Share of a certificate's life after which the agent asks for a new key (0.5 = half-life, as DESIGN.md says). */
  readonly rotateAt?: number;
  /** Takes one sidecar's stats; an error value means the message is garbage and the stream is closed. */
  readonly onStats: (sidecarId: string, stats: SidecarStats__Output) => Result<unknown, string>;
  readonly onSidecarGone?: (sidecarId: string) => void;
  readonly onProtocolError?: (reason: string) => void;
  readonly onCertificateIssued?: () => void;
  readonly onSubscribersChanged?: (count: number) => void;
  /** Called when a state version was skipped for a sidecar that is not reading (it will get a newer one). */
  readonly onSkipped?: () => void;
  /** Encode each state once for all subscribers (default). False encodes per stream; kept as the bench's baseline. */
  readonly encodeOnce?: boolean;
}

const GATEWAY_NO_CERTIFICATE = 'a gateway subscription never gets a certificate (a gateway holds no workload key)';

/** A message that failed to decode; the handler sees it as a value instead of grpc-js failing the call silently. */
interface Garbage {
  readonly garbage: string;
}

type Incoming = SidecarMessage__Output | Garbage;

interface Subscriber {
  readonly call: grpc.ServerDuplexStream<Incoming, RelayMessage | Buffer>;
  state: 'awaiting-subscribe' | 'subscribed' | 'closed';
  /** A gateway gets states only: no certificate, no stats. */
  role: 'workload' | 'gateway';
  sidecarId: string;
  /** The identity certificates are signed for; '' for a gateway, which never gets one. */
  spiffeId: string;
  lastVersion: string;
  /** The stream's buffer is full; the newest state goes out on 'drain' instead of queueing every version. */
  blocked: boolean;
  rotateTimer: NodeJS.Timeout | undefined;
}

/**
 * The relay. Invariants: a stream gets state only after a valid Subscribe; every subscribed stream is sent the
 * current state at once and each later version exactly once; a protocol violation closes the stream with
 * INVALID_ARGUMENT and is counted; a certificate is only ever issued for the identity the stream subscribed with,
 * and never on a gateway stream (a gateway holds no workload key: its CSR is a protocol violation).
 */
export class RelayServer {
  private readonly o: RelayServerOptions;
  private readonly server: grpc.Server;
  private readonly subscribers = new Set<Subscriber>();
  private current: RelayState | undefined;
  private currentBytes: Buffer | undefined;
  private serialize: (m: RelayMessage) => Buffer;
  private sidecarSeq = 0;
  /**
   * Sidecars this agent process has signed for. A sidecar it has not signed for holds a certificate from another
   * process, perhaps under another intermediate or root (an agent restarted on a rotated CA), so it is asked to re-key.
   */
  private readonly signedFor = new Set<string>();
  port = 0;

  constructor(options: RelayServerOptions) {
    this.o = options;
    this.server = new grpc.Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
    const def = relayProto().meshfed.v1.Relay.service;
    const method = def.Subscribe;
    this.serialize = method.responseSerialize as (m: RelayMessage) => Buffer;
    const decode = method.requestDeserialize;
    const serialize = this.serialize;
    // Decode failures become values so the stream can be closed and counted; pre-serialized states (one encode for
    // every subscriber) pass through the serializer untouched.
    const patched = {
      Subscribe: {
        ...method,
        requestDeserialize: (bytes: Buffer): Incoming => {
          try {
            return decode(bytes);
          } catch (e) {
            return { garbage: describeError(e) };
          }
        },
        responseSerialize: (m: RelayMessage | Buffer): Buffer => (Buffer.isBuffer(m) ? m : serialize(m)),
      },
    } as unknown as grpc.ServiceDefinition;
    this.server.addService(patched, { Subscribe: (call: grpc.ServerDuplexStream<Incoming, RelayMessage | Buffer>) => this.onStream(call) });
  }

  /** Binds on host:port (port 0 = any free one). */
  async listen(host: string, port: number): Promise<number> {
    const target = formatHostPort({ host, port });
    this.port = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p)));
    });
    return this.port;
  }

  async close(): Promise<void> {
    for (const s of this.subscribers) this.closeStream(s);
    await new Promise<void>((resolve) => {
      this.server.tryShutdown(() => resolve());
      setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 1000).unref();
    });
  }

  /** The number of subscribed sidecars. */
  get subscriberCount(): number {
    let n = 0;
    for (const s of this.subscribers) if (s.state === 'subscribed') n++;
    return n;
  }

  /** Publishes a state; sends it to every subscriber that does not hold this version yet. */
  publish(state: RelayState): void {
    if (this.current?.version === state.version) return;
    this.current = state;
    this.currentBytes = this.serialize({ state });
    for (const s of this.subscribers) this.sendState(s);
  }

  /**
   * Sends the current state unless the stream holds it. A sidecar that does not read fills its stream's buffer;
   * from then on it is skipped and gets only the newest state once it drains, so memory per slow sidecar stays
   * bounded and a complete state (never a stale backlog) arrives first.
   */
  private sendState(s: Subscriber): void {
    if (s.state !== 'subscribed' || !this.current || !this.currentBytes || s.lastVersion === this.current.version) return;
    if (s.blocked) {
      this.o.onSkipped?.();
      return;
    }
    s.lastVersion = this.current.version ?? '';
    const more = s.call.write(this.o.encodeOnce === false ? { state: this.current } : this.currentBytes);
    if (!more) {
      s.blocked = true;
      s.call.once('drain', () => {
        s.blocked = false;
        this.sendState(s);
      });
    }
  }

  private onStream(call: grpc.ServerDuplexStream<Incoming, RelayMessage | Buffer>): void {
    const s: Subscriber = { call, state: 'awaiting-subscribe', role: 'workload', sidecarId: '', spiffeId: '', lastVersion: '', blocked: false, rotateTimer: undefined };
    this.subscribers.add(s);
    call.on('data', (m: Incoming) => {
      this.onMessage(s, m).catch((e: unknown) => this.violation(s, `internal: ${describeError(e)}`));
    });
    call.on('error', () => this.closeStream(s));
    call.on('end', () => {
      this.closeStream(s);
    });
    call.on('cancelled', () => this.closeStream(s));
  }

  private async onMessage(s: Subscriber, m: Incoming): Promise<void> {
    if (s.state === 'closed') return;
    if ('garbage' in m) return this.violation(s, `undecodable message: ${m.garbage}`);
    if (s.state === 'awaiting-subscribe') {
      if (m.msg !== 'subscribe' || !m.subscribe) return this.violation(s, `the first message must be a SubscribeRequest, got ${m.msg ?? 'an empty message'}`);
      const sub = m.subscribe;
      if (sub.gateway) {
        if (sub.zone !== this.o.zone) return this.violation(s, `a gateway subscription must name this agent's zone ${this.o.zone}, not "${sub.zone}"`);
        if (sub.csr_pem) return this.violation(s, GATEWAY_NO_CERTIFICATE);
        s.state = 'subscribed';
        s.role = 'gateway';
        s.sidecarId = sub.sidecar_id || `gateway-${++this.sidecarSeq}`;
        this.o.onSubscribersChanged?.(this.subscriberCount);
        this.sendState(s);
        return;
      }
      if (!sub.namespace || !sub.service || !sub.service_account) return this.violation(s, 'SubscribeRequest needs namespace, service and service_account');
      if (!isKubernetesName('namespace', sub.namespace)) return this.violation(s, `namespace "${sub.namespace.slice(0, 80)}" is not a Kubernetes namespace name (a DNS-1123 label)`);
      if (!isKubernetesName('serviceAccount', sub.service_account)) return this.violation(s, `service_account "${sub.service_account.slice(0, 80)}" is not a Kubernetes service account name (a DNS-1123 subdomain)`);
      if (sub.zone !== '' && sub.zone !== this.o.zone) return this.violation(s, `this agent serves zone ${this.o.zone}, not ${sub.zone}`);
      if (this.o.attestation) {
        const v = attest(this.o.attestation, sub.namespace, sub.service_account, sub.credential ?? '');
        if (!v.ok) return this.refuseUnattested(s, v.reason);
      }
      s.state = 'subscribed';
      s.sidecarId = sub.sidecar_id || `sidecar-${++this.sidecarSeq}`;
      s.spiffeId = workloadId(this.o.trustDomain, sub.namespace, sub.service_account);
      this.o.onSubscribersChanged?.(this.subscriberCount);
      this.sendState(s);
      if (sub.csr_pem) await this.issue(s, sub.csr_pem);
      else if (this.o.signer && !this.signedFor.has(s.sidecarId)) s.call.write({ rotate: { reason: 'this agent has not signed your certificate (it may have restarted on a new CA)' } });
      return;
    }
    if (s.role === 'gateway') {
      if (m.msg === 'csr') return this.violation(s, GATEWAY_NO_CERTIFICATE);
      if (m.msg === 'stats') return this.violation(s, 'a gateway subscription sends no stats (it sees no requests)');
    }
    switch (m.msg) {
      case 'stats': {
        const r = this.o.onStats(s.sidecarId, m.stats as SidecarStats__Output);
        if (!r.ok) return this.violation(s, `bad stats: ${r.error}`);
        return;
      }
      case 'csr':
        return this.issue(s, m.csr?.csr_pem ?? '');
      case 'subscribe':
        return this.violation(s, 'SubscribeRequest may be sent once per stream');
      default:
        return this.violation(s, 'empty message');
    }
  }

  private async issue(s: Subscriber, csrPem: string): Promise<void> {
    // Defence in depth: onMessage already refuses a gateway's CSR before it gets here.
    if (s.role !== 'workload' || s.spiffeId === '') return this.violation(s, GATEWAY_NO_CERTIFICATE);
    if (!this.o.signer) {
      this.o.logger.warn({ code: 'MESHFED_E_AGENT_CSR_REJECTED', sidecar: s.sidecarId }, 'certificate requested but the agent has no CA (--ca)');
      s.call.write({ error: { code: 'MESHFED_E_AGENT_CSR_REJECTED', message: 'this agent has no CA configured (--ca)' } });
      return;
    }
    let cert: SignedCertificate;
    try {
      cert = await this.o.signer(csrPem, s.spiffeId);
    } catch (e) {
      this.o.logger.warn({ code: 'MESHFED_E_AGENT_CSR_REJECTED', sidecar: s.sidecarId, spiffeId: s.spiffeId, err: describeError(e) }, 'certificate request refused');
      if (s.state === 'subscribed') s.call.write({ error: { code: 'MESHFED_E_AGENT_CSR_REJECTED', message: describeError(e) } });
      return;
    }
    if (s.state !== 'subscribed') return;
    // Measured from issuance, not notBefore: CAs backdate notBefore for clock skew, which would pull rotation early.
    const issuedAt = Math.max(cert.notBeforeMs, Date.now());
    const refreshAt = issuedAt + Math.floor((cert.notAfterMs - issuedAt) * (this.o.rotateAt ?? 0.5));
    s.call.write({
      certificate: {
        cert_chain_pem: cert.certChainPem, root_pems: cert.rootsPem, spiffe_id: cert.spiffeId,
        not_after_unix_ms: String(cert.notAfterMs), refresh_at_unix_ms: String(refreshAt),
      },
    });
    this.o.onCertificateIssued?.();
    if (this.signedFor.size >= 100_000) this.signedFor.clear();
    this.signedFor.add(s.sidecarId);
    if (s.rotateTimer) clearTimeout(s.rotateTimer);
    s.rotateTimer = setTimeout(() => {
      s.rotateTimer = undefined;
      if (s.state === 'subscribed') s.call.write({ rotate: { reason: `certificate reaches ${Math.round((this.o.rotateAt ?? 0.5) * 100)}% of its life` } });
    }, Math.max(0, refreshAt - Date.now()));
  }

  /** Closes a subscription whose credential proves nothing: no state, no certificate, and its stats never count. */
  private refuseUnattested(s: Subscriber, reason: string): void {
    this.o.onProtocolError?.(reason);
    this.o.logger.warn({ code: 'MESHFED_E_AGENT_ATTESTATION_FAILED', peer: s.call.getPeer() }, `refusing a workload subscription: ${reason}`);
    s.call.write({ error: { code: 'MESHFED_E_AGENT_ATTESTATION_FAILED', message: reason } });
    this.closeStream(s, { code: grpc.status.PERMISSION_DENIED, details: reason });
  }

  private violation(s: Subscriber, reason: string): void {
    if (s.state === 'closed') return;
    this.o.onProtocolError?.(reason);
    this.o.logger.warn({ code: 'MESHFED_E_AGENT_RELAY_PROTOCOL', sidecar: s.sidecarId || '(not subscribed)', peer: s.call.getPeer() }, `closing sidecar stream: ${reason}`);
    s.call.write({ error: { code: 'MESHFED_E_AGENT_RELAY_PROTOCOL', message: reason } });
    this.closeStream(s, { code: grpc.status.INVALID_ARGUMENT, details: reason });
  }

  private closeStream(s: Subscriber, status?: { code: grpc.status; details: string }): void {
    if (s.state === 'closed') return;
    const wasSubscribed = s.state === 'subscribed';
    s.state = 'closed';
    if (s.rotateTimer) clearTimeout(s.rotateTimer);
    this.subscribers.delete(s);
    if (status) {
      // grpc-js ends a server stream with a status when 'error' is emitted on it.
      s.call.emit('error', status);
    } else {
      try {
        s.call.end();
      } catch {
        // already gone
      }
    }
    if (wasSubscribed) {
      this.o.onSidecarGone?.(s.sidecarId);
      this.o.onSubscribersChanged?.(this.subscriberCount);
    }
  }
}
