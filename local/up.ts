// Brings a whole local federation up (trust, store, balancers, agents, gateways, one process per app instance), keeps it up, and takes it down again.
import 'reflect-metadata';
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createIntermediateCa, createRootCa, issueWorkload, readPluginCaDir, readRootDir, writePluginCaDir, writeRootDir, type KeyedCert,
} from '../trust/index.ts';
import type { Topology } from '../api/topology.ts';
import { etcdAvailable, etcdBinary, etcdClientUrl, etcdHealthUrl, etcdHealthy, etcdMemberArgs, etcdPeerUrl } from './etcd.ts';
import { createEtcdPki, type EtcdPki } from './etcd-pki.ts';
import { createAdminTokens, type UpAdminTokens } from './admin-tokens.ts';
import { createJoinTokens } from './join-tokens.ts';
import { holdPorts, unheldPorts, type PortPool } from './ports.ts';
import { appComponent, buildPlan, componentPorts, defaultPolicies, frontendUrl, gatewayArgs, meshService, relayOverlayFor, SHOP_NAMESPACE, staticDiscoveryFor, type FederationPlan, type ShopLayout, type InstancePlan, planForInstance, type ShopPolicy, type ZonePlan } from './plan.ts';
import type { RestartPolicy } from './restart-policy.ts';
import { isAlive, Supervisor, type ComponentSpec } from './supervisor.ts';
import { readUpState, readUpStateQuiet, upAdminToken, upStatePath, writeUpState, type UpState } from './state.ts';
import { holdsDir, readHolds, removeHold } from './holds.ts';
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
  /** How many etcd members run on the etcd store, ETCD_MEMBER_COUNTS (default 1); each is a supervised component etcd-K. */
  readonly etcdMembers?: number;
  /** The policies applied at start (default defaultPolicies(), the built-in shop's). */
  readonly policies?: readonly ShopPolicy[];
  /** Backoff and budget of component restarts (default DEFAULT_RESTART_POLICY). */
  readonly restart?: RestartPolicy;
  /** Hands out n loopback ports for the plan, not held (default holdPorts, which holds them; injected by tests to make a port busy). */
  readonly ports?: (n: number) => Promise<number[]>;
  /** Aborts a start in progress (Ctrl-C of a chaos run): checked between steps; what started is stopped, as on any error. */
  readonly signal?: AbortSignal;
  /** The data plane of every app instance: the Node sidecar (default) or HAProxy driven by `meshfed proxy haproxy`'s adapter. */
  readonly proxy?: 'node' | 'haproxy';
}

/** The etcd cluster sizes `meshfed up` runs: odd, so a majority survives (3 tolerate one member down, 5 two). */
export const ETCD_MEMBER_COUNTS: readonly number[] = [1, 3, 5];

