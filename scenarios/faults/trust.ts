// Trust faults for the chaos runner: rotate the root CA by overlap, or revoke a cluster's intermediate, on a running federation.
//
// What a running `meshfed up` does with trust, which shapes every step below:
// - A sidecar verifies peers against the relayed bundle's roots PLUS the roots that came with its own certificate
//   (sidecar/relay/relayed.ts bundleOf), so with no bundle stored it trusts the root-cert.pem of its agent's CA dir.
//   New bundles and re-issued certificates are applied in place, without a restart.
// - A zone agent reads its plug-in CA dir once, at start: a new intermediate needs a restart (done under a hold, so
//   it is graceful and not charged to the restart budget). A restarted agent asks
//   every sidecar it has not signed for to re-key (zone-agent/relay/server.ts), so its sidecars move to the new CA.
// - The agent trusts global-lb with the root-cert.pem of its CA dir; global-lb trusts agents with
//   <runDir>/global-lb/bundle.pem and presents <runDir>/global-lb/chain.pem, all read at start. So the control plane's
//   own mTLS is rotated by overlap too: global-lb learns both roots before any agent presents a new-root identity,
//   agents trust both roots until global-lb presents its new-root certificate, and only then does each side drop the old one.
//
// Nothing here can see a sidecar's trust from its admin port (config_dump and stats carry no roots), so trust is
// probed from outside: a TLS handshake with the sidecar's inbound mTLS listener shows the certificate it presents,
// and a probe client certificate under a given root is either served (the sidecar trusts that root) or cut off.
import { renameSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { callJson } from '../../common/http-json.ts';
import { metricSamples } from '../runner/probes.ts';
import { join } from 'node:path';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import { upEtcdClient } from '../../local/etcd-client.ts';
import type { TrustFaultSpec } from '../../api/scenario.ts';
import { topologyZones } from '../../api/topology.ts';
import { globalLbId, workloadId } from '../../api/identity.ts';
import { KEYS } from '../../global-lb/store/store.ts';
import { upAdminToken, type UpState } from '../../local/state.ts';
import { holdsDir, removeHold, writeHold } from '../../local/holds.ts';
import {
  addRoots, bundleFromJson, bundleToJson, createIntermediateCa, createRootCa, issueWorkload, makeBundle, normalizeSerial, readPluginCaDir,
  readRootDir, removeRoot, revokeSerial, rootFingerprint, splitPem, verifyPeer, writePluginCaDir, writeRootDir,
  type IntermediateCa, type KeyedCert, type TrustBundle,
} from '../../trust/index.ts';
import { signBundle } from '../../trust/bundle-signature.ts';
import type { ActiveFault, Check, FaultContext, InjectFault } from './fault.ts';

/** How long each wait of a trust fault may take before it is reported as failed. */
export const TRUST_STEP_TIMEOUT_MS = 60_000;
/** Each poll of a step probes every sidecar with a TLS handshake; twice a second keeps that well below the load. */
const POLL_MS = 500;

/** One timed step of a trust fault, for the journal and the test's numbers. */
export interface TrustStep {
  readonly name: string;
  readonly ms: number;
  readonly ok: boolean;
  readonly detail: string;
}

/** A trust fault with the steps its inject took (rotate-root has six). */
export interface TrustActiveFault extends ActiveFault {
  readonly steps: readonly TrustStep[];
}

/**
 * Injects a trust fault.
 * - rotate-root runs the whole rotation inside inject (about 30-50 s on a loaded 2-core machine; six steps, each a
 *   poll with a deadline) and is NOT reverted: a rotation is a change meant to stay, so revert() does nothing and
 *   cleared() checks what rollback needs, every sidecar ready and trusting the root of every certificate in use.
 *   A step that times out stops the rotation where it is (both roots still trusted) and applied() reports it.
 * - revoke-intermediate revokes the cluster's current intermediate in the stored bundle; revert() stores the bundle
 *   from before exactly.
 * Trust faults assume no other trust fault runs at the same time.
 */
export const injectTrustFault: InjectFault<TrustFaultSpec> = (ctx, spec) =>
  spec.action === 'rotate-root' ? rotateRoot(ctx, spec) : revokeIntermediate(ctx, spec);

// ---------------------------------------------------------------------------------------------------------------
// The federation as the faults see it

/** One sidecar: where its admin port and its inbound mTLS listener are, and which cluster signs for it. */
export interface SidecarTarget {
  readonly name: string;
  readonly zone: string;
  readonly cluster: string;
  readonly adminUrl: string;
  readonly inbound: { readonly host: string; readonly port: number };
}

interface PlanFile {
  readonly zones: readonly { readonly zone: string; readonly instances: readonly { readonly adminPort: number; readonly inboundPort: number }[] }[];
}

function upState(ctx: FaultContext): UpState {
  return ctx.state();
}

/** Every sidecar of the federation; the inbound port comes from <runDir>/plan.json (up.json lists admin URLs only). */
export function sidecarTargets(ctx: FaultContext): SidecarTarget[] {
  const state = upState(ctx);
  const plan = JSON.parse(readFileSync(join(state.runDir, 'plan.json'), 'utf8')) as PlanFile;
  const clusterOf = new Map(topologyZones(ctx.topology).map((z) => [z.locality.zone, z.cluster]));
  const out: SidecarTarget[] = [];
  for (const z of state.zones) {
    const instances = plan.zones.find((p) => p.zone === z.name)?.instances ?? [];
    for (const s of z.sidecars) {
      const admin = new URL(s.adminUrl);
      const inst = instances.find((i) => i.adminPort === Number(admin.port));
      if (!inst) throw new Error(`trust fault: ${s.adminUrl} (${z.name} ${s.instance}) is not in ${state.runDir}/plan.json`);
      out.push({ name: `${z.name}/${s.instance}`, zone: z.name, cluster: clusterOf.get(z.name) ?? '?', adminUrl: s.adminUrl, inbound: { host: admin.hostname, port: inst.inboundPort } });
    }
  }
  return out;
}

function trustDir(ctx: FaultContext): string {
  return join(ctx.stateDir, 'trust');
}

function clusters(ctx: FaultContext): string[] {
  return ctx.topology.clusters.map((c) => c.name);
}

// ---------------------------------------------------------------------------------------------------------------
// The stored bundle (etcd)

/** The bundle key's text as stored, or undefined when there is none. */
async function readStoredText(ctx: FaultContext): Promise<string | undefined> {
  return withEtcd(ctx, async (c) => (await c.get(KEYS.trustBundle).string()) ?? undefined);
}

/**
 * Signs `bundle` now with a root (default the federation's root dir, as `meshfed trust publish --root` does) and
 * stores it: agents and sidecars take only a bundle signed by a root they trust. Returns the stored text.
 */
async function storeSigned(ctx: FaultContext, bundle: TrustBundle, signer: KeyedCert = readRootDir(join(trustDir(ctx), 'root'))): Promise<string> {
  const text = bundleToJson(signBundle(bundle, signer, new Date()));
  await writeStoredText(ctx, text);
  return text;
}

async function writeStoredText(ctx: FaultContext, text: string): Promise<void> {
  await withEtcd(ctx, async (c) => {
    await c.put(KEYS.trustBundle).value(text);
  });
}

async function withEtcd<T>(ctx: FaultContext, f: (c: Etcd3) => Promise<T>): Promise<T> {
  const state = ctx.state();
  if (state.store !== 'etcd') throw new Error('trust faults need the etcd store (meshfed up --store etcd): the bundle lives at ' + KEYS.trustBundle);
  const client = upEtcdClient(state);
  try {
    return await f(client);
  } finally {
    client.close();
  }
}

/** Parses stored bundle text; undefined for none or for text global-lb would not take either. */
export function parseStored(text: string | undefined): TrustBundle | undefined {
  if (text === undefined) return undefined;
  try {
    return bundleFromJson(text, KEYS.trustBundle);
  } catch {
    return undefined;
  }
}

/** The bundle in force: the stored one, else what sidecars trust without one (the roots of the CA dirs). */
async function currentBundle(ctx: FaultContext): Promise<{ text: string | undefined; bundle: TrustBundle }> {
  const text = await readStoredText(ctx);
  const stored = parseStored(text);
  if (stored) return { text, bundle: stored };
  const roots = clusters(ctx).flatMap((c) => splitPem(readPluginCaDir(join(trustDir(ctx), c)).rootPem));
  return { text, bundle: makeBundle({ trustDomain: ctx.topology.trustDomain, roots }) };
}

// ---------------------------------------------------------------------------------------------------------------
// Probing a sidecar's inbound mTLS listener

/** What a handshake with a sidecar showed. */
export interface ProbeResult {
  /** The certificates the sidecar presented, leaf first (PEM); empty when no handshake completed. */
  readonly presented: readonly string[];
  /** accepted: its HTTP server answered over the probe's certificate; refused: it cut the connection; down: no TLS at all. */
  readonly verdict: 'accepted' | 'refused' | 'down';
  readonly detail: string;
}

/** Connects to a sidecar's inbound listener as `client` and sends one request line its HTTP server refuses; never throws. */
export function probeSidecar(target: SidecarTarget, client: { certChainPem: string; keyPem: string }, timeoutMs = 3000): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let presented: string[] = [];
    let secure = false;
    let done = false;
    const finish = (verdict: ProbeResult['verdict'], detail: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ presented, verdict, detail });
    };
    const sock = tls.connect({
      host: target.inbound.host, port: target.inbound.port, cert: client.certChainPem, key: client.keyPem,
      // The probe judges the presented chain itself (verifyPeer against one root at a time), so OpenSSL must not.
      rejectUnauthorized: false, ALPNProtocols: ['http/1.1'],
    });
    const timer = setTimeout(() => finish(secure ? 'refused' : 'down', secure ? 'no answer to the probe request' : 'no handshake'), timeoutMs);
    sock.once('secureConnect', () => {
      secure = true;
      presented = peerChain(sock);
      // A request line no HTTP parser takes: an accepted socket reaches the sidecar's HTTP server, which answers 400
      // itself (counted there as refused malformed-http), so probes never reach the app or the zone's served stats.
      sock.write('TRUST-PROBE / HTTP/1.1\r\n\r\n');
    });
    sock.once('data', (d: Buffer) => finish('accepted', d.toString('latin1').split('\r\n')[0] ?? ''));
    sock.once('error', (e: NodeJS.ErrnoException) => {
      const tlsRefusal = secure || /SSL|alert|certificate/i.test(`${e.code ?? ''} ${e.message}`);
      finish(tlsRefusal ? 'refused' : 'down', e.code ?? e.message);
    });
    sock.once('close', () => finish(secure ? 'refused' : 'down', 'closed by the sidecar'));
  });
}

