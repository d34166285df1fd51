// Sidecar benchmark: direct vs a bare Node mTLS proxy vs one sidecar (mTLS inbound) vs two sidecars vs nginx vs plain and meshfed-driven HAProxy, one load generator.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request, type Dispatcher } from 'undici';
import { createTestPki } from '../trust/testing.ts';
import { startHaproxyTargets, dataPlaneRssMb } from './sidecar-haproxy.ts';

const root = join(import.meta.dirname, '..');
const NGINX = '/usr/sbin/nginx';

const PATHS = ['direct', 'floor', 'one', 'two', 'nginx', 'haproxy-plain', 'haproxy-plain-two', 'haproxy', 'haproxy-two'] as const;
type PathName = (typeof PATHS)[number];
interface Args { seconds: number; concurrency: number; rate: number; only: readonly PathName[] }

const USAGE = `usage: npm run bench -- sidecar [--seconds N] [--concurrency N] [--rate N] [--only ${PATHS.join(',')}]`;

function parseArgs(args: string[]): Args {
  const out: Args = { seconds: 5, concurrency: 32, rate: 1000, only: PATHS };
  for (let i = 0; i < args.length; i += 2) {
    const k = args[i]?.replace(/^--/, '');
    const raw = args[i + 1] ?? '';
    if (k === 'only') {
      const names = raw.split(',');
      const bad = names.filter((n) => !(PATHS as readonly string[]).includes(n));
      if (bad.length > 0 || raw === '') throw new Error(`--only: unknown path "${bad.join(',')}"; ${USAGE}`);
      out.only = names as PathName[];
      continue;
    }
    const v = Number(raw);
    if ((k !== 'seconds' && k !== 'concurrency' && k !== 'rate') || !Number.isFinite(v) || v <= 0) throw new Error(USAGE);
    out[k] = v;
  }
  // Ratios are quoted against direct, so it always runs.
  if (!out.only.includes('direct')) out.only = ['direct', ...out.only];
  return out;
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/**
 * Memory only this process holds (USS: private clean + dirty pages, from smaps_rollup). RSS also counts the ~50 MB of
 * the node binary's mapped text, which every Node process on a host shares; USS is what one more sidecar costs.
 */
function privateMb(pid: number): number {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return (kb('Private_Clean') + kb('Private_Dirty')) / 1024;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * How the sidecars run, as docs/sidecar.md recommends for `meshfed sidecar`: a small young generation (V8 otherwise
 * lets each semi-space grow to 16 MiB and keeps it), two malloc arenas (glibc otherwise makes one per thread), and
 * a compile cache, so the TypeScript sources are not type-stripped again on each start (that loads a WebAssembly
 * stripper, ~18 MB). MESHFED_BENCH_NODE_FLAGS overrides the flags (space separated; empty for Node's defaults),
 * e.g. "--max-semi-space-size=2 --max-old-space-size=128" for docs/sidecar.md's memory-bounded settings.
 */
const SIDECAR_NODE_FLAGS = (process.env['MESHFED_BENCH_NODE_FLAGS'] ?? '--max-semi-space-size=2').split(' ').filter(Boolean);
const SIDECAR_ENV = { MALLOC_ARENA_MAX: process.env['MALLOC_ARENA_MAX'] ?? '2' };
const COMPILE_CACHE = join(tmpdir(), 'meshfed-compile-cache');

/** Spawns a process and resolves once `ready` matches its stdout (or stderr), returning the match. */
function start(cmd: string, argv: string[], ready: RegExp, procs: ChildProcess[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; m: RegExpExecArray; readyMs: number }> {
  const t0 = performance.now();
  // MESHFED_BENCH_PROFILE=DIR writes a CPU profile of each sidecar process there (for finding hot spots).
  const prof = process.env['MESHFED_BENCH_PROFILE'];
  // `meshfed proxy haproxy` (the HAProxy adapter) runs with the same flags as a sidecar.
  if (argv.includes('sidecar') || argv.includes('proxy')) {
    argv = [...SIDECAR_NODE_FLAGS, ...argv];
    env = { NODE_COMPILE_CACHE: COMPILE_CACHE, ...SIDECAR_ENV, ...env };
  }
  if (prof && argv.includes('sidecar')) argv = [`--cpu-prof`, `--cpu-prof-dir=${prof}`, ...argv];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MESHFED_LOG_LEVEL: 'warn', ...env } });
    procs.push(child);
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${cmd} ${argv.join(' ')} did not start: ${out}`)), 20_000);
    const on = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) { clearTimeout(timer); resolve({ child, m, readyMs: performance.now() - t0 }); }
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
    child.once('exit', (code) => reject(new Error(`${cmd} exited ${code}: ${out}`)));
  });
}

const APP = `
const http = require('node:http');
const body = Buffer.from('{"ok":true,"payload":"${'x'.repeat(64)}"}');
const s = http.createServer({ keepAliveTimeout: 60000 }, (req, res) => { req.resume(); res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }); res.end(body); });
s.listen(0, '127.0.0.1', () => console.log('app ' + s.address().port));
`;

/**
 * The floor for a Node proxy on this path: the same mTLS termination (client certificate required) and the same
 * undici pool to the app, with nothing else — no verifyPeer, routing, layers, trace headers or metrics. The sidecar's
 * cost above this row is meshfed's; the cost of this row is Node's and undici's.
 */
const FLOOR = (certFile: string, keyFile: string, caFile: string, appPort: number) => `
const https = require('node:https');
const fs = require('node:fs');
const { Pool } = require(${JSON.stringify(join(root, 'node_modules', 'undici'))});
const pool = new Pool('http://127.0.0.1:${appPort}', { connections: 128, keepAliveTimeout: 30000 });
const s = https.createServer({ cert: fs.readFileSync(${JSON.stringify(certFile)}), key: fs.readFileSync(${JSON.stringify(keyFile)}), ca: fs.readFileSync(${JSON.stringify(caFile)}), requestCert: true, rejectUnauthorized: true, keepAliveTimeout: 30000 }, async (req, res) => {
  try {
    const up = await pool.request({ method: req.method, path: req.url, headers: { host: req.headers.host } });
    res.writeHead(up.statusCode, up.headers);
    up.body.pipe(res);
  } catch { res.statusCode = 502; res.end(); }
});
s.listen(0, '127.0.0.1', () => console.log('floor ' + s.address().port));
`;

interface Target { name: string; url: string; host: string; dispatcher: Dispatcher; pids: number[]; admins?: number[]; hops?: number; sumRss?: boolean }

/** A sidecar's memory as its admin /stats splits it (MB): where the RSS goes, V8 heap or native. */
async function memoryLine(adminPort: number): Promise<string> {
  const r = await request(`http://127.0.0.1:${adminPort}/stats`);
  const m = ((await r.body.json()) as { memory_bytes: Record<string, number> }).memory_bytes;
  return Object.entries(m).map(([k, v]) => `${k} ${(v / 1048576).toFixed(1)}`).join(', ');
}

