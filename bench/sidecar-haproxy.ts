// The HAProxy rows of the sidecar benchmark: plain HAProxy (hand-written config) and meshfed-driven HAProxy (adapter + zone agent), one and two mTLS hops.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request, Agent } from 'undici';
import { writePluginCaDir } from '../trust/files.ts';
import type { TestPki } from '../trust/testing.ts';
import { haproxyBinary } from '../proxy/haproxy.ts';
import { runtimeCommand, parseInfo } from '../proxy/runtime-api.ts';

/** What a row needs: where to send, with which client, and whose CPU and memory count. */
export interface HaproxyTarget {
  readonly path: 'haproxy-plain' | 'haproxy-plain-two' | 'haproxy' | 'haproxy-two';
  readonly name: string;
  readonly url: string;
  readonly host: string;
  readonly dispatcher: Agent;
  /** Every process of the data plane: HAProxy master and worker, and for meshfed the adapter. */
  readonly pids: number[];
  /** Proxies on the path (CPU is quoted per proxy). */
  readonly hops: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function until(what: string, ms: number, f: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await f().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The master's children (HAProxy's worker) plus the master. */
function withChildren(pid: number): number[] {
  let kids: number[] = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch { /* gone */ }
  return [pid, ...kids];
}

/** A worker pid from `show info`, and its master (the worker's parent). */
async function haproxyPids(adminSocket: string): Promise<number[]> {
  const worker = Number(parseInfo(await runtimeCommand(adminSocket, 'show info'))['Pid']);
  const stat = readFileSync(`/proc/${worker}/stat`, 'utf8');
  const master = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  return [master, worker];
}

const PLAIN_GLOBAL = (sock: string) => `global\n  stats socket ${sock} mode 600 level admin\n  maxconn 4096\ndefaults\n  mode http\n  option http-keep-alive\n  timeout connect 2s\n  timeout client 60s\n  timeout server 30s\n`;

/**
 * Starts the HAProxy rows asked for. Plain HAProxy is what a user would write by hand for the same hops (mTLS
 * inbound with a client certificate required; an outbound that presents its certificate and verifies the
 * inbound's chain). meshfed-driven HAProxy is `meshfed proxy haproxy` fed by a real zone agent (static discovery,
 * signing with the bench PKI's intermediate, no balancer reachable: it relays endpoints, the adapter gives equal
 * shares), so its config, health checks and stats polling are what a workload runs.
 */
export async function startHaproxyTargets(o: {
  dir: string; node: string; meshfed: string; appPort: number; pki: TestPki; loadCert: { chainPem: string; keyPem: string };
  procs: ChildProcess[]; agents: Agent[]; concurrency: number; only: readonly string[];
  start: (cmd: string, argv: string[], ready: RegExp, env?: NodeJS.ProcessEnv) => Promise<{ child: ChildProcess; m: RegExpExecArray }>;
}): Promise<HaproxyTarget[]> {
  const bin = haproxyBinary();
  const out: HaproxyTarget[] = [];
  const mtlsAgent = () => {
    const ag = new Agent({ connections: o.concurrency * 2, allowH2: false, connect: { cert: o.loadCert.chainPem, key: o.loadCert.keyPem, ca: [o.pki.root.certPem], checkServerIdentity: () => undefined } });
    o.agents.push(ag);
    return ag;
  };
  const plainAgent = () => {
    const ag = new Agent({ connections: o.concurrency * 2, allowH2: false });
    o.agents.push(ag);
    return ag;
  };
  const wl = async (name: string) => {
    const w = await o.pki.issue(`spiffe://${o.pki.trustDomain}/ns/bench/sa/${name}`, { usages: ['server', 'client'] });
    const file = join(o.dir, `hap-${name}.pem`);
    writeFileSync(file, `${w.chainPem.trim()}\n${w.keyPem.trim()}\n`);
    return file;
  };
  const ca = join(o.dir, 'hap-root.pem');
  writeFileSync(ca, o.pki.root.certPem);

  if (o.only.includes('haproxy-plain') || o.only.includes('haproxy-plain-two')) {
    const [inPort, outPort] = [await freePort(), await freePort()];
    const inCrt = await wl('plain-in');
    const outCrt = await wl('plain-out');
    const inSock = join(o.dir, 'plain-in.sock');
    const outSock = join(o.dir, 'plain-out.sock');
    writeFileSync(join(o.dir, 'plain-in.cfg'), `${PLAIN_GLOBAL(inSock)}frontend inbound\n  bind 127.0.0.1:${inPort} ssl crt ${inCrt} ca-file ${ca} verify required alpn h2,http/1.1\n  default_backend app\nbackend app\n  server app 127.0.0.1:${o.appPort}\n`);
    writeFileSync(join(o.dir, 'plain-out.cfg'), `${PLAIN_GLOBAL(outSock)}frontend outbound\n  bind 127.0.0.1:${outPort}\n  default_backend up\nbackend up\n  server s 127.0.0.1:${inPort} ssl crt ${outCrt} ca-file ${ca} verify required alpn http/1.1\n`);
    for (const name of ['plain-in', 'plain-out']) {
      const p = spawn(bin, ['-W', '-db', '-f', join(o.dir, `${name}.cfg`)], { stdio: 'ignore' });
      o.procs.push(p);
    }
    await until('plain HAProxy', 10_000, async () => (await haproxyPids(inSock)).length === 2 && (await haproxyPids(outSock)).length === 2);
    const inPids = await haproxyPids(inSock);
    const outPids = await haproxyPids(outSock);
    out.push({ path: 'haproxy-plain', name: 'plain HAProxy (mTLS inbound)', url: `https://127.0.0.1:${inPort}/`, host: 'app.bench', dispatcher: mtlsAgent(), pids: inPids, hops: 1 });
    out.push({ path: 'haproxy-plain-two', name: 'plain HAProxy x2 (mTLS between)', url: `http://127.0.0.1:${outPort}/`, host: 'app.bench', dispatcher: plainAgent(), pids: [...outPids, ...inPids], hops: 2 });
  }

  if (o.only.includes('haproxy') || o.only.includes('haproxy-two')) {
    const ports = { b: { in: await freePort(), out: await freePort(), admin: await freePort() }, a: { in: await freePort(), out: await freePort(), admin: await freePort() }, relay: await freePort(), agentAdmin: await freePort() };
    const caDir = join(o.dir, 'hap-ca');
    writePluginCaDir(caDir, o.pki.east);
    const staticFile = join(o.dir, 'hap-static.json');
    writeFileSync(staticFile, JSON.stringify({ services: [{
      namespace: 'bench', name: 'app', capacityRps: 100000,
      endpoints: [{ address: `127.0.0.1:${ports.b.in}`, labels: {}, healthCheckPort: ports.b.admin }],
      healthCheckPath: '/ready', healthCheck: { interval: '1s', timeout: '500ms', unhealthyThreshold: 2, healthyThreshold: 1, initialDelay: '30s' },
    }] }));
    // No balancer answers on this address: the agent still relays its endpoints and signs certificates (fail-static).
    await o.start(o.node, [o.meshfed, 'zone-agent', '--zone', 'bench/r1/a', '--cluster', 'east', '--network', 'n1', '--global-lb', `127.0.0.1:${await freePort()}`,
      '--static', staticFile, '--ca', caDir, '--trust-domain', o.pki.trustDomain, '--relay-listen', `127.0.0.1:${ports.relay}`, '--admin-listen', `127.0.0.1:${ports.agentAdmin}`,
      '--state-dir', join(o.dir, 'hap-agent-state')], /"event":"listening"/);
    await until('the zone agent', 15_000, async () => (await request(`http://127.0.0.1:${ports.agentAdmin}/healthz`)).statusCode < 500);
    const adapter = async (name: string, service: string, appPort: number, p: { in: number; out: number; admin: number }) => {
      const r = await o.start(o.node, [o.meshfed, 'proxy', 'haproxy', '--service', service, '--zone', 'a', '--app-port', String(appPort), '--agent', `127.0.0.1:${ports.relay}`,
        '--trust-domain', o.pki.trustDomain, '--inbound-port', String(p.in), '--outbound-port', String(p.out), '--admin-port', String(p.admin), '--work-dir', join(o.dir, `hap-${name}`)], /proxy haproxy .* \(HAProxy master pid (\d+)/);
      return [r.child.pid!, ...withChildren(Number(r.m[1]))];
    };
    const bPids = await adapter('b', 'bench/app', o.appPort, ports.b);
    const aPids = await adapter('a', 'bench/client', 1, ports.a);
    const probe = plainAgent();
    await until('the meshfed-driven outbound to route to the inbound', 30_000, async () => {
      const r = await request(`http://127.0.0.1:${ports.a.out}/`, { dispatcher: probe, headers: { host: 'app.bench' } });
      await r.body.dump();
      return r.statusCode === 200;
    });
    out.push({ path: 'haproxy', name: 'meshfed HAProxy (mTLS inbound)', url: `https://127.0.0.1:${ports.b.in}/`, host: 'app.bench', dispatcher: mtlsAgent(), pids: bPids, hops: 1 });
    out.push({ path: 'haproxy-two', name: 'meshfed HAProxy x2 (mTLS between)', url: `http://127.0.0.1:${ports.a.out}/`, host: 'app.bench', dispatcher: plainAgent(), pids: [...aPids, ...bPids], hops: 2 });
  }
  return out.filter((t) => o.only.includes(t.path));
}

/** RSS of the adapter plus its HAProxy (MB), the figure the issue's 60 MB goal is about. */
export function dataPlaneRssMb(pids: readonly number[], rssMb: (pid: number) => number): number {
  return pids.reduce((s, p) => s + (Number.isFinite(rssMb(p)) ? rssMb(p) : 0), 0);
}

/** `npm run bench -- sidecar-haproxy [args]`: the sidecar benchmark with only the HAProxy rows (and direct). */
export async function main(args: string[]): Promise<void> {
  const { main: sidecar } = await import('./sidecar.ts');
  await sidecar(args.includes('--only') ? args : [...args, '--only', 'haproxy-plain,haproxy-plain-two,haproxy,haproxy-two']);
}