function peerChain(sock: tls.TLSSocket): string[] {
  const out: string[] = [];
  let c: tls.DetailedPeerCertificate | undefined = sock.getPeerCertificate(true);
  const seen = new Set<string>();
  while (c && c.raw && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    out.push(new X509Certificate(c.raw).toString());
    c = c.issuerCertificate;
  }
  return out;
}

/**
 * The root among `roots` that the presented chain verifies to (verifyPeer, usage server), or undefined. `extra`
 * intermediates help when the handshake's chain lacks one.
 */
export function rootOfChain(presented: readonly string[], roots: readonly string[], trustDomain: string, extra: readonly string[] = [], now = Date.now()): string | undefined {
  const leaf = presented[0];
  if (!leaf) return undefined;
  const chain = [...new Set([leaf, ...presented.slice(1), ...extra])].slice(0, 6);
  return roots.find((r) => verifyPeer(chain, makeBundle({ trustDomain, roots: [r] }), now, { usage: 'server' }).ok);
}

/** A probe identity: a client certificate issued by `ca`, used only to see whether sidecars accept its root. */
async function probeClient(ca: IntermediateCa, trustDomain: string): Promise<{ certChainPem: string; keyPem: string }> {
  const w = await issueWorkload(ca, workloadId(trustDomain, 'meshfed-chaos', 'trust-probe'), { ttlMs: 3600_000, usages: ['client'] });
  return { certChainPem: w.chainPem, keyPem: w.keyPem };
}

