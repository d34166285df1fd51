// The HAProxy adapter: subscribes to the zone agent like a sidecar, renders and runs HAProxy, and keeps its weights, certificates and stats in step.
import { hostname } from 'node:os';
import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { RelayState__Output } from '../api/generated/meshfed/v1/RelayState.ts';
import { describeError, MeshfedError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { splitPem } from '../trust/pem.ts';
import { AgentRelayClient, type IssuedCertificate, type RelayBackoff } from '../sidecar/relay/client.ts';
import { relayStateToConfig, type RelayOverlay } from '../sidecar/relay/translate.ts';
import { NO_TOTALS, windowStats, type Totals } from '../sidecar/relay/stats.ts';
import { buildProxyModel, knownEndpoints, type ProxyModel } from './model.ts';
import { renderHaproxyConfig, type RenderOptions } from './render.ts';
import { planChange } from './diff.ts';
import { unsupportedParts } from './unsupported.ts';
import { RuntimeApi } from './runtime-api.ts';
import { startHaproxy, type HaproxyProcess } from './haproxy.ts';
import { parseShowStat, totalsFromStat } from './stats.ts';
import { proxyError } from './errors.ts';

export interface HaproxyAdapterOptions {
  readonly service: string;
  readonly zone: string;
  /** host:port of the zone agent's relay. */
  readonly agent: string;
  readonly trustDomain: string;
  readonly serviceAccount?: string;
  /** The join token proving this workload's identity to an agent that attests workloads. */
  readonly credential?: string;
  readonly overlay?: RelayOverlay;
  readonly host: string;
  readonly appPort: number;
  readonly inboundPort: number;
  readonly outboundPort: number;
  readonly adminPort: number;
  /** Where haproxy.cfg, the certificate files and the sockets go (created). */
  readonly workDir: string;
  readonly haproxyBin: string;
  readonly sidecarId?: string;
  readonly statsIntervalMs?: number;
  readonly backoff?: RelayBackoff;
  readonly firstStateTimeoutMs?: number;
  readonly logger: Logger;
}

/** The adapter's intake and what it did to HAProxy, for status and tests. */
export interface AdapterStatus {
  readonly appliedVersion: string;
  readonly connected: boolean;
  readonly statesRefused: number;
  readonly runtimeCommands: number;
  readonly reloads: number;
  readonly certificatesInstalled: number;
  readonly lastProblem: string | undefined;
}

export interface HaproxyAdapter {
  readonly haproxy: HaproxyProcess;
  readonly files: RenderOptions & { readonly configFile: string; readonly masterSocket: string };
  status(): AdapterStatus;
  /** Resolves once every state and certificate received so far is applied. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/** cert chain + key in one file, as HAProxy's `crt` wants it. */
function crtPem(cert: IssuedCertificate): string {
  return `${cert.certChainPem.trim()}\n${cert.keyPem.trim()}\n`;
}

/** The roots HAProxy verifies peers with: the relayed bundle's and those that came with our certificate. */
function caPem(state: RelayState__Output | undefined, cert: IssuedCertificate): string {
  const roots = [...new Set([...(state?.trust_bundle?.root_pems ?? []).flatMap(splitPem), ...splitPem(cert.rootsPem)].map((p) => p.trim()))];
  return `${roots.join('\n')}\n`;
}

/** Writes a file by rename, so HAProxy (or a reload) never reads half of it. */
function writeAtomic(file: string, text: string, mode = 0o600): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, file);
}

/** The relayed state as HAProxy config input, or the problems (translation, or what HAProxy cannot express). */
function translate(state: RelayState__Output, o: HaproxyAdapterOptions): { ok: true; model: ProxyModel } | { ok: false; problems: string } {
  const r = relayStateToConfig(state, o.zone, o.trustDomain, o.overlay);
  if (!r.ok) return { ok: false, problems: r.error };
  const bad = unsupportedParts(r.value, `relay state ${state.version}`);
  return bad.length > 0 ? { ok: false, problems: bad.join('; ') } : { ok: true, model: buildProxyModel(r.value, o.zone, knownEndpoints(state.zones)) };
}

