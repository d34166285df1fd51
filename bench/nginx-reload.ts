// nginx as an outbound data plane driven by reloads: 100 weight changes as graceful reloads (SIGHUP) under load: failed requests, CPU, latency, against the same load without reloads.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { parseSidecarConfig } from '../api/sidecar-config.ts';
import { buildProxyModel } from '../proxy/model.ts';
import { renderNginxConfig } from '../proxy/render-nginx.ts';

const NGINX = process.env['MESHFED_NGINX_BIN'] ?? '/usr/sbin/nginx';
const APP = (name: string) => `
const http = require('node:http');
const body = Buffer.from(JSON.stringify({ app: ${JSON.stringify(name)} }));
const s = http.createServer({ keepAliveTimeout: 60000 }, (req, res) => { req.resume(); res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }); res.end(body); });
s.listen(0, '127.0.0.1', () => console.log('app ' + s.address().port));
`;

function ticks(pid: number, withChildren: boolean): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const x = f.slice(f.lastIndexOf(')') + 2).split(' ').map(Number);
    return x[11]! + x[12]! + (withChildren ? x[13]! + x[14]! : 0);
  } catch {
    return 0;
  }
}

/** CPU seconds of nginx: the master with its reaped workers, plus the live workers. */
function nginxCpu(master: number): number {
  let live = 0;
  try {
    for (const p of readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) live += ticks(Number(p), false);
  } catch { /* gone */ }
  return (ticks(master, true) + live) / 100;
}

async function startApp(name: string, procs: ChildProcess[]): Promise<number> {
  const c = spawn(process.execPath, ['-e', APP(name)], { stdio: ['ignore', 'pipe', 'inherit'] });
  procs.push(c);
  return new Promise((resolve) => c.stdout!.on('data', (d: Buffer) => { const m = /app (\d+)/.exec(d.toString()); if (m) resolve(Number(m[1])); }));
}

async function load(url: string, agent: Agent, seconds: number, concurrency: number, during?: () => Promise<void>): Promise<{ n: number; errors: number; p99: number; shares: Record<string, number> }> {
  const end = performance.now() + seconds * 1000;
  const lat: number[] = [];
  const by: Record<string, number> = {};
  let errors = 0;
  const side = during?.();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      try {
        const r = await request(url, { dispatcher: agent, headers: { host: 'app.bench' } });
        const text = await r.body.text();
        if (r.statusCode === 200) { const a = (JSON.parse(text) as { app: string }).app; by[a] = (by[a] ?? 0) + 1; } else errors++;
      } catch { errors++; }
      lat.push(performance.now() - t);
    }
  }));
  await side;
  lat.sort((a, b) => a - b);
  const n = lat.length;
  return { n, errors, p99: lat[Math.floor(0.99 * n)] ?? NaN, shares: Object.fromEntries(Object.entries(by).map(([k, v]) => [k, v / Math.max(1, n - errors)])) };
}

export async function main(argv: string[]): Promise<void> {
  const seconds = Number(argv[argv.indexOf('--seconds') + 1] ?? 10) || 10;
  const reloads = Number(argv[argv.indexOf('--reloads') + 1] ?? 100) || 100;
  if (!existsSync(NGINX)) {
    console.log(`${NGINX} is not installed (apt-get install -y nginx-light); nothing measured`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-nginx-'));
  for (const d of ['cb', 'pt', 'ft', 'ut', 'st']) mkdirSync(join(dir, d));
  const procs: ChildProcess[] = [];
  const agent = new Agent({ connections: 64 });
  try {
    const [pa, pb] = [await startApp('a', procs), await startApp('b', procs)];
    const port = 20000 + Math.floor(Math.random() * 20000);
    const conf = (east: number) => renderNginxConfig(buildProxyModel(parseSidecarConfig(JSON.stringify({
      zone: 'a', zones: { a: { network: 'n1' }, b: { network: 'n1' } },
      services: { 'bench/app': { endpoints: { a: [{ address: `127.0.0.1:${pa}` }], b: [{ address: `127.0.0.1:${pb}` }] }, weights: { a: east, b: 10000 - east }, tiers: { a: 0, b: 1 } } },
    }), 'bench'), 'a'), { host: '127.0.0.1', outboundPort: port, dir, plainUpstreams: true });
    const file = join(dir, 'nginx.conf');
    writeFileSync(file, conf(7000));
    const ng = spawn(NGINX, ['-c', file, '-p', dir], { stdio: 'ignore' });
    procs.push(ng);
    const url = `http://127.0.0.1:${port}/`;
    for (let i = 0; ; i++) {
      try { const r = await request(url, { dispatcher: agent, headers: { host: 'app.bench' } }); await r.body.dump(); if (r.statusCode === 200) break; } catch { /* not yet */ }
      if (i > 200) throw new Error(`nginx did not start: ${readFileSync(join(dir, 'nginx.err'), 'utf8')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    console.log(`nginx reload bench: ${seconds}s closed loop at concurrency 32 per phase; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    await load(url, agent, 1, 32);
    const c0 = nginxCpu(ng.pid!);
    const steady = await load(url, agent, seconds, 32);
    const c1 = nginxCpu(ng.pid!);
    let done = 0;
    const reloading = await load(url, agent, seconds, 32, async () => {
      const every = (seconds * 1000) / reloads;
      for (let i = 0; i < reloads; i++) {
        writeFileSync(file, conf(i % 2 === 0 ? 3000 : 7000));
        ng.kill('SIGHUP');
        done++;
        await new Promise((r) => setTimeout(r, every));
      }
    });
    const c2 = nginxCpu(ng.pid!);
    console.log('\n| phase | requests | failed | rps | p99 ms | nginx CPU-s / 1000 req | share a / b |');
    console.log('|---|---|---|---|---|---|---|');
    const row = (name: string, r: typeof steady, cpu: number) => console.log(`| ${name} | ${r.n} | ${r.errors} | ${(r.n / seconds).toFixed(0)} | ${r.p99.toFixed(2)} | ${(cpu / (r.n / 1000)).toFixed(3)} | ${(100 * (r.shares['a'] ?? 0)).toFixed(1)}% / ${(100 * (r.shares['b'] ?? 0)).toFixed(1)}% |`);
    row('weights 70/30, no reload', steady, c1 - c0);
    row(`${done} reloads (70/30 <-> 30/70)`, reloading, c2 - c1);
    console.log(`\nload average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    await agent.close().catch(() => {});
    for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
