// Helpers for the relay integration tests: a plug-in CA dir, zone agents, relayed sidecars and a traffic loop.
import 'reflect-metadata';
import http from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestPki, type TestPki } from '../../trust/testing.ts';
import { writePluginCaDir } from '../../trust/index.ts';
import { createLogger } from '../../common/logger.ts';
import { startZoneAgent, type ZoneAgent } from '../../zone-agent/agent.ts';
import { startRelayedSidecar, type RelayedSidecar } from '../../sidecar/relay/index.ts';
import type { RelayOverlay } from '../../sidecar/relay/index.ts';
import { startEchoApp, tempDir, type Cleanup, type EchoReply } from './sidecar-support.ts';

export const TD = 'mesh.test';
export const quiet = (component: string) => createLogger({ component, level: process.env['MESHFED_TEST_LOG'] ?? 'silent' });

/**
 * A temp dir (removed after the test) with a test PKI, the east intermediate written as a plug-in CA dir at
 * `caDir` for agents to sign with, and an empty `a/` for zone a's discovery file and state.
 */
export async function agentWorld(t: Cleanup, prefix: string): Promise<{ dir: string; pki: TestPki; caDir: string }> {
  const dir = tempDir(t, prefix);
  const pki = await createTestPki({ trustDomain: TD });
  const caDir = join(dir, 'ca');
  writePluginCaDir(caDir, pki.east);
  mkdirSync(join(dir, 'a'), { recursive: true });
  return { dir, pki, caDir };
}

/** Overlay every relayed sidecar in these tests uses: the cart's endpoints must prove the cart's identity. */
export const OVERLAY: RelayOverlay = { services: { 'shop/cart': { identity: `spiffe://${TD}/ns/shop/sa/cart` } } };

export function writeStatic(file: string, cartPorts: readonly number[]): void {
  writeFileSync(file, JSON.stringify({
    services: [{ namespace: 'shop', name: 'cart', capacityRps: 1000, endpoints: cartPorts.map((p) => ({ address: `127.0.0.1:${p}` })) }],
  }));
}

export function agent(o: { zone: string; network?: string; grpcPort: number; staticFile: string; stateDir: string; caDir: string; relayPort?: number; certTtlMs?: number; bundleSigners?: string[] }): Promise<ZoneAgent> {
  return startZoneAgent({
    locality: { cloud: 'sim', region: 'r1', zone: o.zone }, cluster: `c-${o.zone}`, network: o.network ?? 'n1', trustDomain: TD,
    globalLb: [`127.0.0.1:${o.grpcPort}`], insecure: true, caDir: o.caDir,
    discovery: { kind: 'static', file: o.staticFile },
    stateDir: o.stateDir, relayListen: { host: '127.0.0.1', port: o.relayPort ?? 0 }, adminListen: { host: '127.0.0.1', port: 0 },
    reportIntervalMs: 250, heartbeatMs: 250, rttIntervalMs: 0,
    backoff: { initialMs: 50, maxMs: 300, multiplier: 2, jitter: 0.5 },
    ...(o.certTtlMs !== undefined ? { workloadCertTtlMs: o.certTtlMs } : {}),
    ...(o.bundleSigners !== undefined ? { bundleSigners: o.bundleSigners } : {}),
    logger: quiet(`zone-agent-${o.zone}`), processMetrics: false,
  });
}

/** A relayed sidecar for `service` in `zone` fronting an echo app; the inbound port is fixed so discovery can name it. */
export async function relayedSidecar(t: Cleanup, o: { service: string; zone: string; relayPort: number; inboundPort?: number }): Promise<RelayedSidecar> {
  const app = await startEchoApp(t, o.service, o.zone);
  const rs = await startRelayedSidecar({
    service: o.service, zone: o.zone, appPort: app.port, agent: `127.0.0.1:${o.relayPort}`, trustDomain: TD, overlay: OVERLAY,
    inboundPort: o.inboundPort ?? 0, statsIntervalMs: 250, backoff: { initialMs: 50, maxMs: 300, jitter: 0.5 },
    logger: quiet(`sidecar-${o.service}-${o.zone}`), accessLogSample: 0, firstStateTimeoutMs: 30_000,
  });
  t.after(() => rs.close());
  return rs;
}

/** One GET through a sidecar's outbound listener; resolves with the status and, on 200, which zone answered. */
export function get(outboundPort: number, authority: string): Promise<{ status: number; zone?: string; body: string }> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: outboundPort, path: '/', headers: { host: authority }, agent: keepAlive }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        let zone: string | undefined;
        if (res.statusCode === 200) {
          try {
            zone = (JSON.parse(body) as EchoReply).zone;
          } catch {
            // left undefined: counted as a failure by the caller
          }
        }
        resolve({ status: res.statusCode ?? 0, ...(zone !== undefined ? { zone } : {}), body });
      });
      res.on('error', (e) => resolve({ status: 0, body: String(e) }));
    });
    req.on('error', (e) => resolve({ status: 0, body: String(e) }));
    req.end();
  });
}
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** Traffic that runs until stopped: `concurrency` loops of sequential GETs; records every outcome. */
export class Traffic {
  readonly zones = new Map<string, number>();
  readonly failures: string[] = [];
  total = 0;
  private running = true;
  /** Bumped by resetShares; a request counts toward the shares only if it started in the current epoch. */
  private epoch = 0;
  private readonly loops: Promise<void>[] = [];

  constructor(outboundPort: number, authority: string, concurrency = 4) {
    for (let i = 0; i < concurrency; i++) {
      this.loops.push((async () => {
        while (this.running) {
          const startedIn = this.epoch;
          const r = await get(outboundPort, authority);
          this.total++;
          if (r.status !== 200 || !r.zone) this.failures.push(`${r.status} ${r.body.slice(0, 200)}`);
          else if (startedIn === this.epoch) this.zones.set(r.zone, (this.zones.get(r.zone) ?? 0) + 1);
        }
      })());
    }
  }

  /**
   * Zeroes the per-zone counts; requests already in flight (picked under the previous config) are left out of the
   * new counts. Failures are kept: the tests assert none ever happened.
   */
  resetShares(): void {
    this.epoch++;
    this.zones.clear();
  }

  share(zone: string): number {
    let n = 0;
    for (const v of this.zones.values()) n += v;
    return n === 0 ? 0 : (this.zones.get(zone) ?? 0) / n;
  }

  count(): number {
    let n = 0;
    for (const v of this.zones.values()) n += v;
    return n;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

/** The weight row the sidecar currently routes shop/cart by, read from its admin /config_dump. */
export async function cartWeights(rs: RelayedSidecar): Promise<Record<string, number> | undefined> {
  const res = await fetch(`http://127.0.0.1:${rs.sidecar.adminPort}/config_dump`);
  const body = (await res.json()) as { config: { services: Record<string, { weights?: Record<string, number> }> } };
  return body.config.services['shop/cart']?.weights;
}