async function closedLoop(t: Target, seconds: number, concurrency: number): Promise<{ rps: number; errors: number }> {
  const end = performance.now() + seconds * 1000;
  let done = 0, errors = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      try {
        const r = await request(t.url, { dispatcher: t.dispatcher, headers: { host: t.host } });
        await r.body.dump();
        if (r.statusCode === 200) done++; else errors++;
      } catch { errors++; }
    }
  }));
  return { rps: done / seconds, errors };
}

/** Open loop at a fixed rate; latency is measured from each request's scheduled start, so stalls are not hidden. */
async function fixedRate(t: Target, seconds: number, rate: number): Promise<{ p50: number; p99: number; errors: number; cpuPer1000: number }> {
  const n = Math.round(seconds * rate);
  const lat: number[] = [];
  let errors = 0;
  const cpu0 = t.pids.reduce((s, p) => s + cpuSeconds(p), 0);
  const t0 = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const due = t0 + (i * 1000) / rate;
    // Never send early: wait out the rest of the slot (timers have 1 ms granularity, so spin the last bit).
    while (performance.now() < due) {
      const wait = due - performance.now();
      if (wait > 1.5) await new Promise((r) => setTimeout(r, wait - 1));
      else await new Promise((r) => setImmediate(r));
    }
    inflight.push((async () => {
      try {
        const r = await request(t.url, { dispatcher: t.dispatcher, headers: { host: t.host } });
        await r.body.dump();
        if (r.statusCode !== 200) errors++;
      } catch { errors++; }
      lat.push(performance.now() - due);
    })());
  }
  await Promise.all(inflight);
  const cpu = t.pids.reduce((s, p) => s + cpuSeconds(p), 0) - cpu0;
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  return { p50: q(0.5), p99: q(0.99), errors, cpuPer1000: t.pids.length > 0 ? cpu / (n / 1000) : NaN };
}