/** A running federation. */
export interface Federation {
  readonly state: UpState;
  readonly plan: FederationPlan;
  /** Resolves when a component keeps exiting and has spent its restart budget (the federation is then broken). */
  readonly crashed: Promise<string>;
  /** up.json as last written (pids and restarts change as components restart). */
  current(): UpState;
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

/** What a start shares between its steps: the run's files, the plan, and how ports are released to their binders. */
interface StartContext {
  readonly opts: UpOptions;
  readonly supervisor: Supervisor;
  readonly plan: FederationPlan;
  readonly pool: PortPool;
  readonly portsOf: Map<string, number[]>;
  readonly runDir: string;
  readonly overlayFile: string;
  readonly lbDir: string;
  readonly caDirs: Map<string, string>;
  /** Client URLs of every etcd member, or undefined on the embedded store. */
  readonly etcdEndpoints: readonly string[] | undefined;
  /** The certificates etcd members serve and require (etcd-pki/ in the run dir), or undefined on the embedded store. */
  readonly etcdPki: EtcdPki | undefined;
  /** Every admin port takes only these tokens (run/admin/): a read and a write one. */
  readonly adminTokens: UpAdminTokens;
  readonly policies: readonly ShopPolicy[];
}

/**
 * Starts everything. Invariant: on a thrown error nothing started is left running (components, etcd members among
 * them, are stopped, the run directory removed); a StartError names the component and its log. Once up, a component
 * that exits is restarted by the supervisor (up.json follows its new pid); `crashed` resolves only when one spends its budget.
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
  // `meshfed hold` writes one file per hold under run/holds (see local/holds.ts for why files).
  const holds = holdsDir(runDir);
  mkdirSync(holds, { recursive: true });
  const supervisor = new Supervisor(logDir, {
    print, ...(opts.restart ? { restart: opts.restart } : {}),
    holds: { read: () => readHolds(holds), remove: (h) => removeHold(holds, h) },
  });
  let pool: PortPool | undefined;
  let stopped: Promise<void> | undefined;
  let state: UpState | undefined;
  const stop = (o: { keepLogs?: boolean } = {}) => (stopped ??= (async () => {
    await supervisor.stopAll();
    await pool?.releaseAll();
    removeRunDir(runDir, o.keepLogs === true);
    const current = readUpStateQuiet(stateDir);
    if (current === undefined || current.pid === process.pid) rmSync(upStatePath(stateDir), { force: true });
  })());
  let crashedResolve: (name: string) => void = () => {};
  const crashed = new Promise<string>((r) => (crashedResolve = r));
  supervisor.onExit((name, code, signal) => crashedResolve(`${name} kept exiting (last: ${signal ?? `code ${code}`}) and spent its restart budget; see its log in ${logDir}`));
  // Restarts change pids: up.json follows, once it exists and until stop begins.
  supervisor.onChange(() => {
    if (state === undefined || stopped !== undefined) return;
    state = { ...state, components: componentsOf(supervisor) };
    writeUpState(stateDir, state);
  });

  try {
    const trustDomain = opts.topology.trustDomain;
    const clusters = opts.topology.clusters.map((c) => c.name);
    const { caDirs } = await ensureTrust(join(stateDir, 'trust'), trustDomain, clusters, print);

    const members = etcdMembersFor(opts, print);
    const replicas = members > 0 ? 2 : 1;

    // Ports are chosen up front so every file can name them, and held until their component starts (see holdPorts).
    let needed = 0;
    buildPlan(opts.topology, opts.layout, replicas, () => ++needed, members);
    pool = opts.ports ? unheldPorts(await opts.ports(needed)) : await holdPorts(needed);
    let next = 0;
    const plan = buildPlan(opts.topology, opts.layout, replicas, () => pool!.ports[next++]!, members);
    const planFile = join(runDir, 'plan.json');
    writeFileSync(planFile, JSON.stringify(plan, null, 2));
    const overlayFile = join(runDir, 'overlay.json');
    // HAProxy does not render canary routes (docs/native-proxies.md): its overlay leaves them out rather than being refused.
    writeFileSync(overlayFile, JSON.stringify(relayOverlayFor(plan, { routes: opts.proxy !== 'haproxy' }), null, 2));

    // A certificate for the balancers, from the first cluster's intermediate: agents check its SPIFFE ID.
    const lbDir = join(runDir, 'global-lb');
    mkdirSync(lbDir, { recursive: true });
    const firstCa = readPluginCaDir(caDirs.get(clusters[0]!)!);
    const lbCert = await issueWorkload(firstCa, `spiffe://${trustDomain}/meshfed/global-lb`, { usages: ['server', 'client'] });
    writeFileSync(join(lbDir, 'chain.pem'), lbCert.chainPem);
    writeFileSync(join(lbDir, 'key.pem'), lbCert.keyPem, { mode: 0o600 });
    writeFileSync(join(lbDir, 'bundle.pem'), firstCa.rootPem);

    const ctx: StartContext = {
      opts, supervisor, plan, pool, portsOf: componentPorts(plan), runDir, overlayFile, lbDir, caDirs,
      adminTokens: createAdminTokens(join(runDir, 'admin')),
      etcdEndpoints: members > 0 ? plan.etcdMembers.map(etcdClientUrl) : undefined, policies: opts.policies ?? defaultPolicies(),
      etcdPki: members > 0 ? await createEtcdPki(join(runDir, 'etcd-pki')) : undefined,
    };
    const step = () => {
      if (opts.signal?.aborted) throw localError('MESHFED_E_UP_ABORTED', `the start was aborted (${String(opts.signal.reason ?? 'abort')}); everything it started is stopped`);
    };
    await startEtcdMembers(ctx);
    step();
    await startBalancers(ctx);
    for (const z of plan.zones) {
      step();
      await startZone(ctx, z);
    }
    step();
    const entry = plan.layout.services[0]?.name ?? 'frontend';
    await waitServing(plan, entry, tokenIn(ctx.adminTokens.read));
    step();

    state = {
      version: 1, pid: process.pid, startedAt: new Date().toISOString(), store: ctx.etcdEndpoints ? 'etcd' : 'memory',
      ...(ctx.etcdEndpoints ? { etcdEndpoints: [...ctx.etcdEndpoints], etcdHealthUrls: plan.etcdMembers.map(etcdHealthUrl) } : {}),
      ...(ctx.etcdPki ? { etcdTls: ctx.etcdPki.client } : {}),
      adminTokens: { read: ctx.adminTokens.read, write: ctx.adminTokens.write },
      adminUrl: plan.adminUrls[0]!, adminUrls: [...plan.adminUrls], metricsUrls: [...plan.adminUrls.map((u) => `${u}/metrics`), ...plan.zones.map((z) => `http://127.0.0.1:${z.agentAdminPort}/metrics`), ...plan.zones.map((z) => `http://127.0.0.1:${z.gatewayAdminPort}/metrics`)],
      logDir, runDir,
      zones: plan.zones.map((z) => ({
        name: z.zone, locality: `${z.cloud}/${z.region}/${z.zone}`, ...(frontendUrl(z, entry) ? { frontendUrl: frontendUrl(z, entry)! } : {}),
        agentAdminUrl: `http://127.0.0.1:${z.agentAdminPort}`, gateway: `127.0.0.1:${z.gatewayPort}`, gatewayAdminUrl: `http://127.0.0.1:${z.gatewayAdminPort}`,
        sidecars: z.instances.map((i) => ({ service: meshService(i.service), version: i.version, instance: i.instance, adminUrl: `http://127.0.0.1:${i.adminPort}`, component: appComponent(z.zone, i.instance), appUrl: `http://127.0.0.1:${i.appPort}/` })),
      })),
      components: componentsOf(supervisor),
    };
    writeUpState(stateDir, state);
    return { state, plan, crashed, stop, current: () => state! };
  } catch (e) {
    // The error names a component's log: keep the logs so the user can read it.
    await stop({ keepLogs: true });
    throw e;
  }
}

/** Writes the plan with only this instance in its zone; returns its path. */
function writeInstancePlan(zoneDir: string, plan: FederationPlan, z: ZonePlan, instance: InstancePlan): string {
  const file = join(zoneDir, `${instance.instance}.plan.json`);
  writeFileSync(file, JSON.stringify(planForInstance(plan, z.zone, instance.instance), null, 2));
  return file;
}

/** Ready means: every zone reported, tables exist for every service, and each entry instance answers through the whole chain. */
async function waitServing(plan: FederationPlan, entry: string, readToken: string): Promise<void> {
  await waitUntil('weight tables for every zone', 60_000, async () => {
    const res = await fetch(`${plan.adminUrls[0]}/v1/weights`, { signal: AbortSignal.timeout(2000), headers: { authorization: `Bearer ${readToken}` } }).catch(() => undefined);
    if (!res?.ok) return false;
    const body = (await res.json()) as { tables: { service: string; rows: { sourceZone: string }[] }[] };
    return plan.layout.services.every((s) => {
      const t = body.tables.find((x) => x.service === meshService(s.name));
      return t !== undefined && plan.zones.every((z) => t.rows.some((r) => r.sourceZone === z.zone));
    });
  });
  const hops = chainLength(plan.layout, entry);
  for (const z of plan.zones) {
    const url = frontendUrl(z, entry);
    if (url === undefined) continue;
    await waitUntil(`${z.zone}'s ${entry} to answer through the whole chain`, 30_000, async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
      if (!res?.ok) return false;
      return hopZones((await res.json()) as SampleReply).length === hops;
    });
  }
}

