// A simulated zone agent for tests: speaks the real Federation gRPC protocol (api/proto.ts) to a global-lb replica
// and keeps what it was pushed (weights for its zone, directory, trust bundle), so tests can assert on it.
import * as grpc from '@grpc/grpc-js';
import { federationProto } from '../../api/proto.ts';
import type { AgentMessage } from '../../api/generated/meshfed/v1/AgentMessage.ts';
import type { BalancerMessage__Output } from '../../api/generated/meshfed/v1/BalancerMessage.ts';
import type { WeightTable__Output } from '../../api/generated/meshfed/v1/WeightTable.ts';
import type { Directory__Output } from '../../api/generated/meshfed/v1/Directory.ts';
import type { TrustBundle__Output } from '../../api/generated/meshfed/v1/TrustBundle.ts';
import type { StreamError__Output } from '../../api/generated/meshfed/v1/StreamError.ts';
import type { ServiceReport } from '../../api/generated/meshfed/v1/ServiceReport.ts';
import type { ZoneReport } from '../../api/generated/meshfed/v1/ZoneReport.ts';

export interface SimAgentOptions {
  /** host:port of the replica's Federation listener. */
  readonly address: string;
  readonly cloud?: string;
  readonly region?: string;
  readonly zone: string;
  readonly network?: string;
  /** The cluster the Hello claims; default cluster-<zone>. */
  readonly cluster?: string;
  readonly gatewayAddress?: string;
  readonly credentials?: grpc.ChannelCredentials;
  readonly channelOptions?: grpc.ChannelOptions;
  /** Skip sending the Hello (to test protocol violations). */
  readonly noHello?: boolean;
}

/** A simple service in a report: `healthy` endpoints each serving `capacityPerEndpoint` rps. */
export function serviceReport(namespace: string, name: string, o: { healthy?: number; total?: number; capacityRps?: number; rps?: number; endpoints?: { address: string; port: number }[] } = {}): ServiceReport {
  const healthy = o.healthy ?? 2;
  return {
    namespace,
    name,
    healthy_endpoints: healthy,
    total_endpoints: o.total ?? healthy,
    capacity_rps: o.capacityRps ?? 1000,
    rps: o.rps ?? 100,
    in_flight: 1,
    successes: Math.round((o.rps ?? 100) * 1),
    errors: { http_5xx: 0, connect_failure: 0, timeout: 0, reset: 0 },
    endpoints: (o.endpoints ?? []).map((e) => ({ address: e.address, port: e.port, healthy: true, labels: {} })),
  };
}

/** A connected simulated agent. */
export class SimAgent {
  readonly zone: string;
  readonly messages: BalancerMessage__Output[] = [];
  readonly weights = new Map<string, WeightTable__Output>();
  directory: Directory__Output | undefined;
  trust: TrustBundle__Output | undefined;
  error: StreamError__Output | undefined;
  acks: string[] = [];
  /** The gRPC status the stream ended with, once it ended. */
  status: grpc.StatusObject | undefined;
  readonly ended: Promise<grpc.StatusObject>;
  private sequence = 0;
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<AgentMessage, BalancerMessage__Output>;
  private readonly waiters = new Set<() => void>();

  constructor(options: SimAgentOptions) {
    this.zone = options.zone;
    const Federation = federationProto().meshfed.v1.Federation;
    const client = new Federation(options.address, options.credentials ?? grpc.credentials.createInsecure(), options.channelOptions ?? {});
    this.client = client;
    this.call = client.Connect();
    this.call.on('data', (m: BalancerMessage__Output) => this.onMessage(m));
    this.ended = new Promise((resolve) => {
      this.call.on('status', (s: grpc.StatusObject) => {
        this.status = s;
        this.notify();
        resolve(s);
      });
    });
    this.call.on('error', () => undefined);
    if (!options.noHello) {
      this.send({
        hello: {
          locality: { cloud: options.cloud ?? 'sim', region: options.region ?? 'r1', zone: options.zone },
          cluster: options.cluster ?? `cluster-${options.zone}`,
          network: options.network ?? 'net1',
          gateway_address: options.gatewayAddress ?? '',
          agent_id: `sim-${options.zone}`,
          agent_version: 'test',
        },
      });
    }
  }

  /** Sends any message (including malformed ones, for tests). */
  send(message: AgentMessage): void {
    this.call.write(message);
  }

  /** Sends a report for this zone (or another, to test refusal). Returns its sequence number. */
  report(services: ServiceReport[], o: { zone?: string; rtts?: { zone: string; rtt_ms: number }[] } = {}): number {
    this.sequence++;
    const report: ZoneReport = {
      zone: o.zone ?? this.zone,
      sequence: this.sequence,
      sent_at_unix_ms: Date.now(),
      window_ms: 1000,
      services,
      rtts: o.rtts ?? [],
    };
    this.send({ report });
    return this.sequence;
  }

  heartbeat(): void {
    this.send({ heartbeat: { sent_at_unix_ms: Date.now() } });
  }

  /** basis points this zone's row gives each target zone for a service, or undefined when no table. */
  shares(service: string): Record<string, number> | undefined {
    const table = this.weights.get(service);
    const row = table?.sources.find((s) => s.source_zone === this.zone);
    if (!row) return undefined;
    return Object.fromEntries(row.targets.map((t) => [t.zone, t.basis_points]));
  }

  /** Resolves when the predicate holds, checking after every message; rejects after timeoutMs. */
  waitFor(predicate: () => boolean, timeoutMs: number, what = 'condition'): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (predicate()) {
          cleanup();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`agent ${this.zone}: timed out after ${timeoutMs} ms waiting for ${what}; last shares: ${JSON.stringify([...this.weights.keys()].map((k) => [k, this.shares(k)]))}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  /** Half-closes the stream, as an agent shutting down politely does. */
  end(): void {
    this.call.end();
  }

  /** Drops the stream and the channel. */
  close(): void {
    this.call.cancel();
    this.client.close();
  }

  private onMessage(m: BalancerMessage__Output): void {
    this.messages.push(m);
    switch (m.msg) {
      case 'ack':
        this.acks.push(m.ack!.sequence);
        break;
      case 'weights': {
        const w = m.weights!;
        if (w.full) this.weights.clear();
        for (const key of w.removed) this.weights.delete(key);
        for (const t of w.tables) this.weights.set(`${t.namespace}/${t.name}`, t);
        break;
      }
      case 'directory':
        this.directory = m.directory!;
        break;
      case 'trust_bundle':
        this.trust = m.trust_bundle!;
        break;
      case 'error':
        this.error = m.error!;
        break;
      default:
        break;
    }
    this.notify();
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }
}
