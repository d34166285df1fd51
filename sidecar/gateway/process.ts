// The gateway as a process: listener, admin port (/ready, /stats, /config_dump, /faults for L4, /metrics), config hot reload or relay feed.
import type { SidecarConfig } from '../../api/sidecar-config.ts';
import type { Logger } from '../../common/logger.ts';
import { createRegistry } from '../../common/metrics.ts';
import { describeError } from '../../common/errors.ts';
import { startGateway, type Gateway } from './gateway.ts';
import { gatewayResolver } from './routes.ts';
import { startAdmin, type AdminServer, type RuntimeFaults } from '../server/admin.ts';
import { watchConfigFile, hash, type ConfigWatch } from '../server/config-watch.ts';
import { NO_L4_FAULTS } from '../l4/l4-faults.ts';
import type { AdminAuth } from '../../common/admin-auth.ts';

export interface GatewayProcess {
  readonly gateway: Gateway;
  readonly adminPort: number;
  applyConfig(cfg: SidecarConfig): void;
  close(): Promise<void>;
}

/**
 * Starts a gateway for `zone` that routes by the endpoints of that zone in the config: hot-reloaded when a file is
 * given, or pushed through applyConfig by another feed (the zone agent's relay, see relay/relayed.ts).
 */
export async function startGatewayProcess(opts: {
  zone: string; host: string; port: number; adminHost?: string; adminPort?: number; adminAuth?: AdminAuth | undefined;
  config: SidecarConfig; configFile?: string; logger: Logger;
  /** Extra fields for /stats from the config's feed (e.g. the relay intake). */
  status?: () => Record<string, unknown>;
}): Promise<GatewayProcess> {
  const registry = createRegistry();
  let config = opts.config;
  let version = hash(JSON.stringify(config));
  let faults: RuntimeFaults = { rules: [], l4: NO_L4_FAULTS };
  const gwOpts = { host: opts.host, port: opts.port, logger: opts.logger, registry, resolve: gatewayResolver(config, opts.zone), l4: () => faults.l4 };
  const gateway = await startGateway(gwOpts);
  const applyConfig = (cfg: SidecarConfig) => {
    gwOpts.resolve = gatewayResolver(cfg, opts.zone);
    config = cfg;
    version = hash(JSON.stringify(cfg));
    opts.logger.info({ version: version.slice(0, 12) }, 'gateway config applied');
  };
  let admin: AdminServer;
  try {
    admin = await startAdmin({
      host: opts.adminHost ?? '127.0.0.1', port: opts.adminPort ?? 0, auth: opts.adminAuth,
      hooks: {
        registry,
        ready: () => ({ ready: true }),
        stats: () => ({ zone: opts.zone, config_version: version, active_connections: gateway.active(), ...opts.status?.() }),
        configDump: () => ({ zone: opts.zone, version, services: Object.keys(config.services).filter((s) => config.services[s]?.endpoints[opts.zone]), faults }),
        faults: () => faults,
        // The gateway never sees requests, so only L4 faults apply; L7 rules are kept for display only. As the sidecar
        // does, a change of L4 faults closes the open connections, so pooled flows meet the fault too.
        setFaults: (f) => {
          const l4Changed = JSON.stringify(f.l4) !== JSON.stringify(faults.l4);
          faults = f;
          if (l4Changed) gateway.dropConnections();
        },
      },
    });
  } catch (e) {
    // Nothing is left listening when the gateway cannot start (an embedder's process would keep it open).
    await gateway.close();
    throw e;
  }
  let watcher: ConfigWatch | undefined;
  if (opts.configFile !== undefined) {
    watcher = watchConfigFile(opts.configFile, applyConfig, (e) => {
      opts.logger.error({ code: e.code, problems: e.details.length > 0 ? e.details : [describeError(e)] }, 'config refused; keeping the previous one');
    });
  }
  return {
    gateway, adminPort: admin.port, applyConfig,
    close: async () => {
      watcher?.close();
      await Promise.all([gateway.close(), admin.close()]);
    },
  };
}
