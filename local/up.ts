// Brings a whole local federation up (trust, store, balancers, agents, gateways, zones with the shop) and takes it down again.
import 'reflect-metadata';
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createIntermediateCa, createRootCa, issueWorkload, readPluginCaDir, readRootDir, writePluginCaDir, writeRootDir, type KeyedCert,
} from '../trust/index.ts';
import type { Topology } from '../api/topology.ts';
import { etcdAvailable, startEtcd, type EtcdServer } from './etcd.ts';
import { freePorts } from './ports.ts';
import { buildPlan, defaultPolicies, frontendUrl, gatewayArgs, meshService, relayOverlayFor, staticDiscoveryFor, type FederationPlan, type ShopLayout } from './plan.ts';
import { isAlive, Supervisor } from './supervisor.ts';
import { readUpState, upStatePath, writeUpState, type UpState } from './state.ts';
import { hopZones, type SampleReply } from './sample-app.ts';
import { localError } from './errors.ts';
import { MeshfedError } from '../common/errors.ts';

/** The meshfed CLI entry point, run with this same Node binary for every child. */
const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'meshfed.ts');

export interface UpOptions {
  readonly stateDir: string;
  readonly topology: Topology;
  readonly layout: ShopLayout;
  /** Prints one progress line. */
  readonly print: (line: string) => void;
  /** 'auto' uses etcd when the binary runs, else the in-process store. */
  readonly store?: 'auto' | 'etcd' | 'memory';
  /** Hands out n free loopback ports for the plan (default freePorts; injected by tests to make a port busy). */
  readonly ports?: (n: number) => Promise<number[]>;
}

/** A running federation. */
export interface Federation {
  readonly state: UpState;
  readonly plan: FederationPlan;
  /** Resolves when a component exits on its own (the federation is then broken). */
  readonly crashed: Promise<string>;
  /**
   * Stops every process and removes the temporary state (the trust root stays). With keepLogs the component logs
   * stay in the log directory, for a federation that broke. Idempotent: the first call's choice holds.
   */
  stop(opts?: { keepLogs?: boolean }): Promise<void>;
}

