// Runs one zone's share of the demo in one process: sample apps, a sidecar per app, the east-west gateway, weight intake.
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSidecarConfig, type SidecarConfig } from '../api/sidecar-config.ts';
import { createLogger, type Logger } from '../common/logger.ts';
import { createRegistry } from '../common/metrics.ts';
import { startSidecar, type Sidecar } from '../sidecar/server/sidecar.ts';
import { startGateway, type Gateway } from '../sidecar/gateway/gateway.ts';
import { gatewayResolver } from '../sidecar/gateway/routes.ts';
import { issueWorkload, readPluginCaDir } from '../trust/index.ts';
import { startSampleApp } from './sample-app.ts';
import { meshService, serviceIdentity, sidecarConfigFor, weightRowFor, zonePlan, type FederationPlan, type TableLike, type WeightRow } from './plan.ts';

/** A running zone. */
export interface ZoneWorkloads {
  close(): Promise<void>;
}

/**
 * Where sidecars get their weights from. Today: the balancer's admin API, polled (the relay client that lets a
 * sidecar follow its zone agent is being written; switching to it replaces only this function).
 * Calls `onTables` with every table whenever any table's version changed.
 */
export function pollBalancerWeights(adminUrls: readonly string[], intervalMs: number, onTables: (tables: readonly (TableLike & { service: string; version: string })[]) => void, logger: Logger): () => void {
  let stopped = false;
  let lastKey = '';
  let preferred = 0;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    for (let k = 0; k < adminUrls.length && !stopped; k++) {
      const i = (preferred + k) % adminUrls.length;
      try {
        const res = await fetch(`${adminUrls[i]}/v1/weights`, { signal: AbortSignal.timeout(2000) });
        if (!res.ok) continue;
        const body = (await res.json()) as { tables: (TableLike & { service: string; version: string })[] };
        preferred = i;
        const key = body.tables.map((t) => `${t.service}@${t.version}`).sort().join(',');
        if (key !== lastKey) {
          lastKey = key;
          onTables(body.tables);
        }
        break;
      } catch (e) {
        logger.debug({ err: (e as Error).message, admin: adminUrls[i] }, 'weights poll failed; trying the next replica');
      }
    }
    if (!stopped) timer = setTimeout(() => void tick(), intervalMs);
  };
  void tick();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}

/** Starts every instance of `zone` from the plan, with certificates from the cluster's intermediate in `caDir`. */
export async function startZoneWorkloads(opts: { plan: FederationPlan; zone: string; caDir: string; workDir: string; pollMs?: number }): Promise<ZoneWorkloads> {
  const { plan, zone } = opts;
  const z = zonePlan(plan, zone);
  const logger = createLogger({ component: 'zone-workloads', zone });
  const knownZones = new Set(plan.zones.map((x) => x.zone));
  const ca = readPluginCaDir(opts.caDir);
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
  };
  try {
    // One certificate per service identity: the agent's CSR signing needs the relay client, so the zone signs its own.
    const certs = new Map<string, { cert: string; key: string; ca: string }>();
    for (const service of new Set(z.instances.map((i) => i.service))) {
      const w = await issueWorkload(ca, serviceIdentity(plan.trustDomain, service), { usages: ['server', 'client'] });
      const dir = join(opts.workDir, 'certs', service);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'chain.pem'), w.chainPem);
      writeFileSync(join(dir, 'key.pem'), w.keyPem, { mode: 0o600 });
      writeFileSync(join(dir, 'root-cert.pem'), ca.rootPem);
      certs.set(service, { cert: join(dir, 'chain.pem'), key: join(dir, 'key.pem'), ca: join(dir, 'root-cert.pem') });
    }
    const configOf = (service: string | undefined, weights: ReadonlyMap<string, WeightRow>): SidecarConfig =>
      parseSidecarConfig(JSON.stringify(sidecarConfigFor(plan, zone, service ? certs.get(service) : undefined, weights)), `${zone}/${service ?? 'gateway'}.json`);

    const sidecars: { service: string; sidecar: Sidecar }[] = [];
    for (const inst of z.instances) {
      const upstream = plan.layout.services.find((s) => s.name === inst.service)?.upstream;
      const app = await startSampleApp({
        service: inst.service, zone, version: inst.version, instance: inst.instance, port: inst.appPort,
        ...(upstream ? { upstream: { authority: `${upstream}.shop`, via: `http://127.0.0.1:${inst.outboundPort}` } } : {}),
      });
      closers.push(() => app.close());
      const sidecar = await startSidecar({
        service: meshService(inst.service), zone, appPort: inst.appPort,
        inboundPort: inst.inboundPort, outboundPort: inst.outboundPort, adminPort: inst.adminPort,
        config: configOf(inst.service, new Map()),
        logger: logger.child({ component: 'sidecar', instance: inst.instance }),
      });
      closers.push(() => sidecar.close());
      sidecars.push({ service: inst.service, sidecar });
    }
    // The gateway holds no workload key: it routes by SNI to this zone's sidecars.
    const gwConfig = configOf(undefined, new Map());
    const gateway: Gateway = await startGateway({
      host: '127.0.0.1', port: z.gatewayPort, logger: logger.child({ component: 'gateway' }), registry: createRegistry({ processMetrics: false }),
      resolve: gatewayResolver(gwConfig, zone),
    });
    closers.push(() => gateway.close());

    const stopPoll = pollBalancerWeights(plan.adminUrls, opts.pollMs ?? 250, (tables) => {
      const rows = new Map<string, WeightRow>();
      for (const t of tables) {
        const row = weightRowFor(t, zone, knownZones);
        if (row) rows.set(t.service, row);
      }
      for (const { service, sidecar } of sidecars) {
        try {
          sidecar.applyConfig(configOf(service, rows));
        } catch (e) {
          logger.error({ err: (e as Error).message, service }, 'weights refused by a sidecar; it keeps the previous ones');
        }
      }
      logger.info({ weights: Object.fromEntries(rows) }, 'weights applied');
    }, logger);
    closers.push(async () => stopPoll());
    return { close };
  } catch (e) {
    await close();
    throw e;
  }
}