export async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-bench-'));
  const procs: ChildProcess[] = [];
  const agents: Agent[] = [];
  try {
    const node = process.execPath;
    const app = await start(node, ['-e', APP], /app (\d+)/, procs);
    const appPort = Number(app.m[1]);

    // Certificates for the two sidecars and the load generator (which plays a mesh client for the one-sidecar path).
    const pki = await createTestPki({ trustDomain: 'bench.test' });
    const files = async (name: string) => {
      const w = await pki.issue(`spiffe://bench.test/ns/bench/sa/${name}`, { usages: ['server', 'client'] });
      writeFileSync(join(dir, `${name}.crt`), w.chainPem);
      writeFileSync(join(dir, `${name}.key`), w.keyPem);
      writeFileSync(join(dir, 'root.pem'), pki.root.certPem);
      return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`), ca: join(dir, 'root.pem'), w };
    };
    const appCerts = await files('app');
    const cliCerts = await files('client');
    const loadCerts = await files('loadgen');
    const zones = { a: { network: 'n1' } };
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ trustDomain: 'bench.test', zones, certificates: { cert: appCerts.cert, key: appCerts.key, ca: appCerts.ca } }));
    const portsRe = /outbound [\d.]+:(\d+) inbound [\d.]+:(\d+) admin [\d.]+:(\d+)/;
    const meshfed = join(root, 'cli/meshfed.ts');
    const b = await start(node, [meshfed, 'sidecar', '--service', 'bench/app', '--zone', 'a', '--app-port', String(appPort), '--config', join(dir, 'b.json'),
      '--inbound-port', '0', '--outbound-port', '0', '--admin-port', '0', '--access-log-sample', '0'], portsRe, procs);
    const bInbound = Number(b.m[2]);
    writeFileSync(join(dir, 'a.json'), JSON.stringify({
      trustDomain: 'bench.test', zones, certificates: { cert: cliCerts.cert, key: cliCerts.key, ca: cliCerts.ca },
      services: { 'bench/app': { identity: appCerts.w.spiffeId, endpoints: { a: [`127.0.0.1:${bInbound}`] } } },
    }));
    const a = await start(node, [meshfed, 'sidecar', '--service', 'bench/client', '--zone', 'a', '--app-port', '1', '--config', join(dir, 'a.json'),
      '--inbound-port', '0', '--outbound-port', '0', '--admin-port', '0', '--access-log-sample', '0'], portsRe, procs);
    const aOutbound = Number(a.m[1]);
    // Start-up cost before any traffic: time to the listening line and RSS once idle.
    await new Promise((r) => setTimeout(r, 1000));
    const startup = `sidecar start-up: ready in ${b.readyMs.toFixed(0)} / ${a.readyMs.toFixed(0)} ms, idle RSS ${rssMb(b.child.pid!).toFixed(1)} / ${rssMb(a.child.pid!).toFixed(1)} MB (inbound / outbound sidecar)`;

    let nginxTarget: Target | undefined;
    if (!args.only.includes('nginx')) {
      // not asked for
    } else if (existsSync(NGINX)) {
      const nginxPort = 20000 + Math.floor(Math.random() * 20000);
      const conf = `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/nginx.err warn;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path ${dir}/cb; proxy_temp_path ${dir}/pt; fastcgi_temp_path ${dir}/ft; uwsgi_temp_path ${dir}/ut; scgi_temp_path ${dir}/st;
  upstream app { server 127.0.0.1:${appPort}; keepalive 128; }
  server { listen 127.0.0.1:${nginxPort}; location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; } } }`;
      writeFileSync(join(dir, 'nginx.conf'), conf);
      const ng = spawn(NGINX, ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
      procs.push(ng);
      const probe = new Agent();
      agents.push(probe);
      const deadline = Date.now() + 10_000;
      for (;;) {
        try { const r = await request(`http://127.0.0.1:${nginxPort}/`, { dispatcher: probe }); await r.body.dump(); break; } catch { if (Date.now() > deadline) throw new Error('nginx did not start'); await new Promise((r) => setTimeout(r, 50)); }
      }
      const workerPids = readFileSync(`/proc/${ng.pid}/task/${ng.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      const ag = new Agent({ connections: args.concurrency * 2, allowH2: false });
      agents.push(ag);
      nginxTarget = { name: 'nginx (1 worker)', url: `http://127.0.0.1:${nginxPort}/`, host: 'app', dispatcher: ag, pids: [ng.pid!, ...workerPids] };
    } else {
      console.log('nginx is not installed: apt-get install -y nginx-light (the nginx row is skipped)');
    }

    const mk = (opts?: ConstructorParameters<typeof Agent>[0]) => { const ag = new Agent({ connections: args.concurrency * 2, allowH2: false, ...opts }); agents.push(ag); return ag; };
    let floor: Target | undefined;
    if (args.only.includes('floor')) {
      const f = await start(node, [...SIDECAR_NODE_FLAGS, '-e', FLOOR(appCerts.cert, appCerts.key, appCerts.ca, appPort)], /floor (\d+)/, procs, SIDECAR_ENV);
      floor = {
        name: 'Node floor (mTLS + undici only)', url: `https://127.0.0.1:${f.m[1]}/`, host: 'app.bench',
        dispatcher: mk({ connect: { cert: loadCerts.w.chainPem, key: loadCerts.w.keyPem, ca: [pki.root.certPem], servername: 'app.bench.svc.meshfed', checkServerIdentity: () => undefined } }),
        pids: [f.child.pid!],
      };
    }
    const all: (Target & { path: PathName })[] = [
      { path: 'direct', name: 'direct', url: `http://127.0.0.1:${appPort}/`, host: 'app', dispatcher: mk(), pids: [] },
      ...(floor ? [{ ...floor, path: 'floor' as const }] : []),
      {
        path: 'one', name: 'one sidecar (mTLS inbound)', url: `https://127.0.0.1:${bInbound}/`, host: 'app.bench',
        dispatcher: mk({ connect: { cert: loadCerts.w.chainPem, key: loadCerts.w.keyPem, ca: [pki.root.certPem], servername: 'app.bench.svc.meshfed', checkServerIdentity: () => undefined } }),
        pids: [b.child.pid!], admins: [Number(b.m[3])],
      },
      { path: 'two', name: 'two sidecars (mTLS between)', url: `http://127.0.0.1:${aOutbound}/`, host: 'app.bench', dispatcher: mk(), pids: [a.child.pid!, b.child.pid!], admins: [Number(a.m[3]), Number(b.m[3])] },
      ...(nginxTarget ? [{ ...nginxTarget, path: 'nginx' as const }] : []),
      // HAProxy rows: RSS is the sum over the data plane's processes (adapter + HAProxy master + worker), CPU per proxy.
      ...(await startHaproxyTargets({
        dir, node, meshfed, appPort, pki, loadCert: loadCerts.w, procs, agents, concurrency: args.concurrency, only: args.only,
        start: async (cmd, argv, ready, env) => start(cmd, argv, ready, procs, env),
      })).map((t) => ({ ...t, sumRss: true })),
    ];
    const targets = all.filter((t) => args.only.includes(t.path));
    const appPid = app.child.pid!;
    console.log(`sidecar node flags: ${SIDECAR_NODE_FLAGS.join(' ') || '(none)'}; MALLOC_ARENA_MAX=${SIDECAR_ENV.MALLOC_ARENA_MAX}; NODE_COMPILE_CACHE=${COMPILE_CACHE}`);
    // Other work on the host moves every wall-clock figure here; the load average says how much to trust a run.
    const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
    console.log(`load average at start (1/5/15 min): ${load()}`);
    console.log(startup);
    console.log(`sidecar bench: ${args.seconds}s closed loop at concurrency ${args.concurrency}, ${args.seconds}s open loop at ${args.rate} rps; load generator: undici in this process`);
    const rows: { name: string; rps: number; p50: number; p99: number; cpu: number; rss: number; uss: number; errors: number }[] = [];
    for (const t of targets) {
      await closedLoop(t, 1, args.concurrency); // warm up connections and JIT
      const cl = await closedLoop(t, args.seconds, args.concurrency);
      const rss = t.sumRss ? dataPlaneRssMb(t.pids, rssMb) / (t.hops ?? 1) : t.pids.length > 0 ? Math.max(...t.pids.map(rssMb)) : rssMb(appPid);
      const uss = t.sumRss ? dataPlaneRssMb(t.pids, privateMb) / (t.hops ?? 1) : t.pids.length > 0 ? Math.max(...t.pids.map(privateMb)) : privateMb(appPid);
      // The fixed rate follows the closed loop at once, so each path is measured at a steady rate. Interleaving the
      // paths in 1 s slices was tried and dropped: it leaves each sidecar idle between slices, and it did not make
      // the tail steadier (p99 19-33 ms in those runs; the code before this session gave 3-90 ms in the same hour).
      const fr = await fixedRate(t, args.seconds, args.rate);
      for (const port of t.admins ?? []) console.log(`memory after "${t.name}", sidecar admin :${port} (MB): ${await memoryLine(port)}`);
      rows.push({ name: t.name, rps: cl.rps, p50: fr.p50, p99: fr.p99, cpu: fr.cpuPer1000 / Math.max(1, t.hops ?? (t.name.startsWith('two') ? 2 : 1)), rss, uss, errors: cl.errors + fr.errors });
    }
    const direct = rows[0]!;
    const ng = rows.find((r) => r.name.startsWith('nginx'));
    console.log('\n| path | rps @c' + args.concurrency + ' | p50 ms @' + args.rate + ' rps | p99 ms | CPU-s / 1000 req (per proxy) | RSS MB (max proxy; HAProxy rows: sum per hop) | private MB (USS, same) | errors | rps vs nginx | rps vs direct |');
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      console.log(`| ${r.name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${Number.isNaN(r.cpu) ? '-' : r.cpu.toFixed(3)} | ${r.rss.toFixed(1)}${r.name === 'direct' ? ' (app)' : ''} | ${r.uss.toFixed(1)} | ${r.errors} | ${ng ? (r.rps / ng.rps).toFixed(2) : '-'} | ${(r.rps / direct.rps).toFixed(2)} |`);
    }
    console.log(`\nload average at end (1/5/15 min): ${load()}`);
    const two = rows.find((r) => r.name.startsWith('two'));
    const one = rows.find((r) => r.name.startsWith('one'));
    if (one && two) {
      console.log(`\nadded p99 per hop at ${args.rate} rps: one sidecar ${(one.p99 - direct.p99).toFixed(2)} ms; two sidecars ${((two.p99 - direct.p99) / 2).toFixed(2)} ms per hop`);
    }
    const by = (prefix: string) => rows.find((r) => r.name.startsWith(prefix));
    const [hp, hp2, hm, hm2] = [by('plain HAProxy ('), by('plain HAProxy x2'), by('meshfed HAProxy ('), by('meshfed HAProxy x2')];
    if (hm && hm2) {
      console.log(`meshfed HAProxy (goal: p99 +1 ms per mTLS hop at most): one hop +${(hm.p99 - direct.p99).toFixed(2)} ms; two hops +${((hm2.p99 - direct.p99) / 2).toFixed(2)} ms per hop; RSS adapter + HAProxy ${hm.rss.toFixed(1)} MB per workload (goal 60), private (USS) ${hm.uss.toFixed(1)} MB`);
    }
    if (hp && hm) console.log(`meshfed HAProxy vs plain HAProxy, one hop (goal: CPU ≤ 1.1x, rps ≥ 1/1.1x): CPU ${(hm.cpu / hp.cpu).toFixed(2)}x, rps ${(hm.rps / hp.rps).toFixed(2)}x`);
    if (hp2 && hm2) console.log(`meshfed HAProxy vs plain HAProxy, two hops: CPU ${(hm2.cpu / hp2.cpu).toFixed(2)}x, rps ${(hm2.rps / hp2.rps).toFixed(2)}x`);
  } finally {
    for (const ag of agents) await ag.close().catch(() => {});
    for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