async function httpOk(url: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** Creates the root on first run and one intermediate per cluster; reuses them later. */
async function ensureTrust(trustDir: string, trustDomain: string, clusters: readonly string[], print: (l: string) => void): Promise<{ root: KeyedCert; caDirs: Map<string, string> }> {
  const rootDir = join(trustDir, 'root');
  let root: KeyedCert;
  if (existsSync(join(rootDir, 'root-cert.pem'))) {
    root = readRootDir(rootDir);
    print(`  trust       reusing root CA in ${rootDir}`);
  } else {
    root = await createRootCa({ trustDomain });
    writeRootDir(rootDir, root);
    print(`  trust       created root CA for ${trustDomain} in ${rootDir} (kept by meshfed down)`);
  }
  const caDirs = new Map<string, string>();
  for (const cluster of clusters) {
    const dir = join(trustDir, cluster);
    if (!existsSync(join(dir, 'ca-cert.pem'))) {
      writePluginCaDir(dir, await createIntermediateCa({ root, cluster, trustDomain }));
      print(`  trust       created intermediate CA for cluster ${cluster}`);
    } else {
      const ca = readPluginCaDir(dir);
      if (ca.rootPem.trim() !== root.certPem.trim()) throw localError('MESHFED_E_UP_TRUST_MISMATCH', `${dir} was signed by another root than ${rootDir}; remove ${trustDir} to start over`);
    }
    caDirs.set(cluster, dir);
  }
  return { root, caDirs };
}

/**
 * Starts everything. Invariant: on a thrown error nothing started is left running (components are stopped, etcd is
 * stopped, the run directory removed); a StartError names the component and its log.
 */
export async function startFederation(opts: UpOptions): Promise<Federation> {
  const stateDir = resolve(opts.stateDir);
  const print = opts.print;
  const previous = readUpState(stateDir);
  if (previous && isAlive(previous.pid) && previous.pid !== process.pid) {
    throw localError('MESHFED_E_UP_ALREADY_RUNNING', `a federation is already running from ${upStatePath(stateDir)} (pid ${previous.pid}); run meshfed down first`);
  }
  const runDir = join(stateDir, 'run');
  rmSync(runDir, { recursive: true, force: true });
  const logDir = join(runDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const supervisor = new Supervisor(logDir);
  let etcd: EtcdServer | undefined;
  let stopped: Promise<void> | undefined;
  const stop = (o: { keepLogs?: boolean } = {}) => (stopped ??= (async () => {
    await supervisor.stopAll();
    await etcd?.stop();
    removeRunDir(runDir, o.keepLogs === true);
    const current = readUpStateQuiet(stateDir);
    if (current === undefined || current.pid === process.pid) rmSync(upStatePath(stateDir), { force: true });
  })());
  let crashedResolve: (name: string) => void = () => {};
  const crashed = new Promise<string>((r) => (crashedResolve = r));
  supervisor.onExit((name, code, signal) => crashedResolve(`${name} exited (${signal ?? `code ${code}`}); see its log in ${logDir}`));

  try {
    const trustDomain = opts.topology.trustDomain;
    const clusters = opts.topology.clusters.map((c) => c.name);
    const { caDirs } = await ensureTrust(join(stateDir, 'trust'), trustDomain, clusters, print);

    // The store: a real etcd when there is one, else one replica with the in-process store.
    const wantEtcd = opts.store === 'etcd' || (opts.store !== 'memory' && etcdAvailable());
    if (wantEtcd) {
      etcd = await startEtcd({ parentDir: runDir });
      print(`  etcd        ${etcd.endpoints.join(',')} (pid ${etcd.pid()})`);
    } else {
      print('  etcd        not found on PATH: using the embedded in-memory store with ONE global-lb replica');
      print('              (replicas cannot share an in-process store; install etcd for two: apt-get install -y etcd-server)');
    }
    const replicas = etcd ? 2 : 1;

    // Ports are chosen up front so every file can name them; a port taken in between makes that component fail to start, loudly.
    let needed = 0;
    buildPlan(opts.topology, opts.layout, replicas, () => ++needed);
    const ports = await (opts.ports ?? freePorts)(needed);
    let next = 0;
    const plan = buildPlan(opts.topology, opts.layout, replicas, () => ports[next++]!);
    const planFile = join(runDir, 'plan.json');
    writeFileSync(planFile, JSON.stringify(plan, null, 2));
    const overlayFile = join(runDir, 'overlay.json');
    writeFileSync(overlayFile, JSON.stringify(relayOverlayFor(plan), null, 2));

    // A certificate for the balancers, from the first cluster's intermediate: agents check its SPIFFE ID.
    const lbDir = join(runDir, 'global-lb');
    mkdirSync(lbDir, { recursive: true });
    const firstCa = readPluginCaDir(caDirs.get(clusters[0]!)!);
    const lbCert = await issueWorkload(firstCa, `spiffe://${trustDomain}/meshfed/global-lb`, { usages: ['server', 'client'] });
    writeFileSync(join(lbDir, 'chain.pem'), lbCert.chainPem);
    writeFileSync(join(lbDir, 'key.pem'), lbCert.keyPem, { mode: 0o600 });
    writeFileSync(join(lbDir, 'bundle.pem'), firstCa.rootPem);

    for (let i = 0; i < replicas; i++) {
      const admin = plan.adminUrls[i]!;
      await supervisor.start({
        name: `global-lb-${i + 1}`, command: process.execPath,
        args: [CLI, 'global-lb', ...(etcd ? ['--etcd', etcd.endpoints.join(',')] : ['--store', 'memory']),
          '--grpc-listen', plan.grpcAddresses[i]!, '--admin-listen', admin.replace('http://', ''), '--replica-id', `global-lb-${i + 1}`,
          '--tls-cert', join(lbDir, 'chain.pem'), '--tls-key', join(lbDir, 'key.pem'), '--tls-bundle', join(lbDir, 'bundle.pem'), '--trust-domain', trustDomain],
        ready: () => httpOk(`${admin}/healthz`),
      });
      print(`  global-lb   replica ${i + 1}: admin ${admin}, federation ${plan.grpcAddresses[i]}`);
    }
    await waitUntil('a global-lb replica to be ready', 30_000, async () => (await Promise.all(plan.adminUrls.map((u) => httpOk(`${u}/readyz`)))).some(Boolean));
    for (const p of defaultPolicies()) {
      await waitUntil(`policy ${p.namespace}/${p.name} to be accepted`, 15_000, () => putJson(`${plan.adminUrls[0]}/v1/policies/${p.namespace}/${p.name}`, p.body));
    }
    print(`  policies    ${defaultPolicies().map((p) => `${p.namespace}/${p.name}`).join(', ')} (catalog: 70% us-east-1a / 30% europe-west1-b from us-east-1a)`);

    for (const z of plan.zones) {
      const zoneDir = join(runDir, 'zones', z.zone);
      mkdirSync(zoneDir, { recursive: true });
      const staticFile = join(zoneDir, 'static.json');
      writeFileSync(staticFile, JSON.stringify(staticDiscoveryFor(plan, z.zone), null, 2));
      const agentAdmin = `http://127.0.0.1:${z.agentAdminPort}`;
      await supervisor.start({
        name: `agent-${z.zone}`, command: process.execPath,
        args: [CLI, 'zone-agent', '--zone', `${z.cloud}/${z.region}/${z.zone}`, '--cluster', z.cluster, '--network', z.network,
          '--global-lb', plan.grpcAddresses.join(','), '--static', staticFile, '--ca', caDirs.get(z.cluster)!, '--trust-domain', trustDomain,
          '--gateway', `127.0.0.1:${z.gatewayPort}`, '--relay-listen', `127.0.0.1:${z.agentRelayPort}`, '--admin-listen', `127.0.0.1:${z.agentAdminPort}`,
          '--state-dir', join(zoneDir, 'agent-state')],
        ready: () => httpOk(`${agentAdmin}/healthz`),
      });
      print(`  agent       ${z.zone}: admin ${agentAdmin}`);
      // The gateway needs the agent's relay for its routes, and must route before the shop reports ready (cross-network calls land on it).
      const gatewayAdmin = `http://127.0.0.1:${z.gatewayAdminPort}`;
      await supervisor.start({
        name: `gateway-${z.zone}`, command: process.execPath, args: [CLI, ...gatewayArgs(z, overlayFile)],
        ready: () => httpOk(`${gatewayAdmin}/ready`),
        readyTimeoutMs: 60_000,
      });
      print(`  gateway     ${z.zone}: listen 127.0.0.1:${z.gatewayPort}, admin ${gatewayAdmin}`);
      await supervisor.start({
        name: `shop-${z.zone}`, command: process.execPath,
        args: [CLI, 'sample-app', '--plan', planFile, '--zone', z.zone],
        ready: async () => (await Promise.all(z.instances.map((i) => httpOk(`http://127.0.0.1:${i.adminPort}/ready`)))).every(Boolean),
        readyTimeoutMs: 60_000,
      });
      const counts = new Map<string, number>();
      for (const i of z.instances) counts.set(i.service, (counts.get(i.service) ?? 0) + 1);
      print(`  shop        ${z.zone}: ${[...counts].map(([s, n]) => `${s} x${n}`).join(', ')}`);
    }

    // Ready means: every zone reported, tables exist for every service, and each frontend answers through the whole chain.
    await waitUntil('weight tables for every zone', 60_000, async () => {
      const res = await fetch(`${plan.adminUrls[0]}/v1/weights`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
      if (!res?.ok) return false;
      const body = (await res.json()) as { tables: { service: string; rows: { sourceZone: string }[] }[] };
      return opts.layout.services.every((s) => {
        const t = body.tables.find((x) => x.service === meshService(s.name));
        return t !== undefined && plan.zones.every((z) => t.rows.some((r) => r.sourceZone === z.zone));
      });
    });
    for (const z of plan.zones) {
      const url = frontendUrl(z);
      if (url === undefined) continue;
      await waitUntil(`${z.zone}'s frontend to answer through the whole chain`, 30_000, async () => {
        const res = await fetch(url, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
        if (!res?.ok) return false;
        return hopZones((await res.json()) as SampleReply).length === opts.layout.services.length;
      });
    }

    const state: UpState = {
      version: 1, pid: process.pid, startedAt: new Date().toISOString(), store: etcd ? 'etcd' : 'memory',
      adminUrl: plan.adminUrls[0]!, adminUrls: [...plan.adminUrls], metricsUrls: [...plan.adminUrls.map((u) => `${u}/metrics`), ...plan.zones.map((z) => `http://127.0.0.1:${z.agentAdminPort}/metrics`), ...plan.zones.map((z) => `http://127.0.0.1:${z.gatewayAdminPort}/metrics`)],
      logDir, runDir,
      zones: plan.zones.map((z) => ({
        name: z.zone, locality: `${z.cloud}/${z.region}/${z.zone}`, ...(frontendUrl(z) ? { frontendUrl: frontendUrl(z)! } : {}),
        agentAdminUrl: `http://127.0.0.1:${z.agentAdminPort}`, gateway: `127.0.0.1:${z.gatewayPort}`, gatewayAdminUrl: `http://127.0.0.1:${z.gatewayAdminPort}`,
        sidecars: z.instances.map((i) => ({ service: meshService(i.service), version: i.version, instance: i.instance, adminUrl: `http://127.0.0.1:${i.adminPort}` })),
      })),
      components: [
        ...(etcd && etcd.pid() !== undefined ? [{ name: 'etcd', pid: etcd.pid()!, logFile: '(stderr of meshfed up)' }] : []),
        ...supervisor.list(),
      ],
    };
    writeUpState(stateDir, state);
    return { state, plan, crashed, stop };
  } catch (e) {
    // The error names a component's log: keep the logs so the user can read it.
    await stop({ keepLogs: true });
    throw e;
  }
}

/** Removes the run directory, or everything in it but the logs. */
function removeRunDir(runDir: string, keepLogs: boolean): void {
  if (!keepLogs) {
    rmSync(runDir, { recursive: true, force: true });
    return;
  }
  for (const entry of existsSync(runDir) ? readdirSync(runDir) : []) {
    if (entry !== 'logs') rmSync(join(runDir, entry), { recursive: true, force: true });
  }
}

function readUpStateQuiet(stateDir: string): UpState | undefined {
  try {
    return readUpState(stateDir);
  } catch {
    return undefined;
  }
}

/** PUTs a policy; a 400 is a verdict (thrown), anything else false until the balancer accepts it. */
async function putJson(url: string, body: unknown): Promise<boolean> {
  const res = await fetch(url, { method: 'PUT', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  if (res.status === 400) throw localError('MESHFED_E_UP_POLICY_REJECTED', `${url}: ${text}`);
  return res.ok;
}

/**
 * Polls `check` every 200 ms until true; throws naming `what` after the deadline. A MeshfedError from `check` is a
 * verdict and is thrown at once; any other error (a refused connection, a half-written body) counts as not yet.
 */
export async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const notYet = (e: unknown) => {
    if (e instanceof MeshfedError) throw e;
    return false;
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(notYet)) return;
    if (Date.now() > deadline) throw localError('MESHFED_E_UP_TIMEOUT', `timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

/** The closing summary `meshfed up` prints. */
export function summary(state: UpState): string {
  const lines = [
    '',
    `meshfed is up: ${state.zones.length} zones, ${state.adminUrls.length} global-lb replica(s) on ${state.store === 'etcd' ? 'etcd' : 'the embedded store'}`,
    '',
    `  admin API    ${state.adminUrl}   (export MESHFED_ADMIN=${state.adminUrl} is not needed: commands read ${'.meshfed/up.json'})`,
    `  metrics      ${state.metricsUrls.join('\n               ')}`,
    '  frontends',
    ...state.zones.filter((z) => z.frontendUrl).map((z) => `    ${z.name.padEnd(16)} ${z.frontendUrl}`),
    `  logs         ${state.logDir}`,
    '',
    'Try:',
    `  curl -s ${state.zones.find((z) => z.frontendUrl)?.frontendUrl ?? ''}      # one request: which zone served each hop`,
    '  meshfed status',
    '  meshfed weights catalog --explain',
    '  meshfed drain europe-west1-b   &&   meshfed undrain europe-west1-b',
    '  meshfed fault set --zone us-east-1a --service catalog --abort 503 --percent 50',
    '  meshfed down                       # or Ctrl-C here',
    '',
  ];
  return lines.join('\n');
}