/**
 * Subscribes to the agent (the same workload subscription, CSR and fail-static as `meshfed sidecar --agent`),
 * waits for the first usable state and certificate, writes haproxy.cfg and the certificate files, starts HAProxy
 * and then applies every state through the Runtime API. Invariants: a weight, tier or endpoint change never
 * reloads HAProxy; a state HAProxy cannot express, or a lost agent, leaves the last applied model in force; changes
 * are applied one at a time in arrival order. The first state is checked strictly: what HAProxy cannot express
 * stops the start with a path-named MESHFED_E_PROXY_UNSUPPORTED.
 */
export async function startHaproxyAdapter(o: HaproxyAdapterOptions): Promise<HaproxyAdapter> {
  const [namespace, name] = o.service.split('/') as [string, string];
  const logger = o.logger;
  mkdirSync(o.workDir, { recursive: true, mode: 0o700 });
  const files = {
    host: o.host, outboundPort: o.outboundPort, inboundPort: o.inboundPort, adminPort: o.adminPort, appPort: o.appPort,
    adminSocket: join(o.workDir, 'admin.sock'), masterSocket: join(o.workDir, 'master.sock'),
    certFile: join(o.workDir, 'workload.pem'), caFile: join(o.workDir, 'bundle.pem'), configFile: join(o.workDir, 'haproxy.cfg'),
  };
  const api = new RuntimeApi(files.adminSocket);
  let haproxy: HaproxyProcess | undefined;
  let applied: ProxyModel | undefined;
  let appliedVersion = '';
  let statesRefused = 0;
  let runtimeCommands = 0;
  let reloads = 0;
  let certificatesInstalled = 0;
  let lastProblem: string | undefined;
  let firstProblem: string | undefined;
  let firstCfg: ProxyModel | undefined;
  let firstCert: IssuedCertificate | undefined;
  let ca = '';
  let chain: Promise<void> = Promise.resolve();
  let ready: () => void = () => {};
  let failFirst: (e: Error) => void = () => {};
  const readyP = new Promise<void>((r, j) => { ready = r; failFirst = j; });
  const enqueue = (what: string, job: () => Promise<void>) => {
    chain = chain.then(job).catch((e) => {
      lastProblem = `${what}: ${describeError(e)}`;
      logger.error({ err: describeError(e) }, `${what} failed; HAProxy keeps what it had`);
    });
  };

  const applyModel = async (model: ProxyModel, version: string): Promise<void> => {
    const h = haproxy!;
    const change = planChange(applied!, model, files);
    writeAtomic(files.configFile, renderHaproxyConfig(model, files), 0o644);
    if (change.kind === 'runtime') {
      try {
        for (const c of change.commands) await api.exec(c);
        runtimeCommands += change.commands.length;
      } catch (e) {
        // A refused command (e.g. del server with connections left) is settled by a reload of the file just written.
        logger.warn({ err: describeError(e) }, 'a Runtime API command was refused; reloading HAProxy with the new file instead');
        await h.reload();
        reloads++;
      }
    } else if (change.kind === 'reload') {
      logger.info({ why: change.why, version }, 'the structure changed: seamless reload');
      await h.reload();
      reloads++;
    }
    applied = model;
    appliedVersion = version;
  };

  const onState = (state: RelayState__Output): void => {
    const t = translate(state, o);
    if (!t.ok) {
      statesRefused++;
      lastProblem = t.problems;
      if (!haproxy && !firstCfg) {
        firstProblem = t.problems;
        failFirst(proxyError('MESHFED_E_PROXY_UNSUPPORTED', `the first relayed state cannot run on HAProxy: ${t.problems}`, { details: t.problems.split('; ') }));
        return;
      }
      logger.error({ version: state.version, problems: t.problems }, 'relayed state refused; HAProxy keeps the last applied one');
      return;
    }
    if (!haproxy) {
      firstCfg = t.model;
      appliedVersion = state.version;
      if (firstCert) ready();
      return;
    }
    const model = t.model;
    enqueue(`applying relay state ${state.version}`, () => applyModel(model, state.version));
    if (client.certificate) {
      const next = caPem(state, client.certificate);
      if (next !== ca) enqueue('updating the trust bundle', () => installCa(next));
    }
  };

  const installCa = async (pem: string): Promise<void> => {
    writeAtomic(files.caFile, pem, 0o644);
    await api.exec(`set ssl ca-file ${files.caFile} <<\n${pem.trim()}\n`);
    await api.exec(`commit ssl ca-file ${files.caFile}`);
    ca = pem;
  };

  const onCertificate = (cert: IssuedCertificate): void => {
    if (!haproxy) {
      if (!cert.certChainPem.includes('BEGIN CERTIFICATE') || !cert.keyPem.includes('PRIVATE KEY')) throw new MeshfedError('MESHFED_E_PROXY_START_FAILED', 'the agent sent a certificate without a chain or key');
      firstCert = cert;
      certificatesInstalled++;
      if (firstCfg) ready();
      return;
    }
    enqueue('rotating the workload certificate', async () => {
      // The file first (a later reload reads it), then the in-memory swap: new handshakes use the new pair, open connections keep theirs.
      const pem = crtPem(cert);
      writeAtomic(files.certFile, pem);
      await api.exec(`set ssl cert ${files.certFile} <<\n${pem.trim()}\n`);
      await api.exec(`commit ssl cert ${files.certFile}`);
      certificatesInstalled++;
      logger.info({ spiffeId: cert.spiffeId, notAfter: new Date(cert.notAfterMs).toISOString() }, 'workload certificate rotated in HAProxy (set/commit ssl cert)');
      const next = caPem(client.latest, cert);
      if (next !== ca) await installCa(next);
    });
  };

  let prevTotals: Totals = NO_TOTALS;
  const stats = async () => {
    if (!haproxy || !applied) return { services: [], served: [] };
    const cur = totalsFromStat(parseShowStat(await api.show('show stat')), applied, o.service);
    const out = windowStats(prevTotals, cur);
    prevTotals = cur;
    return out;
  };

  const client = new AgentRelayClient({
    role: 'workload', agent: o.agent, namespace, service: name, serviceAccount: o.serviceAccount ?? name, zone: o.zone,
    sidecarId: o.sidecarId ?? `${o.service}@${hostname()}:${process.pid}:haproxy`,
    trustDomain: o.trustDomain, onState, onCertificate, stats, ...(o.credential !== undefined ? { credential: o.credential } : {}),
    onConnected: (up) => logger.info({ agent: o.agent, connected: up }, up ? 'subscribed to the zone agent' : 'zone agent lost; HAProxy keeps the last weights'),
    ...(o.statsIntervalMs !== undefined ? { statsIntervalMs: o.statsIntervalMs } : {}),
    ...(o.backoff ? { backoff: o.backoff } : {}),
    logger,
  });
  client.start();
  const timeoutMs = o.firstStateTimeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([readyP, new Promise<never>((_, j) => {
      timer = setTimeout(() => j(new MeshfedError('MESHFED_E_SIDECAR_RELAY_TIMEOUT', `no ${firstCfg ? 'certificate' : 'usable state'} from the zone agent at ${o.agent} within ${timeoutMs} ms${firstProblem ? ` (last refusal: ${firstProblem})` : ''}`)), timeoutMs);
    })]);
  } catch (e) {
    client.stop();
    throw e;
  } finally {
    clearTimeout(timer);
  }
  const cert = firstCert as IssuedCertificate;
  applied = firstCfg as ProxyModel;
  writeAtomic(files.certFile, crtPem(cert));
  ca = caPem(client.latest, cert);
  writeAtomic(files.caFile, ca, 0o644);
  writeAtomic(files.configFile, renderHaproxyConfig(applied, files), 0o644);
  try {
    haproxy = await startHaproxy({ bin: o.haproxyBin, configFile: files.configFile, adminSocket: files.adminSocket, masterSocket: files.masterSocket, logger });
  } catch (e) {
    client.stop();
    throw e;
  }
  const h = haproxy;
  let closing = false;
  void h.exited.then((why) => {
    if (!closing) logger.error({ why }, 'HAProxy exited');
  });
  // A state that arrived while HAProxy was starting.
  const latest = client.latest;
  if (latest && latest.version !== appliedVersion) onState(latest);
  if (client.certificate && client.certificate !== cert) onCertificate(client.certificate);
  return {
    haproxy: h,
    files,
    status: () => ({ appliedVersion, connected: client.connected, statesRefused, runtimeCommands, reloads, certificatesInstalled, lastProblem }),
    settled: () => chain,
    async close() {
      closing = true;
      client.stop();
      await chain;
      await h.stop();
    },
  };
}