/** How many services a request to `entry` passes through (the schema refuses loops). */
function chainLength(layout: ShopLayout, entry: string): number {
  let n = 0;
  for (let cur: string | undefined = entry; cur !== undefined && n <= layout.services.length; n++) cur = layout.services.find((s) => s.name === cur)?.upstream;
  return n;
}

/** up.json's components: every supervised component (etcd-K members first, in start order) with its restarts and hold. */
function componentsOf(supervisor: Supervisor): UpState['components'] {
  return supervisor.list().map(({ hold, ...c }) => ({
    ...c, ...(hold !== undefined ? { hold: { ...hold, since: new Date(hold.since).toISOString(), until: new Date(hold.until).toISOString() } } : {}),
  }));
}

/**
 * How many etcd members to run: 0 for the embedded store (said so, with how to get etcd), else opts.etcdMembers.
 * A cluster (more than one member) was asked for by name, so 'auto' does not fall back to the embedded store for it.
 */
function etcdMembersFor(opts: UpOptions, print: (line: string) => void): number {
  const members = opts.etcdMembers ?? 1;
  if (!ETCD_MEMBER_COUNTS.includes(members)) throw new Error(`etcdMembers: ${members} is not one of ${ETCD_MEMBER_COUNTS.join(', ')}`);
  if (opts.store === 'memory') return 0;
  if (etcdAvailable()) return members;
  if (opts.store === 'etcd' || members > 1) {
    throw localError('MESHFED_E_UP_ETCD_MISSING', `${etcdBinary()} does not run (not on PATH?); install it (apt-get install -y etcd-server) or set MESHFED_ETCD_BIN, or run on the embedded store with --store memory`);
  }
  print('  etcd        not found on PATH: using the embedded in-memory store with ONE global-lb replica');
  print('              (replicas cannot share an in-process store; install etcd for two: apt-get install -y etcd-server)');
  return 0;
}

