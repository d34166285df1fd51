// Runs the instances a plan gives one zone in one process: sample apps and a relayed sidecar per app (`meshfed up` gives each process one).
import 'reflect-metadata';
import { createLogger } from '../common/logger.ts';
import { startRelayedSidecar } from '../sidecar/relay/index.ts';
import { join } from 'node:path';
import { startSampleApp } from './sample-app.ts';
import type { AdminAuth } from '../common/admin-auth.ts';
import { readJoinToken } from './join-tokens.ts';
import { meshService, relayOverlayFor, zonePlan, type FederationPlan } from './plan.ts';

/** `meshfed up --proxy haproxy`: HAProxy, driven by its adapter, in place of each Node sidecar. */
export interface HaproxyWorkloads {
  readonly kind: 'haproxy';
  /** Each instance's HAProxy files and sockets: this directory for a single instance, else <workDir>/<instance>. */
  readonly workDir: string;
}

/** Starts one instance's HAProxy adapter on the sidecar's ports (the adapter is loaded only in this mode); returns its closer. */
async function startHaproxyFor(p: HaproxyWorkloads, a: { plan: FederationPlan; zone: string; inst: FederationPlan['zones'][number]['instances'][number]; agent: string; overlay: ReturnType<typeof relayOverlayFor>; logger: ReturnType<typeof createLogger>; single: boolean; relayTimeoutMs?: number; credential?: string }): Promise<() => Promise<void>> {
  const { startHaproxyAdapter, haproxyBinary } = await import('../proxy/index.ts');
  const { inst } = a;
  const adapter = await startHaproxyAdapter({
    service: meshService(inst.service), zone: a.zone, agent: a.agent, trustDomain: a.plan.trustDomain, overlay: a.overlay,
    sidecarId: `${a.zone}/${inst.instance}`, host: '127.0.0.1', appPort: inst.appPort,
    inboundPort: inst.inboundPort, outboundPort: inst.outboundPort, adminPort: inst.adminPort,
    workDir: a.single ? p.workDir : join(p.workDir, inst.instance), haproxyBin: haproxyBinary(),
    logger: a.logger.child({ component: 'proxy-haproxy', instance: inst.instance }),
    ...(a.relayTimeoutMs !== undefined ? { firstStateTimeoutMs: a.relayTimeoutMs } : {}),
    ...(a.credential !== undefined ? { credential: a.credential } : {}),
  });
  return () => adapter.close();
}

/** A running zone. */
export interface ZoneWorkloads {
  close(): Promise<void>;
}

/**
 * Starts every instance of `zone` from the plan. Each sidecar subscribes to the zone agent's relay (the agent must
 * be running): weights, endpoints of every zone, policies and its workload certificate all come from there, and
 * its stats go back. The zone's east-west gateway is not here: `meshfed up` runs it as `meshfed gateway --agent`.
 */
export async function startZoneWorkloads(opts: {
  plan: FederationPlan; zone: string; relayTimeoutMs?: number; proxy?: HaproxyWorkloads; adminAuth?: AdminAuth;
  /** Where each instance's join token is (`<service>.token`, local/join-tokens.ts), for an agent that attests workloads. */
  joinTokenDir?: string;
}): Promise<ZoneWorkloads> {
  const { plan, zone } = opts;
  const z = zonePlan(plan, zone);
  const logger = createLogger({ component: 'zone-workloads', zone });
  const agent = `127.0.0.1:${z.agentRelayPort}`;
  // HAProxy does not render canary routes: its overlay leaves them out (docs/native-proxies.md).
  const overlay = relayOverlayFor(plan, { routes: opts.proxy === undefined });
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
  };
  try {
    // Sidecars start together: each waits for its first state and certificate from the agent.
    const started = await Promise.allSettled(z.instances.map(async (inst) => {
      const upstream = plan.layout.services.find((s) => s.name === inst.service)?.upstream;
      const credential = opts.joinTokenDir !== undefined ? { credential: readJoinToken(opts.joinTokenDir, inst.service) } : {};
      const app = await startSampleApp({
        service: inst.service, zone, version: inst.version, instance: inst.instance, port: inst.appPort,
        ...(upstream ? { upstream: { authority: `${upstream}.shop`, via: `http://127.0.0.1:${inst.outboundPort}` } } : {}),
      });
      closers.push(() => app.close());
      if (opts.proxy) {
        closers.push(await startHaproxyFor(opts.proxy, { plan, zone, inst, agent, overlay, logger, single: z.instances.length === 1, ...credential, ...(opts.relayTimeoutMs !== undefined ? { relayTimeoutMs: opts.relayTimeoutMs } : {}) }));
        return;
      }
      const relayed = await startRelayedSidecar({
        service: meshService(inst.service), zone, appPort: inst.appPort, agent, trustDomain: plan.trustDomain, overlay,
        sidecarId: `${zone}/${inst.instance}`, ...credential,
        inboundPort: inst.inboundPort, outboundPort: inst.outboundPort, adminPort: inst.adminPort,
        ...(opts.adminAuth ? { adminAuth: opts.adminAuth } : {}),
        logger: logger.child({ component: 'sidecar', instance: inst.instance }),
        ...(opts.relayTimeoutMs !== undefined ? { firstStateTimeoutMs: opts.relayTimeoutMs } : {}),
      });
      closers.push(() => relayed.close());
    }));
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    logger.info({ agent, sidecars: z.instances.length }, 'zone workloads fed by the zone agent relay');
    return { close };
  } catch (e) {
    await close();
    throw e;
  }
}
