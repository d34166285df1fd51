// A sidecar, or a gateway (its routing table or the whole process), fed by the zone agent's relay instead of a config file.
import { hostname } from 'node:os';
import type { RelayState__Output } from '../../api/generated/meshfed/v1/RelayState.ts';
import type { SidecarConfig } from '../../api/sidecar-config.ts';
import { MeshfedError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { bundleFromProto, makeBundle, splitPem, TlsCredentialSource, type TlsCredentials, type TrustBundle } from '../../trust/index.ts';
import { BundleGate, type BundleGateStatus } from '../../trust/bundle-signature.ts';
import { scrapedLabelledCounter } from '../../common/metrics.ts';
import type { AdminAuth } from '../../common/admin-auth.ts';
import { startSidecar, type Sidecar, type SidecarOptions } from '../server/sidecar.ts';
import { startGatewayProcess, type GatewayProcess } from '../gateway/process.ts';
import { AgentRelayClient, type IssuedCertificate, type RelayBackoff } from './client.ts';
import { relayStateToConfig, type RelayOverlay } from './translate.ts';
import { windowReader } from './stats-reader.ts';

/** Status of a relayed sidecar's intake, for tests and logs. */
export interface RelayIntake {
  /** Version of the relay state last applied ('' before the first). */
  readonly appliedVersion: string;
  readonly connected: boolean;
  readonly stale: boolean;
  readonly connects: number;
  readonly certificate: IssuedCertificate | undefined;
  readonly certificatesInstalled: number;
  readonly statesRefused: number;
  /** The signed trust bundle in force, and the relayed ones refused. */
  readonly trustBundle: BundleGateStatus;
}

export interface RelayedSidecar {
  readonly sidecar: Sidecar;
  intake(): RelayIntake;
  close(): Promise<void>;
}

export interface RelayedSidecarOptions extends Omit<SidecarOptions, 'config' | 'configFile' | 'tls'> {
  /** host:port of the zone agent's relay. */
  readonly agent: string;
  /** Defaults to the service's name. */
  readonly serviceAccount?: string;
  readonly trustDomain: string;
  readonly overlay?: RelayOverlay;
  readonly sidecarId?: string;
  readonly statsIntervalMs?: number;
  readonly backoff?: RelayBackoff;
  /** How long to wait for the first state and certificate before giving up (the sidecar cannot serve mTLS without them). */
  readonly firstStateTimeoutMs?: number;
  /** Operator keys (PEM) that may sign trust bundles besides the roots in force (docs/trust.md, "Signed bundles"). */
  readonly bundleSigners?: readonly string[];
  /** The join token proving this workload's namespace and service account to an agent that attests workloads. */
  readonly credential?: string;
  readonly logger: Logger;
}

/** Waits for `ready`; after timeoutMs stops the client and throws MESHFED_E_SIDECAR_RELAY_TIMEOUT with message(). */
async function readyOrTimeout(ready: Promise<void>, client: AgentRelayClient, timeoutMs: number, message: () => string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([ready, new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new MeshfedError('MESHFED_E_SIDECAR_RELAY_TIMEOUT', message())), timeoutMs);
    })]);
  } catch (e) {
    client.stop();
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What to verify peers with: the signed bundle in force alone (its roots, aliases and revocations), or before one
 * took effect, the roots that came with our certificate.
 */
function peerTrust(inForce: TrustBundle | undefined, cert: IssuedCertificate, trustDomain: string): TrustBundle {
  return inForce ?? makeBundle({ trustDomain, roots: splitPem(cert.rootsPem) });
}

/** The relayed bundle, when the agent relays one: none yet is an empty message (no roots, no signature). */
function relayedBundle(state: RelayState__Output): { ok: true; bundle: TrustBundle | undefined } | { ok: false; message: string } {
  const b = state.trust_bundle;
  if (!b || ((b.root_pems ?? []).length === 0 && !b.signer)) return { ok: true, bundle: undefined };
  try {
    return { ok: true, bundle: bundleFromProto(b) };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}

/**
 * Subscribes to the agent, waits for the first state and certificate, then starts the sidecar on them.
 * Afterwards every new state is applied through sidecar.applyConfig and every certificate swapped into the TLS
 * source (new connections use it; pooled ones finish on the old one, so a rotation fails no request).
 * Invariant (fail-static): a state that does not translate or apply, or a lost agent, leaves the last good config
 * and certificate in force.
 */
export async function startRelayedSidecar(o: RelayedSidecarOptions): Promise<RelayedSidecar> {
  const [namespace, name] = o.service.split('/') as [string, string];
  const logger = o.logger;
  let sidecar: Sidecar | undefined;
  let tls: TlsCredentialSource | undefined;
  let appliedVersion = '';
  let statesRefused = 0;
  let certificatesInstalled = 0;
  let pendingConfig: SidecarConfig | undefined;
  let firstCert: IssuedCertificate | undefined;
  let ready: () => void = () => {};
  const readyP = new Promise<void>((r) => (ready = r));
  // Before a signed bundle is in force, the roots that came with our certificate may sign one.
  const bundles = new BundleGate({ configuredRoots: () => splitPem((client.certificate ?? firstCert)?.rootsPem ?? ''), signerKeys: o.bundleSigners ?? [] });
  const trustNow = (cert: IssuedCertificate): TrustBundle => peerTrust(bundles.inForce, cert, o.trustDomain);

  /** Offers the relayed bundle to the gate; a refusal is logged and counted, and the bundle in force stays. */
  const takeBundle = (state: RelayState__Output): void => {
    const relayed = relayedBundle(state);
    const now = new Date();
    if (!relayed.ok) {
      bundles.refuse('MESHFED_E_TRUST_BUNDLE_INVALID', relayed.message, now);
      logger.error({ code: 'MESHFED_E_TRUST_BUNDLE_INVALID', version: state.version }, `relayed trust bundle refused: ${relayed.message}`);
      return;
    }
    if (relayed.bundle === undefined) return;
    const verdict = bundles.offer(relayed.bundle, now);
    if (!verdict.ok) logger.error({ code: verdict.code, version: relayed.bundle.version }, `relayed trust bundle refused: ${verdict.message}; keeping the one in force`);
    else if (!verdict.unchanged) logger.info({ version: relayed.bundle.version, signer: verdict.signer }, 'trust bundle in force');
  };

  const onState = (state: RelayState__Output): void => {
    takeBundle(state);
    const cfg = relayStateToConfig(state, o.zone, o.trustDomain, o.overlay);
    if (!cfg.ok) {
      statesRefused++;
      logger.error({ version: state.version, problems: cfg.error }, 'relayed state refused; keeping the last good config');
      return;
    }
    if (!sidecar) {
      pendingConfig = cfg.value;
      appliedVersion = state.version;
      if (firstCert) ready();
      return;
    }
    try {
      sidecar.applyConfig(cfg.value);
      appliedVersion = state.version;
    } catch (e) {
      statesRefused++;
      logger.error({ version: state.version, err: (e as Error).message }, 'relayed state refused by the sidecar; keeping the last good config');
    }
    if (tls && client.certificate) {
      // The version is a hash of roots, aliases and revocations: an alias-only change takes effect too.
      const bundle = trustNow(client.certificate);
      if (bundle.version !== tls.current.bundle.version) tls.updateBundle(bundle);
    }
  };
  const onCertificate = (cert: IssuedCertificate): void => {
    const creds: TlsCredentials = { certChainPem: cert.certChainPem, keyPem: cert.keyPem, bundle: trustNow(cert) };
    if (!tls) {
      TlsCredentialSource.check(creds);
      firstCert = cert;
      certificatesInstalled++;
      if (pendingConfig) ready();
      return;
    }
    tls.update(creds);
    certificatesInstalled++;
  };
  const client = new AgentRelayClient({
    role: 'workload', agent: o.agent, namespace, service: name, serviceAccount: o.serviceAccount ?? name, zone: o.zone,
    sidecarId: o.sidecarId ?? `${o.service}@${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`,
    trustDomain: o.trustDomain, onState, onCertificate, ...(o.credential !== undefined ? { credential: o.credential } : {}),
    onConnected: (up) => logger.info({ agent: o.agent, connected: up }, up ? 'subscribed to the zone agent' : 'zone agent lost; serving the last config'),
    stats: windowReader(() => sidecar?.metrics),
    ...(o.statsIntervalMs !== undefined ? { statsIntervalMs: o.statsIntervalMs } : {}),
    ...(o.backoff ? { backoff: o.backoff } : {}),
    logger,
  });
  client.start();
  const timeoutMs = o.firstStateTimeoutMs ?? 60_000;
  await readyOrTimeout(readyP, client, timeoutMs, () => `no ${pendingConfig ? 'certificate' : 'usable state'} from the zone agent at ${o.agent} within ${timeoutMs} ms (is it running with --ca, and is this sidecar's zone its zone?)`);
  const cert = firstCert as IssuedCertificate;
  tls = new TlsCredentialSource({ certChainPem: cert.certChainPem, keyPem: cert.keyPem, bundle: trustNow(cert) });
  const { agent: _a, serviceAccount: _s, trustDomain: _t, overlay: _o, sidecarId: _i, statsIntervalMs: _m, backoff: _b, firstStateTimeoutMs: _f, bundleSigners: _k, credential: _c, ...sidecarOpts } = o;
  try {
    sidecar = await startSidecar({ ...sidecarOpts, config: pendingConfig as SidecarConfig, tls });
  } catch (e) {
    client.stop();
    throw e;
  }
  // A state that arrived while the listeners were starting.
  const latest = client.latest;
  if (latest && latest.version !== appliedVersion) onState(latest);
  const s = sidecar;
  scrapedLabelledCounter(s.metrics.registry, 'meshfed_trust_bundles_refused_total', 'Relayed trust bundles refused, by code (unsigned, unknown signer, bad signature, no roots, stale, invalid)', ['code'], () => bundles.refusals());
  return {
    sidecar: s,
    intake: () => ({
      appliedVersion, connected: client.connected, stale: client.latest?.stale ?? true, connects: client.connects,
      certificate: client.certificate, certificatesInstalled, statesRefused, trustBundle: bundles.status(),
    }),
    async close() {
      client.stop();
      await s.close();
    },
  };
}

/** How a gateway subscribes: it names only its zone; the agent answers with states and never signs for it. */
export interface GatewaySubscriptionOptions {
  /** host:port of the zone agent's relay. */
  readonly agent: string;
  readonly zone: string;
  /** Fills the config's trust domain until the agent relays one; a gateway verifies no peer, so it only has to be valid. */
  readonly trustDomain?: string;
  /** Hosts, ports and subsets of services (what the SNI names), when they differ from the defaults; see RelayOverlay. */
  readonly overlay?: RelayOverlay;
  readonly sidecarId?: string;
  readonly backoff?: RelayBackoff;
  readonly logger: Logger;
}

/** Status of a gateway's relay intake. */
export interface GatewayIntake {
  readonly agent: string;
  /** Version of the relay state last applied ('' before the first). */
  readonly appliedVersion: string;
  readonly connected: boolean;
  readonly stale: boolean;
  readonly connects: number;
  readonly statesRefused: number;
}

/**
 * Opens a gateway subscription; `apply` gets the config of every relayed state that translates. Invariant
 * (fail-static): a state that does not translate, or a lost agent, leaves the last applied config in force.
 */
function subscribeGateway(o: GatewaySubscriptionOptions, apply: (cfg: SidecarConfig) => void): { client: AgentRelayClient; first: Promise<void>; intake: () => GatewayIntake } {
  let appliedVersion = '';
  let statesRefused = 0;
  let ready: () => void = () => {};
  const first = new Promise<void>((r) => (ready = r));
  const trustDomain = o.trustDomain ?? 'cluster.local';
  const client = new AgentRelayClient({
    role: 'gateway', agent: o.agent, zone: o.zone,
    sidecarId: o.sidecarId ?? `gateway@${hostname()}:${process.pid}`, logger: o.logger,
    ...(o.backoff ? { backoff: o.backoff } : {}),
    onConnected: (up) => o.logger.info({ agent: o.agent, connected: up }, up ? 'gateway subscribed to the zone agent' : 'zone agent lost; the gateway routes by the last state'),
    onState: (state) => {
      const cfg = relayStateToConfig(state, o.zone, trustDomain, o.overlay);
      if (!cfg.ok) {
        statesRefused++;
        o.logger.error({ version: state.version, problems: cfg.error }, 'relayed state refused by the gateway; keeping the last routes');
        return;
      }
      apply(cfg.value);
      appliedVersion = state.version;
      ready();
    },
  });
  const intake = (): GatewayIntake => ({
    agent: o.agent, appliedVersion, connected: client.connected, stale: client.latest?.stale ?? true, connects: client.connects, statesRefused,
  });
  return { client, first, intake };
}

/** A gateway process (listener + admin) fed by the zone agent's relay. */
export interface RelayedGateway extends GatewayProcess {
  intake(): GatewayIntake;
}

/**
 * Subscribes as a gateway, waits for the first usable state, then starts the gateway process on it; each later
 * state is applied with applyConfig. The gateway's /stats carries the intake under `relay`. The agent going away
 * leaves the last routes in force while the client reconnects with backoff.
 */
export async function startRelayedGateway(o: GatewaySubscriptionOptions & {
  readonly host: string; readonly port: number; readonly adminHost?: string; readonly adminPort?: number; readonly adminAuth?: AdminAuth;
  /** How long to wait for the first state before giving up (the gateway has no routes without it). */
  readonly firstStateTimeoutMs?: number;
}): Promise<RelayedGateway> {
  let gw: GatewayProcess | undefined;
  let latest: SidecarConfig | undefined;
  const sub = subscribeGateway(o, (cfg) => {
    latest = cfg;
    gw?.applyConfig(cfg);
  });
  sub.client.start();
  const timeoutMs = o.firstStateTimeoutMs ?? 60_000;
  await readyOrTimeout(sub.first, sub.client, timeoutMs, () => `no usable state from the zone agent at ${o.agent} within ${timeoutMs} ms (is it running, and is ${o.zone} its zone?)`);
  const startedWith = latest as SidecarConfig;
  try {
    gw = await startGatewayProcess({
      zone: o.zone, host: o.host, port: o.port, logger: o.logger, config: startedWith, status: () => ({ relay: sub.intake() }), adminAuth: o.adminAuth,
      ...(o.adminHost !== undefined ? { adminHost: o.adminHost } : {}), ...(o.adminPort !== undefined ? { adminPort: o.adminPort } : {}),
    });
  } catch (e) {
    sub.client.stop();
    throw e;
  }
  // A state that arrived while the listeners were starting.
  if (latest && latest !== startedWith) gw.applyConfig(latest);
  const p = gw;
  return {
    gateway: p.gateway, adminPort: p.adminPort, applyConfig: (cfg) => p.applyConfig(cfg), intake: sub.intake,
    async close() {
      sub.client.stop();
      await p.close();
    },
  };
}