/**
 * The etcd members, each a supervised component etcd-K with its own data dir (run/etcd/etcd-K), ports and log, all
 * started together: a member of a cluster is healthy only once a majority has formed, so starting them one by one
 * would wait forever on the first. A member that exits is restarted on the same data dir and ports and rejoins.
 */
async function startEtcdMembers(ctx: StartContext): Promise<void> {
  const { plan, opts } = ctx;
  const members = plan.etcdMembers;
  if (members.length === 0) return;
  // One token per run: members never take a member of another run's cluster (on reused ports) for a peer.
  const clusterToken = `meshfed-${process.pid}-${Date.now().toString(36)}`;
  const started = await Promise.allSettled(members.map((m) => {
    const dataDir = join(ctx.runDir, 'etcd', m.name);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    return startOnPorts(ctx, {
      name: m.name, command: etcdBinary(), args: etcdMemberArgs(m, members, { dataDir, clusterToken, ...(ctx.etcdPki ? { tls: ctx.etcdPki.server } : {}) }),
      ready: () => etcdHealthy(etcdHealthUrl(m)),
      readyTimeoutMs: 60_000,
      busyPortRetries: 5,
    });
  }));
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  const pids = new Map(ctx.supervisor.list().map((c) => [c.name, c.pid]));
  for (const m of members) opts.print(`  etcd        ${m.name}: client ${etcdClientUrl(m)}, peer ${etcdPeerUrl(m)}, health ${etcdHealthUrl(m)}/health (pid ${pids.get(m.name)})`);
  if (ctx.etcdPki) opts.print(`              client certificates required (CA ${ctx.etcdPki.client.ca}; meshfed's own: ${ctx.etcdPki.client.cert})`);
}

/** Starts a component on its planned ports, releasing their holders just before it binds them. */
async function startOnPorts(ctx: StartContext, spec: ComponentSpec): Promise<void> {
  await ctx.pool.release(ctx.portsOf.get(spec.name) ?? []);
  await ctx.supervisor.start(spec);
}

