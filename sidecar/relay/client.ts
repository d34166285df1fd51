// The sidecar's stream to its zone agent: subscribe, keep the latest state, get certificates for fresh keys, send stats.
import * as grpc from '@grpc/grpc-js';
import { relayProto } from '../../api/relay.ts';
import type { RelayMessage__Output } from '../../api/generated/meshfed/v1/RelayMessage.ts';
import type { RelayState__Output } from '../../api/generated/meshfed/v1/RelayState.ts';
import type { SidecarMessage } from '../../api/generated/meshfed/v1/SidecarMessage.ts';
import type { ServiceStats } from '../../api/generated/meshfed/v1/ServiceStats.ts';
import { describeError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { createCsr, type KeyType } from '../../trust/index.ts';

/** Reconnect backoff: exponential with jitter, capped. */
export interface RelayBackoff {
  readonly initialMs: number;
  readonly maxMs: number;
  /** 0 = none, 1 = wait anywhere in [0, cap]. */
  readonly jitter: number;
}

export const DEFAULT_RELAY_BACKOFF: RelayBackoff = Object.freeze({ initialMs: 100, maxMs: 5000, jitter: 0.5 });

/** The wait before reconnect attempt `attempt` (0 = first). Invariant: within [cap * (1 - jitter), cap]. */
export function reconnectDelay(b: RelayBackoff, attempt: number, random: () => number): number {
  const cap = Math.min(b.maxMs, b.initialMs * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.round(cap * (1 - b.jitter * Math.min(Math.max(random(), 0), 1)));
}

/** A workload certificate with the key it was issued for. */
export interface IssuedCertificate {
  readonly certChainPem: string;
  readonly keyPem: string;
  readonly rootsPem: string;
  readonly spiffeId: string;
  readonly notAfterMs: number;
  readonly refreshAtMs: number;
}

/** A workload sidecar: names its identity, makes keys, gets certificates for them and sends its stats. */
export interface WorkloadSubscription {
  readonly role: 'workload';
  readonly namespace: string;
  readonly service: string;
  readonly serviceAccount: string;
  /** Proof of namespace and service account for an agent that attests workloads (a join token); sent with Subscribe. */
  readonly credential?: string;
  /** Used for the CSR's SAN until a relayed trust bundle names the domain (the agent signs its own idea of the ID anyway). */
  readonly trustDomain: string;
  readonly keyType?: KeyType;
  readonly onCertificate?: (cert: IssuedCertificate) => void;
  /** The stats of the window since the last call (ASKED `services`, SERVED `served`); sent every statsIntervalMs while subscribed. */
  readonly stats?: () => Promise<{ readonly services: ServiceStats[]; readonly served: ServiceStats[] }>;
  readonly statsIntervalMs?: number;
}

/** An east-west gateway: gets states only. It never makes a key nor sends a CSR, and the agent signs nothing for it. */
export interface GatewaySubscription {
  readonly role: 'gateway';
}

export type RelayClientOptions = {
  /** host:port of the zone agent's relay. */
  readonly agent: string;
  readonly zone: string;
  readonly sidecarId: string;
  readonly onState: (state: RelayState__Output) => void;
  readonly onConnected?: (up: boolean) => void;
  readonly backoff?: RelayBackoff;
  readonly random?: () => number;
  readonly logger: Logger;
} & (WorkloadSubscription | GatewaySubscription);

/**
 * One sidecar's (or gateway's) relay client. Invariants: at most one stream is open; the held state is replaced
 * only by a newer complete state and never cleared (fail-static: a lost agent leaves the last state in force); a
 * certificate is accepted only for the key of the CSR most recently sent; a gateway client never makes a key or
 * sends a CSR or stats; a lost stream is retried with growing, jittered waits, and the wait resets once a stream
 * delivers a state.
 */
export class AgentRelayClient {
  private readonly o: RelayClientOptions;
  private readonly client: grpc.Client;
  private call: grpc.ClientDuplexStream<SidecarMessage, RelayMessage__Output> | undefined;
  private stopped = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  /** The key whose CSR is in flight; a Certificate for any other key is ignored. */
  private pendingKey: string | undefined;
  private cert: IssuedCertificate | undefined;
  private state: RelayState__Output | undefined;
  private subscribed = false;
  /** Streams opened so far (for status and tests). */
  connects = 0;

  constructor(o: RelayClientOptions) {
    this.o = o;
    const Ctor = relayProto().meshfed.v1.Relay;
    this.client = new Ctor(o.agent, grpc.credentials.createInsecure(), {
      'grpc.keepalive_time_ms': 10_000, 'grpc.keepalive_timeout_ms': 5000, 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 2000,
    });
  }

  /** The latest state received (kept while the agent is away). */
  get latest(): RelayState__Output | undefined {
    return this.state;
  }

  get certificate(): IssuedCertificate | undefined {
    return this.cert;
  }

  /** True while a stream is subscribed and has delivered a state. */
  get connected(): boolean {
    return this.subscribed;
  }

  start(): void {
    this.open();
    if (this.o.role !== 'workload') return;
    const every = this.o.statsIntervalMs ?? 1000;
    if (this.o.stats && every > 0) {
      this.statsTimer = setInterval(() => void this.sendStats(), every);
      this.statsTimer.unref();
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.statsTimer) clearInterval(this.statsTimer);
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.call?.cancel();
    this.call = undefined;
    this.client.close();
  }

  private open(): void {
    if (this.stopped) return;
    this.connects++;
    const call = (this.client as unknown as { Subscribe(): grpc.ClientDuplexStream<SidecarMessage, RelayMessage__Output> }).Subscribe();
    this.call = call;
    let gone = false;
    const lost = (why: string) => {
      if (gone) return;
      gone = true;
      if (this.call === call) this.call = undefined;
      const was = this.subscribed;
      this.subscribed = false;
      this.pendingKey = undefined;
      if (was) this.o.onConnected?.(false);
      if (this.stopped) return;
      const wait = reconnectDelay(this.o.backoff ?? DEFAULT_RELAY_BACKOFF, this.attempt++, this.o.random ?? Math.random);
      this.o.logger.warn({ agent: this.o.agent, reason: why, retryInMs: wait, holding: this.state?.version ?? null }, 'relay stream lost; keeping the last state');
      this.retryTimer = setTimeout(() => this.open(), wait);
    };
    call.on('data', (m: RelayMessage__Output) => this.onMessage(call, m));
    call.on('status', (s: grpc.StatusObject) => lost(`${grpc.status[s.code]}: ${s.details}`));
    call.on('error', (e: Error) => lost(describeError(e)));
    call.on('end', () => lost('stream ended'));
    // The CSR goes after the first state, so its SAN can use the trust domain the agent relays.
    const o = this.o;
    call.write({
      subscribe: o.role === 'workload'
        ? { namespace: o.namespace, service: o.service, service_account: o.serviceAccount, zone: o.zone, sidecar_id: o.sidecarId, csr_pem: '', credential: o.credential ?? '' }
        : { gateway: true, zone: o.zone, sidecar_id: o.sidecarId },
    });
  }

  private onMessage(call: grpc.ClientDuplexStream<SidecarMessage, RelayMessage__Output>, m: RelayMessage__Output): void {
    if (call !== this.call) return;
    switch (m.msg) {
      case 'state': {
        if (!m.state) return;
        const first = !this.subscribed;
        this.subscribed = true;
        this.attempt = 0;
        if (this.state?.version !== m.state.version) {
          this.state = m.state;
          try {
            this.o.onState(m.state);
          } catch (e) {
            this.o.logger.error({ err: describeError(e), version: m.state.version }, 'relay state handler threw');
          }
        }
        if (first) {
          this.o.onConnected?.(true);
          // A new stream (maybe a restarted agent, which knows nothing of our certificate) gets a CSR when we have
          // no certificate or ours is due; otherwise our own refresh timer covers rotation.
          if (this.o.role === 'workload' && (!this.cert || Date.now() >= this.cert.refreshAtMs)) void this.requestCertificate('no certificate yet or due for refresh');
        }
        return;
      }
      case 'certificate': {
        const c = m.certificate;
        const key = this.pendingKey;
        // A gateway never has a key in flight, so a certificate sent to it is dropped here.
        if (!c || !key || this.o.role !== 'workload') return;
        this.pendingKey = undefined;
        const cert: IssuedCertificate = {
          certChainPem: c.cert_chain_pem, keyPem: key, rootsPem: c.root_pems, spiffeId: c.spiffe_id,
          notAfterMs: Number(c.not_after_unix_ms), refreshAtMs: Number(c.refresh_at_unix_ms),
        };
        try {
          this.o.onCertificate?.(cert);
        } catch (e) {
          this.o.logger.error({ err: describeError(e) }, 'certificate refused by the sidecar; keeping the previous one');
          return;
        }
        this.cert = cert;
        this.o.logger.info({ spiffeId: cert.spiffeId, notAfter: new Date(cert.notAfterMs).toISOString(), refreshAt: new Date(cert.refreshAtMs).toISOString() }, 'workload certificate installed');
        if (this.refreshTimer) clearTimeout(this.refreshTimer);
        // The agent asks for rotation on its stream; this timer covers a stream that was replaced in between.
        this.refreshTimer = setTimeout(() => void this.requestCertificate('refresh time reached'), Math.max(0, Math.min(cert.refreshAtMs - Date.now(), 2 ** 31 - 1)));
        this.refreshTimer.unref();
        return;
      }
      case 'rotate':
        if (this.o.role === 'workload') void this.requestCertificate(m.rotate?.reason || 'agent asked for rotation');
        return;
      case 'error':
        this.o.logger.warn({ code: m.error?.code, message: m.error?.message }, 'the agent reported an error');
        if (m.error?.code === 'MESHFED_E_AGENT_CSR_REJECTED') this.pendingKey = undefined;
        return;
      default:
        return;
    }
  }

  /** Makes a fresh key and sends its CSR; one request at a time. */
  private async requestCertificate(reason: string): Promise<void> {
    const o = this.o;
    if (o.role !== 'workload' || this.pendingKey !== undefined || !this.call || !this.subscribed) return;
    const td = this.state?.trust_bundle?.trust_domain || o.trustDomain;
    const spiffeId = `spiffe://${td}/ns/${o.namespace}/sa/${o.serviceAccount}`;
    this.pendingKey = '';
    let csr: { csrPem: string; keyPem: string };
    try {
      csr = await createCsr({ spiffeId, ...(o.keyType ? { keyType: o.keyType } : {}) });
    } catch (e) {
      this.pendingKey = undefined;
      this.o.logger.error({ err: describeError(e), spiffeId }, 'could not create a CSR');
      return;
    }
    if (!this.call || !this.subscribed) {
      this.pendingKey = undefined;
      return;
    }
    this.pendingKey = csr.keyPem;
    this.o.logger.info({ reason, spiffeId }, 'requesting a workload certificate');
    this.call.write({ csr: { csr_pem: csr.csrPem } });
  }

  private async sendStats(): Promise<void> {
    const o = this.o;
    if (o.role !== 'workload' || !o.stats || !this.call || !this.subscribed) return;
    let window: { readonly services: ServiceStats[]; readonly served: ServiceStats[] };
    try {
      window = await o.stats();
    } catch (e) {
      this.o.logger.warn({ err: describeError(e) }, 'could not read stats');
      return;
    }
    if (!this.call || !this.subscribed) return;
    this.call.write({ stats: { window_ms: o.statsIntervalMs ?? 1000, services: window.services, served: window.served } });
  }
}