/** Probes every sidecar; `want` says whether one answer is what the step waits for. */
async function probeAll(targets: readonly SidecarTarget[], client: { certChainPem: string; keyPem: string }): Promise<{ target: SidecarTarget; r: ProbeResult }[]> {
  return Promise.all(targets.map(async (target) => ({ target, r: await probeSidecar(target, client) })));
}

// ---------------------------------------------------------------------------------------------------------------
// Waiting and restarting

/** Polls `f` until it says ok or the deadline passes; logs what it still waits for every few seconds. */
async function pollUntil(ctx: FaultContext, what: string, f: () => Promise<Check>, timeoutMs = TRUST_STEP_TIMEOUT_MS): Promise<Check> {
  const start = Date.now();
  let last: Check = { ok: false, detail: 'not checked yet' };
  let lastLog = start;
  for (;;) {
    try {
      last = await f();
    } catch (e) {
      last = { ok: false, detail: (e as Error).message };
    }
    if (last.ok) return { ok: true, detail: `${last.detail} (${Date.now() - start} ms)` };
    if (Date.now() - start > timeoutMs) return { ok: false, detail: `timed out after ${timeoutMs} ms waiting for ${what}: ${last.detail}` };
    if (Date.now() - lastLog > 5000) {
      lastLog = Date.now();
      ctx.log(`  … still waiting for ${what}: ${last.detail}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/**
 * Restarts a supervised component gracefully without charging its restart budget (5 in 60 s; a scenario's other
 * faults may need it): a hold without kill is placed (as `meshfed hold` does), the process gets SIGTERM, the
 * supervisor keeps the exit down as held, and removing the hold (as `meshfed release` does) starts it again at once.
 * Waits for a new pid that passes `ready`. The hold file is always removed; it would expire by itself in 30 s.
 */
async function restartComponent(ctx: FaultContext, name: string, ready: () => Promise<Check>): Promise<Check> {
  const component = () => upState(ctx).components.find((c) => c.name === name);
  const before = component();
  if (!before) return { ok: false, detail: `no component ${name} in up.json` };
  const dir = holdsDir(upState(ctx).runDir);
  const hold = writeHold(dir, name, Date.now(), 30_000, false);
  try {
    const held = await pollUntil(ctx, `meshfed up to apply the hold of ${name}`, async () => (component()?.hold?.id === hold.id
      ? { ok: true, detail: 'held' } : { ok: false, detail: `hold of ${name} not in up.json yet` }), 10_000);
    if (!held.ok) return held;
    try {
      process.kill(before.pid, 'SIGTERM');
    } catch (e) {
      return { ok: false, detail: `${name}: cannot signal pid ${before.pid}: ${(e as Error).message}` };
    }
    const down = await pollUntil(ctx, `${name} to stop`, async () => (component()?.hold?.down
      ? { ok: true, detail: 'down' } : { ok: false, detail: `${name} (pid ${before.pid}) still running after SIGTERM` }), 20_000);
    if (!down.ok) return down;
  } finally {
    removeHold(dir, hold);
  }
  return pollUntil(ctx, `${name} to come back`, async () => {
    const now = component();
    if (!now || now.pid === before.pid || now.hold !== undefined) return { ok: false, detail: `${name} not started again yet` };
    const r = await ready();
    return r.ok ? { ok: true, detail: `${name} restarted as pid ${now.pid}` } : r;
  });
}

/** One zone's agent is connected to a global-lb (its Federation mTLS works). */
async function agentReady(ctx: FaultContext, zone: string): Promise<Check> {
  const url = upState(ctx).zones.find((z) => z.name === zone)?.agentAdminUrl;
  const r = await callJson('GET', `${url}/v1/status`, undefined, 3000, upAdminToken(upState(ctx)));
  const b = (r.json as { balancer?: { connected?: boolean; lastRefusal?: { code: string } | null } } | undefined)?.balancer;
  if (b?.connected) return { ok: true, detail: `agent-${zone} connected` };
  return { ok: false, detail: `agent-${zone} ${r.status === 0 ? 'down' : `not connected to global-lb${b?.lastRefusal ? ` (${b.lastRefusal.code})` : ''}`}` };
}

/** Every zone agent is connected to a global-lb. */
async function agentsConnected(ctx: FaultContext): Promise<Check> {
  const bad = (await Promise.all(upState(ctx).zones.map((z) => agentReady(ctx, z.name)))).filter((c) => !c.ok);
  return bad.length === 0 ? { ok: true, detail: 'every agent is connected to global-lb' } : { ok: false, detail: bad.map((c) => c.detail).join('; ') };
}

async function restartAgents(ctx: FaultContext): Promise<Check> {
  const done: string[] = [];
  for (const z of upState(ctx).zones) {
    const r = await restartComponent(ctx, `agent-${z.name}`, () => agentReady(ctx, z.name));
    if (!r.ok) return r;
    done.push(z.name);
  }
  return { ok: true, detail: `agents restarted: ${done.join(', ')}` };
}

/** Restarts the global-lb replicas one at a time, each until it is ready, then waits for every agent to be connected. */
async function restartBalancers(ctx: FaultContext): Promise<Check> {
  const urls = upState(ctx).adminUrls;
  for (let i = 0; i < urls.length; i++) {
    const r = await restartComponent(ctx, `global-lb-${i + 1}`, async () => {
      const ready = await callJson('GET', `${urls[i]}/readyz`);
      return ready.status === 200 ? { ok: true, detail: 'ready' } : { ok: false, detail: `global-lb-${i + 1} not ready (${ready.status})` };
    });
    if (!r.ok) return r;
  }
  return pollUntil(ctx, 'every agent to reconnect to global-lb', () => agentsConnected(ctx));
}

// ---------------------------------------------------------------------------------------------------------------
// Checks over every sidecar

/** Every sidecar's /ready answers 200. */
async function sidecarsReady(ctx: FaultContext): Promise<Check> {
  const targets = sidecarTargets(ctx);
  const bad = (await Promise.all(targets.map(async (t) => ((await callJson('GET', `${t.adminUrl}/ready`)).status === 200 ? undefined : t.name)))).filter((x) => x !== undefined);
  return bad.length === 0 ? { ok: true, detail: `${targets.length} sidecars ready` } : { ok: false, detail: `not ready: ${bad.join(', ')}` };
}

/** Every sidecar in `targets` gives `want` to `client` (e.g. accepts a client under the new root). */
async function everySidecar(targets: readonly SidecarTarget[], client: { certChainPem: string; keyPem: string }, want: ProbeResult['verdict'], label: string): Promise<Check> {
  const results = await probeAll(targets, client);
  const bad = results.filter((x) => x.r.verdict !== want).map((x) => `${x.target.name} ${x.r.verdict} (${x.r.detail})`);
  return bad.length === 0 ? { ok: true, detail: `${targets.length} sidecars ${want} ${label}` } : { ok: false, detail: `${bad.length}/${targets.length} not ${want} ${label}: ${bad.slice(0, 4).join('; ')}` };
}

/** Every sidecar presents a certificate verifying to `root`; `serials` gets each sidecar's leaf serial. */
async function everyLeafUnder(ctx: FaultContext, probe: { certChainPem: string; keyPem: string }, root: string, extra: readonly string[], serials?: Map<string, string>, notSerials?: ReadonlyMap<string, string>): Promise<Check> {
  const targets = sidecarTargets(ctx);
  const results = await probeAll(targets, probe);
  const bad: string[] = [];
  for (const { target, r } of results) {
    const leaf = r.presented[0];
    if (!leaf) {
      bad.push(`${target.name}: ${r.verdict} (${r.detail})`);
      continue;
    }
    const serial = normalizeSerial(new X509Certificate(leaf).serialNumber);
    if (rootOfChain(r.presented, [root], ctx.topology.trustDomain, extra) === undefined) bad.push(`${target.name}: certificate ${serial.slice(0, 8)} not under the new root`);
    else if (notSerials?.get(target.name) === serial) bad.push(`${target.name}: still certificate ${serial.slice(0, 8)}`);
    else serials?.set(target.name, serial);
  }
  return bad.length === 0 ? { ok: true, detail: `${targets.length} sidecars present certificates under root ${rootFingerprint(root).slice(0, 12)}` } : { ok: false, detail: `${bad.length}/${targets.length}: ${bad.slice(0, 4).join('; ')}` };
}

// ---------------------------------------------------------------------------------------------------------------
// rotate-root

/** The files a rotation writes besides the CA dirs: global-lb's certificate and the roots it trusts agents with. */
function lbDir(ctx: FaultContext): string {
  return join(upState(ctx).runDir, 'global-lb');
}

/** A plug-in CA dir's content for `inter` whose root-cert.pem holds `trusted` (one root, or old and new during the overlap). */
function withTrustedRoots(inter: IntermediateCa, trusted: readonly string[], signer: string): IntermediateCa {
  return { ...inter, rootPem: trusted.join(''), chainPem: inter.certPem + signer };
}

async function rotateRoot(ctx: FaultContext, _spec: TrustFaultSpec): Promise<TrustActiveFault> {
  const td = ctx.topology.trustDomain;
  const steps: TrustStep[] = [];
  const start = await currentBundle(ctx);
  const oldRoots = [...start.bundle.roots];
  const oldRootDir = join(trustDir(ctx), 'root');
  const oldRoot: KeyedCert = readRootDir(oldRootDir);
  const oldInters = clusters(ctx).map((c) => readPluginCaDir(join(trustDir(ctx), c)).certPem);
  const newRoot = await createRootCa({ trustDomain: td });
  const newFp = rootFingerprint(newRoot.certPem).slice(0, 12);
  ctx.log(`trust rotate-root: new root ${newFp} for ${td}; retiring ${oldRoots.map((r) => rootFingerprint(r).slice(0, 12)).join(', ')}`);
  const newProbe = await probeClient(await createIntermediateCa({ root: newRoot, cluster: 'chaos-probe', trustDomain: td }), td);
  const oldProbe = await probeClient(await createIntermediateCa({ root: oldRoot, cluster: 'chaos-probe', trustDomain: td }), td);
  const newInters = new Map<string, IntermediateCa>();
  const leafSerials = new Map<string, string>();
  let failed: TrustStep | undefined;

  const step = async (name: string, run: () => Promise<Check>): Promise<boolean> => {
    if (failed) return false;
    const t0 = Date.now();
    ctx.log(`trust rotate-root: ${name} …`);
    let r: Check;
    try {
      r = await run();
    } catch (e) {
      r = { ok: false, detail: (e as Error).message };
    }
    const s: TrustStep = { name, ms: Date.now() - t0, ok: r.ok, detail: r.detail };
    steps.push(s);
    ctx.log(`trust rotate-root: ${name}: ${r.ok ? 'done' : 'FAILED'} in ${s.ms} ms — ${r.detail}`);
    if (!r.ok) failed = s;
    return r.ok;
  };

  await step('bundle {old,new} stored; every sidecar trusts both', async () => {
    await storeSigned(ctx, addRoots(start.bundle, newRoot.certPem), oldRoot);
    const targets = sidecarTargets(ctx);
    const both = await pollUntil(ctx, 'every sidecar to trust the new root', () => everySidecar(targets, newProbe, 'accepted', 'a client under the new root'));
    if (!both.ok) return both;
    const old = await everySidecar(targets, oldProbe, 'accepted', 'a client under the old root');
    return old.ok ? both : old;
  });
  await step('global-lb trusts agents under both roots (restarted one at a time)', async () => {
    writeFileSync(join(lbDir(ctx), 'bundle.pem'), [...oldRoots, newRoot.certPem].join(''));
    return restartBalancers(ctx);
  });
  await step('new intermediates under the new root; agents restarted; every sidecar re-issued under it', async () => {
    for (const c of clusters(ctx)) {
      const inter = await createIntermediateCa({ root: newRoot, cluster: c, trustDomain: td });
      newInters.set(c, inter);
      // The agent still trusts the old root too: global-lb keeps its old-root certificate until the next step.
      writePluginCaDir(join(trustDir(ctx), c), withTrustedRoots(inter, [...oldRoots, newRoot.certPem], newRoot.certPem), true);
    }
    const r = await restartAgents(ctx);
    if (!r.ok) return r;
    return pollUntil(ctx, 'every sidecar to present a certificate under the new root', () => everyLeafUnder(ctx, newProbe, newRoot.certPem, [...newInters.values()].map((i) => i.certPem), leafSerials));
  });
  await step('global-lb presents a new-root certificate and trusts the new root only', async () => {
    const first = newInters.get(clusters(ctx)[0]!)!;
    const cert = await issueWorkload(first, globalLbId(td), { usages: ['server', 'client'] });
    writeFileSync(join(lbDir(ctx), 'chain.pem'), cert.chainPem);
    writeFileSync(join(lbDir(ctx), 'key.pem'), cert.keyPem, { mode: 0o600 });
    writeFileSync(join(lbDir(ctx), 'bundle.pem'), newRoot.certPem);
    return restartBalancers(ctx);
  });
  await step('CA dirs and agents trust the new root only; every sidecar re-issued again', async () => {
    for (const c of clusters(ctx)) writePluginCaDir(join(trustDir(ctx), c), withTrustedRoots(newInters.get(c)!, [newRoot.certPem], newRoot.certPem), true);
    const before = new Map(leafSerials);
    const r = await restartAgents(ctx);
    if (!r.ok) return r;
    // A certificate signed after the restart came with the new root alone, so the sidecar's own roots no longer hold the old one.
    return pollUntil(ctx, 'every sidecar to be re-issued by its restarted agent', () => everyLeafUnder(ctx, newProbe, newRoot.certPem, [...newInters.values()].map((i) => i.certPem), leafSerials, before));
  });
  await step('old root retired from the bundle; every sidecar refuses it', async () => {
    let next: TrustBundle = (parseStored(await readStoredText(ctx)) ?? addRoots(start.bundle, newRoot.certPem));
    for (const r of oldRoots) {
      const fp = rootFingerprint(r);
      if (next.roots.length > 1 && next.roots.some((x) => rootFingerprint(x) === fp)) next = removeRoot(next, fp);
    }
    // Signed by the new root: every receiver trusts it by now, including a sidecar started after the CA dirs moved.
    await storeSigned(ctx, next, newRoot);
    const targets = sidecarTargets(ctx);
    const gone = await pollUntil(ctx, 'every sidecar to refuse the old root', () => everySidecar(targets, oldProbe, 'refused', 'a client under the old root'));
    if (!gone.ok) return gone;
    const kept = await everySidecar(targets, newProbe, 'accepted', 'a client under the new root');
    if (!kept.ok) return kept;
    // The root dir follows, so a later `meshfed up` on this state dir finds intermediates signed by its root.
    const retired = `${oldRootDir}-retired-${rootFingerprint(oldRoot.certPem).slice(0, 12)}`;
    if (!existsSync(retired)) renameSync(oldRootDir, retired);
    writeRootDir(oldRootDir, newRoot, true);
    return { ok: true, detail: `${gone.detail}; ${kept.detail}; old root dir kept as ${retired}` };
  });

  const target = `every cluster (${clusters(ctx).join(', ')}) and ${sidecarTargets(ctx).length} sidecars`;
  const extra = (): string[] => [...newInters.values()].map((i) => i.certPem).concat(oldInters);
  return {
    steps,
    target,
    mechanism: `new root ${newFp} by overlap: bundle {old,new} → global-lb trusts both → new intermediates, agents restarted, sidecars re-keyed → `
      + 'global-lb on a new-root certificate → CA dirs and agents on the new root only, sidecars re-keyed → old root retired (not reverted: a rotation stays)',
    async applied() {
      const b = parseStored(await readStoredText(ctx));
      const has = b?.roots.some((r) => rootFingerprint(r) === rootFingerprint(newRoot.certPem)) ?? false;
      const old = b?.roots.filter((r) => oldRoots.some((o) => rootFingerprint(o) === rootFingerprint(r))).length ?? 0;
      const detail = `stored bundle ${has ? 'holds' : 'LACKS'} the new root ${newFp}${old > 0 ? ` and still ${old} old root(s)` : ', old root retired'}`;
      return { ok: has && !failed, detail: failed ? `${detail}; rotation stopped at "${failed.name}": ${failed.detail}` : detail };
    },
    async effect() {
      return everyLeafUnder(ctx, newProbe, newRoot.certPem, extra());
    },
    async revert() {
      ctx.log('trust rotate-root: not reverted (a completed rotation is a change meant to stay; rollback only checks the federation is healthy)');
    },
    async cleared() {
      return pollUntil(ctx, 'every sidecar ready and no split trust', async () => {
        const ready = await sidecarsReady(ctx);
        if (!ready.ok) return ready;
        return noSplitTrust(ctx, { [rootFingerprint(newRoot.certPem)]: newProbe, [rootFingerprint(oldRoot.certPem)]: oldProbe }, [newRoot.certPem, oldRoot.certPem], extra());
      }, 30_000);
    },
  };
}

/**
 * No split trust: every root that signed a certificate some sidecar presents now is accepted by every sidecar
 * (probed with a client under that root), so any two sidecars can still talk.
 */
async function noSplitTrust(ctx: FaultContext, probes: Record<string, { certChainPem: string; keyPem: string }>, roots: readonly string[], extra: readonly string[]): Promise<Check> {
  const targets = sidecarTargets(ctx);
  const seen = await probeAll(targets, Object.values(probes)[0]!);
  const inUse = new Set<string>();
  for (const { target, r } of seen) {
    const root = rootOfChain(r.presented, roots, ctx.topology.trustDomain, extra);
    if (!root) return { ok: false, detail: `${target.name} presents a certificate under none of the known roots (${r.verdict}: ${r.detail})` };
    inUse.add(rootFingerprint(root));
  }
  for (const fp of inUse) {
    const c = await everySidecar(targets, probes[fp]!, 'accepted', `a client under root ${fp.slice(0, 12)}`);
    if (!c.ok) return { ok: false, detail: `split trust: ${c.detail}` };
  }
  return { ok: true, detail: `${targets.length} sidecars ready; certificates under ${[...inUse].map((f) => f.slice(0, 12)).join(', ')}, trusted by all` };
}

// ---------------------------------------------------------------------------------------------------------------
// revoke-intermediate

/** Sums a counter family of Prometheus text over the samples whose labels pass `keep`. */
export function sumSamples(text: string, metric: string, keep: (labels: Readonly<Record<string, string>>) => boolean): number {
  let sum = 0;
  for (const x of metricSamples(text, metric)) if (keep(x.labels)) sum += x.value;
  return sum;
}

/** Outbound tries from `from` sidecars to `zones`, failed (TLS refusals show as connect failures or resets) and succeeded. */
async function triesTo(from: readonly SidecarTarget[], zones: ReadonlySet<string>): Promise<{ failed: number; ok: number }> {
  const texts = await Promise.all(from.map(async (t) => {
    const r = await callJson('GET', `${t.adminUrl}/metrics`);
    return r.ok ? r.text : '';
  }));
  const sum = (keep: (outcome: string) => boolean) => texts.reduce((n, text) => n + sumSamples(text, 'meshfed_upstream_tries_total', (l) => zones.has(l['dest_zone'] ?? '') && keep(l['outcome'] ?? '')), 0);
  return { failed: sum((o) => o !== 'success'), ok: sum((o) => o === 'success') };
}

/** The intermediates (PEM) the sidecars of `cluster` present in their chains now. */
async function presentedIntermediates(ctx: FaultContext, cluster: string, client: { certChainPem: string; keyPem: string }): Promise<string[]> {
  const results = await probeAll(sidecarTargets(ctx).filter((t) => t.cluster === cluster), client);
  return results.flatMap((x) => x.r.presented.slice(1, 2));
}

async function revokeIntermediate(ctx: FaultContext, spec: TrustFaultSpec): Promise<TrustActiveFault> {
  const cluster = spec.cluster!;
  if (!clusters(ctx).includes(cluster)) throw new Error(`trust fault: unknown cluster "${cluster}" (clusters: ${clusters(ctx).join(', ')})`);
  const td = ctx.topology.trustDomain;
  const t0 = Date.now();
  const ca = readPluginCaDir(join(trustDir(ctx), cluster));
  const revokedProbe = await probeClient(ca, td);
  // The CA dir's intermediate, and any other one the cluster's workloads still present (a rotation that stopped
  // half-way leaves certificates from the previous intermediate in use): the cluster's workloads are what is revoked.
  const serials = [...new Set([ca.certPem, ...(await presentedIntermediates(ctx, cluster, revokedProbe))].map((pem) => normalizeSerial(new X509Certificate(pem).serialNumber)))];
  const before = await currentBundle(ctx);
  // Restoring "no bundle" by deleting the key would change nothing downstream: global-lb sends nothing for a deleted
  // bundle and agents keep the last one. So with none stored, revert stores the bundle sidecars trusted implicitly.
  // It is signed again with a new issue time: receivers refuse an older bundle than the one in force (a replay).
  const restore = before.bundle;
  const revoked = serials.reduce((b, x) => revokeSerial(b, x), before.bundle);
  const zones = new Set(topologyZones(ctx.topology).filter((z) => z.cluster === cluster).map((z) => z.locality.zone));
  const others = (): SidecarTarget[] => sidecarTargets(ctx).filter((t) => t.cluster !== cluster);
  const triesBefore = await triesTo(others(), zones);
  await storeSigned(ctx, revoked);
  ctx.log(`trust revoke-intermediate: ${cluster} intermediate ${serials.join(', ')} revoked in the stored bundle (zones ${[...zones].join(', ')})`);
  const steps: TrustStep[] = [{ name: 'bundle with the revoked serial stored', ms: Date.now() - t0, ok: true, detail: `serial ${serials.join(', ')}` }];

  const storedIs = async (want: (b: TrustBundle | undefined) => boolean, what: string): Promise<Check> => {
    const text = await readStoredText(ctx);
    return want(parseStored(text)) ? { ok: true, detail: `stored bundle ${what}` } : { ok: false, detail: `stored bundle does not ${what.replace(/^is /, 'be ')}` };
  };
  return {
    steps,
    target: `intermediate ${serials.map((x) => `${x.slice(0, 16)}…`).join(', ')} of cluster ${cluster} (zones ${[...zones].join(', ')})`,
    mechanism: `serial added to the stored bundle's revokedSerials (${KEYS.trustBundle}), signed by the root → global-lb → agents → sidecars refuse ${cluster}'s workloads; revert stores the previous content, signed again`,
    async applied() {
      const stored = await storedIs((b) => serials.every((x) => b?.revokedSerials.includes(x)), `lists ${serials.map((x) => `${x.slice(0, 16)}…`).join(', ')}`);
      if (!stored.ok) return stored;
      return pollUntil(ctx, `sidecars outside ${cluster} to refuse its certificates`, () => everySidecar(others(), revokedProbe, 'refused', `a ${cluster} client`), 30_000);
    },
    async effect() {
      // Called right after applied() when the fault lasts 0 s: give the load a moment to reach the revoked zones.
      return pollUntil(ctx, `a refused try from other clusters to ${[...zones].join(', ')}`, async () => {
        const now = await triesTo(others(), zones);
        const failed = now.failed - triesBefore.failed;
        const ok = now.ok - triesBefore.ok;
        return failed > 0
          ? { ok: true, detail: `${failed} outbound tries from other clusters to ${[...zones].join(', ')} failed since the revocation, ${ok} succeeded (meshfed_upstream_tries_total)` }
          : { ok: false, detail: `no outbound try from other clusters to ${[...zones].join(', ')} failed since the revocation (${ok} succeeded): does any traffic go there?` };
      }, 15_000);
    },
    async revert() {
      await storeSigned(ctx, restore);
      ctx.log(`trust revoke-intermediate: previous bundle stored again, signed anew (${before.text === undefined ? 'none was stored: the CA dirs\' roots, no revocation' : 'the same content as before'})`);
    },
    async cleared() {
      const stored = await storedIs((b) => b?.version === restore.version, 'is the bundle from before the fault');
      if (!stored.ok) return stored;
      return pollUntil(ctx, `every sidecar to accept ${cluster} again`, () => everySidecar(sidecarTargets(ctx), revokedProbe, 'accepted', `a ${cluster} client`), 30_000);
    },
  };
}