/** The global-lb replicas, then the shop's policies (applied again whenever a replica restarts: the embedded store forgets them). */
async function startBalancers(ctx: StartContext): Promise<void> {
  const { plan, etcdEndpoints, etcdPki, lbDir, opts } = ctx;
  const etcdTls = etcdPki ? ['--etcd-ca', etcdPki.client.ca, '--etcd-cert', etcdPki.client.cert, '--etcd-key', etcdPki.client.key] : [];
  const trustDomain = plan.trustDomain;
  const apply = async (admin: string) => {
    for (const p of ctx.policies) {
      await waitUntil(`policy ${p.namespace}/${p.name} to be accepted`, 15_000, () => putJson(`${admin}/v1/policies/${p.namespace}/${p.name}`, p.body, tokenIn(ctx.adminTokens.write)));
    }
  };
  for (let i = 0; i < plan.adminUrls.length; i++) {
    const admin = plan.adminUrls[i]!;
    await startOnPorts(ctx, {
      name: `global-lb-${i + 1}`, command: process.execPath,
      args: [CLI, 'global-lb', ...(etcdEndpoints ? ['--etcd', etcdEndpoints.join(','), ...etcdTls] : ['--store', 'memory']),
        '--grpc-listen', plan.grpcAddresses[i]!, '--admin-listen', admin.replace('http://', ''), '--replica-id', `global-lb-${i + 1}`,
        '--tls-cert', join(lbDir, 'chain.pem'), '--tls-key', join(lbDir, 'key.pem'), '--tls-bundle', join(lbDir, 'bundle.pem'), '--trust-domain', trustDomain,
        '--admin-tokens', ctx.adminTokens.file],
      ready: () => httpOk(`${admin}/healthz`),
      afterRestart: async () => {
        await waitUntil(`global-lb-${i + 1} to be ready`, 30_000, () => httpOk(`${admin}/readyz`));
        if (!etcdEndpoints) await apply(admin);
      },
    });
    opts.print(`  global-lb   replica ${i + 1}: admin ${admin}, federation ${plan.grpcAddresses[i]}`);
  }
  await waitUntil('a global-lb replica to be ready', 30_000, async () => (await Promise.all(plan.adminUrls.map((u) => httpOk(`${u}/readyz`)))).some(Boolean));
  await apply(plan.adminUrls[0]!);
  opts.print(`  policies    ${ctx.policies.map((p) => `${p.namespace}/${p.name}`).join(', ')}${describeDistribution(ctx.policies)}`);
}

/** " (catalog: 70% us-east-1a / 30% europe-west1-b from us-east-1a)" for the policies that distribute, else "". */
export function describeDistribution(policies: readonly ShopPolicy[]): string {
  const parts: string[] = [];
  for (const p of policies) {
    const rules = p.body['distribute'];
    if (!Array.isArray(rules)) continue;
    for (const r of rules as { from: string; to: Record<string, number> }[]) {
      parts.push(`${p.name}: ${Object.entries(r.to).map(([zone, pct]) => `${pct}% ${zone}`).join(' / ')} from ${r.from}`);
    }
  }
  return parts.length > 0 ? ` (${parts.join('; ')})` : '';
}

