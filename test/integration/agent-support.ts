// Test helpers for zone-agent integration tests: a minimal relay subscriber (a stand-in sidecar) and polling.
import * as grpc from '@grpc/grpc-js';
import { relayProto } from '../../api/relay.ts';
import type { RelayMessage__Output } from '../../api/generated/meshfed/v1/RelayMessage.ts';
import type { RelayState__Output } from '../../api/generated/meshfed/v1/RelayState.ts';
import type { Certificate__Output } from '../../api/generated/meshfed/v1/Certificate.ts';
import type { SidecarMessage } from '../../api/generated/meshfed/v1/SidecarMessage.ts';

/** Polls until fn returns something other than undefined/false; fails after timeoutMs. */
export async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A relay subscriber that records everything the agent sends. */
export class TestSidecar {
  readonly states: { at: number; state: RelayState__Output }[] = [];
  readonly certificates: Certificate__Output[] = [];
  readonly errors: { code: string; message: string }[] = [];
  rotations = 0;
  status: grpc.StatusObject | undefined;
  readonly call: grpc.ClientDuplexStream<SidecarMessage, RelayMessage__Output>;
  private readonly client: grpc.Client;
  onRotate: (() => void) | undefined;

  constructor(port: number, sub: { namespace?: string; service?: string; serviceAccount?: string; zone?: string; csrPem?: string; id?: string } = {}, send = true) {
    const Ctor = relayProto().meshfed.v1.Relay;
    this.client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    this.call = (this.client as unknown as { Subscribe(): grpc.ClientDuplexStream<SidecarMessage, RelayMessage__Output> }).Subscribe();
    this.call.on('data', (m: RelayMessage__Output) => {
      if (m.msg === 'state' && m.state) this.states.push({ at: Date.now(), state: m.state });
      else if (m.msg === 'certificate' && m.certificate) this.certificates.push(m.certificate);
      else if (m.msg === 'error' && m.error) this.errors.push({ code: m.error.code, message: m.error.message });
      else if (m.msg === 'rotate') {
        this.rotations += 1;
        this.onRotate?.();
      }
    });
    this.call.on('status', (s: grpc.StatusObject) => {
      this.status = s;
    });
    this.call.on('error', () => undefined);
    if (send) {
      this.call.write({
        subscribe: {
          namespace: sub.namespace ?? 'shop', service: sub.service ?? 'web', service_account: sub.serviceAccount ?? 'web',
          zone: sub.zone ?? '', sidecar_id: sub.id ?? '', csr_pem: sub.csrPem ?? '',
        },
      });
    }
  }

  latest(): RelayState__Output | undefined {
    return this.states.at(-1)?.state;
  }

  /** Endpoints ("ip:port", "!" when unhealthy) of a service in a zone of the latest state. */
  endpoints(zone: string, name: string): string[] {
    const z = this.latest()?.zones.find((x) => x.locality?.zone === zone);
    return z?.services.find((s) => s.name === name)?.endpoints.map((e) => `${e.address}:${e.port}${e.healthy ? '' : '!'}`) ?? [];
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}