/** One zone: its agent, then its gateway, then every app instance (each its own process), started together. */
async function startZone(ctx: StartContext, z: ZonePlan): Promise<void> {
  const { plan, opts } = ctx;
  const trustDomain = plan.trustDomain;
  const zoneDir = join(ctx.runDir, 'zones', z.zone);
  mkdirSync(zoneDir, { recursive: true });
  const staticFile = join(zoneDir, 'static.json');
  writeFileSync(staticFile, JSON.stringify(staticDiscoveryFor(plan, z.zone), null, 2));
  const agentAdmin = `http://127.0.0.1:${z.agentAdminPort}`;
  // Each workload proves its service account to the agent with a join token of its own (docs/security.md).
  const joinDir = join(zoneDir, 'join');
  const joinTokens = createJoinTokens(joinDir, SHOP_NAMESPACE, z.instances.map((i) => i.service));
  await startOnPorts(ctx, {
    name: `agent-${z.zone}`, zone: z.zone, command: process.execPath,
    args: [CLI, 'zone-agent', '--zone', `${z.cloud}/${z.region}/${z.zone}`, '--cluster', z.cluster, '--network', z.network,
      '--global-lb', plan.grpcAddresses.join(','), '--static', staticFile, '--ca', ctx.caDirs.get(z.cluster)!, '--trust-domain', trustDomain,
      '--gateway', `127.0.0.1:${z.gatewayPort}`, '--relay-listen', `127.0.0.1:${z.agentRelayPort}`, '--admin-listen', `127.0.0.1:${z.agentAdminPort}`,
      '--state-dir', join(zoneDir, 'agent-state'), '--admin-tokens', ctx.adminTokens.file, '--join-tokens', joinTokens],
    ready: () => httpOk(`${agentAdmin}/healthz`),
  });
  opts.print(`  agent       ${z.zone}: admin ${agentAdmin}`);
  // The gateway needs the agent's relay for its routes, and must route before the shop reports ready (cross-network calls land on it).
  const gatewayAdmin = `http://127.0.0.1:${z.gatewayAdminPort}`;
  await startOnPorts(ctx, {
    name: `gateway-${z.zone}`, zone: z.zone, command: process.execPath, args: [CLI, ...gatewayArgs(z, ctx.overlayFile, ctx.adminTokens.file)],
    ready: () => httpOk(`${gatewayAdmin}/ready`),
    readyTimeoutMs: 60_000,
  });
  opts.print(`  gateway     ${z.zone}: listen 127.0.0.1:${z.gatewayPort}, admin ${gatewayAdmin}`);
  // Each instance is its own process so one can be killed alone; they start together, each waiting for its relay state.
  // `meshfed sample-app` runs every instance its plan gives the zone, so each process gets the plan cut to its one instance.
  const started = await Promise.allSettled(z.instances.map((i) => startOnPorts(ctx, {
    name: appComponent(z.zone, i.instance), zone: z.zone, command: process.execPath,
    args: [CLI, 'sample-app', '--plan', writeInstancePlan(zoneDir, plan, z, i), '--zone', z.zone, '--admin-tokens', ctx.adminTokens.file, '--join-token-dir', joinDir, ...(opts.proxy === 'haproxy' ? ['--proxy', 'haproxy', '--work-dir', join(zoneDir, 'haproxy', i.instance)] : [])],
    ready: () => httpOk(`http://127.0.0.1:${i.adminPort}/ready`),
    readyTimeoutMs: 60_000,
  })));
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  const counts = new Map<string, number>();
  for (const i of z.instances) counts.set(i.service, (counts.get(i.service) ?? 0) + 1);
  opts.print(`  shop        ${z.zone}: ${[...counts].map(([s, n]) => `${s} x${n}`).join(', ')} (one process each: app-${z.zone}-<instance>${opts.proxy === 'haproxy' ? ', data plane HAProxy' : ''})`);
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


/** The token a token file holds. */
function tokenIn(file: string): string {
  return readFileSync(file, 'utf8').trim();
}

/** PUTs a policy; a 400 is a verdict (thrown), anything else false until the balancer accepts it. */
async function putJson(url: string, body: unknown, token: string): Promise<boolean> {
  const res = await fetch(url, { method: 'PUT', body: JSON.stringify(body), headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
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
    `meshfed is up: ${state.zones.length} zones, ${state.adminUrls.length} global-lb replica(s) on ${state.store === 'etcd' ? `etcd${(state.etcdEndpoints?.length ?? 1) > 1 ? ` (${state.etcdEndpoints!.length} members)` : ''}` : 'the embedded store'}`,
    '',
    `  admin API    ${state.adminUrl}   (export MESHFED_ADMIN=${state.adminUrl} is not needed: commands read ${'.meshfed/up.json'})`,
    `  dashboard    ${state.adminUrl}/ui/#token=${upAdminToken(state) ?? ''}`,
    `  tokens       ${state.adminTokens ? `write ${state.adminTokens.write}, read ${state.adminTokens.read} (every admin port requires one; the CLI reads them)` : 'none'}`,
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
    "  meshfed hold 'app-us-east-1a-catalog-*' --for 30s --kill   # keep them down for a fault test (meshfed release ends it)",
    '  meshfed down                       # or Ctrl-C here',
    '',
  ];
  return lines.join('\n');
}
