// Benchmark: a zone agent (the real `meshfed zone-agent` process) discovering a large multi-zone cluster from the fake
// Kubernetes API server: time to its first complete report at the real global-lb, its memory (RSS, peak RSS), the
// time for one EndpointSlice change to reach a report, and the same after 410 Gone forces a relist.
// Flags: --slices N (default 5000), --per-slice N endpoints per slice (default 10), --zones N (default 3).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createLogger } from '../common/logger.ts';
import { openStore } from '../global-lb/store/index.ts';
import { KEYS, type Store } from '../global-lb/store/store.ts';
import { startGlobalLb } from '../global-lb/index.ts';
import { FakeKubeApi, endpointSlice, node, service } from '../test/fakes/kube-api.ts';

const ROOT = join(import.meta.dirname, '..');

interface Shape { slices: number; perSlice: number; zones: number }

/** Zone i of the cluster: z0 is the agent's. */
const zoneName = (i: number) => `zone-${i}`;
const ip = (n: number) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;

/** Fills the fake API: 10 slices per service, endpoints spread round-robin over the zones (as the controller mixes them). */
function seed(api: FakeKubeApi, s: Shape): number {
  for (let z = 0; z < s.zones; z++) api.apply('nodes', node(`node-${z}`, 'r1', zoneName(z)));
  const services = Math.ceil(s.slices / 10);
  for (let i = 0; i < services; i++) api.apply('services', service('bench', `svc-${i}`));
  let n = 0;
  let mine = 0;
  for (let i = 0; i < s.slices; i++) {
    const eps = Array.from({ length: s.perSlice }, () => {
      const zone = zoneName(n % s.zones);
      if (n % s.zones === 0) mine++;
      return { ip: ip(++n), zone };
    });
    api.apply('endpointslices', endpointSlice('bench', `svc-${i % services}-${Math.floor(i / services)}`, `svc-${i % services}`, 8080, eps));
  }
  return mine;
}

const parsed = new Map<string, { modRevision: number; endpoints: number }>();

/** Endpoints in the zone's latest report at the store, or -1 before the first (parsed once per stored version). */
async function reportedEndpoints(store: Store, zone: string): Promise<number> {
  const kv = await store.get(KEYS.zoneReport(zone));
  if (!kv) return -1;
  const seen = parsed.get(zone);
  if (seen?.modRevision === kv.modRevision) return seen.endpoints;
  const r = JSON.parse(kv.value) as { report: { services: { total_endpoints: number }[] } };
  const endpoints = r.report.services.reduce((a, s) => a + s.total_endpoints, 0);
  parsed.set(zone, { modRevision: kv.modRevision, endpoints });
  return endpoints;
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** VmRSS and VmHWM (peak) of a process, in MB. */
function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** The fake API, the real global-lb and a work dir, torn down after fn. */
async function withCluster<T>(s: Shape, fn: (c: { api: FakeKubeApi; store: Store; grpcPort: number; dir: string; kubeconfig: string; expected: number }) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-bench-disc-'));
  const api = await new FakeKubeApi().start();
  const store = await openStore({ kind: 'memory' });
  const lb = await startGlobalLb({
    store, replicaId: 'bench', insecure: true, grpcListen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 },
    heartbeatMs: 1000, leaseTtlSeconds: 5, processMetrics: false, logger: createLogger({ component: 'global-lb', level: 'silent' }),
  });
  try {
    const expected = s.slices === 0 ? 0 : seed(api, s);
    return await fn({ api, store, grpcPort: lb.grpcPort, dir, kubeconfig: api.writeKubeconfig(join(dir, 'kubeconfig')), expected });
  } finally {
    await lb.close();
    await store.close();
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** The whole agent (`meshfed zone-agent`): time to its first complete report at global-lb, memory, admin responsiveness. */
async function runAgent(s: Shape): Promise<Record<string, number | undefined>> {
  return withCluster(s, async ({ store, grpcPort, dir, kubeconfig, expected }) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [join(ROOT, 'cli/meshfed.ts'), 'zone-agent', '--zone', `bench/r1/${zoneName(0)}`, '--cluster', 'c1', '--network', 'n1',
      '--global-lb', `127.0.0.1:${grpcPort}`, '--kubeconfig', kubeconfig, '--insecure', '--admin-listen', '127.0.0.1:0', '--relay-listen', '127.0.0.1:0',
      '--state-dir', join(dir, 'state')], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, MESHFED_LOG_LEVEL: 'error' } });
    try {
      let admin = '';
      const lines = createInterface({ input: child.stdout! });
      const listening = new Promise<number>((resolve) => lines.on('line', (l) => {
        if (!l.includes('"listening"')) return;
        admin = (JSON.parse(l) as { admin: string }).admin;
        resolve(performance.now() - t0);
      }));
      const zone = zoneName(0);
      await until('the first complete report', async () => (await reportedEndpoints(store, zone)) === expected && (expected > 0 || (await store.get(KEYS.zoneReport(zone))) !== undefined), 120_000);
      const firstReportMs = performance.now() - t0;
      const listeningMs = await listening;
      const mem = memoryMb(child.pid!);
      // How long GET /v1/status takes 2 s after the first report: the agent's event loop, busy or not.
      await new Promise((r) => setTimeout(r, 2000));
      const t1 = performance.now();
      const statusMs = await fetch(`${admin}/v1/status`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.text()).then(() => performance.now() - t1, () => Number.NaN);
      return { slices: s.slices, endpoints: s.slices * s.perSlice, zoneEndpoints: expected, listeningMs, firstReportMs, statusMs, rssMb: mem.rss, peakRssMb: Math.max(mem.peak, memoryMb(child.pid!).peak) };
    } finally {
      await stopChild(child);
    }
  });
}

/** Discovery alone (KubernetesDiscovery in its own process): first full view, one change, a 410 relist, memory. */
async function runDiscovery(s: Shape): Promise<Record<string, number | undefined>> {
  return withCluster(s, async ({ api, kubeconfig, expected }) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [join(ROOT, 'bench/run.ts'), 'discovery', '--child', kubeconfig, '--zone', zoneName(0)], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const views: { endpoints: number; at: number }[] = [];
      createInterface({ input: child.stdout! }).on('line', (l) => views.push({ ...(JSON.parse(l) as { endpoints: number }), at: performance.now() }));
      const seen = (n: number, after: number) => views.find((v) => v.endpoints === n && v.at >= after);
      await until('the first full view', async () => seen(expected, t0) !== undefined, 120_000);
      const firstViewMs = seen(expected, t0)!.at - t0;
      const mem = memoryMb(child.pid!);
      const base = { slices: s.slices, endpoints: s.slices * s.perSlice, zoneEndpoints: expected, firstViewMs, rssMb: mem.rss };
      // An empty cluster is the baseline: there is no service to change.
      if (s.slices === 0) return { ...base, peakRssMb: mem.peak };
      const zone = zoneName(0);
      const t1 = performance.now();
      api.apply('endpointslices', endpointSlice('bench', 'extra', 'svc-0', 8080, [{ ip: '10.255.0.1', zone }]));
      await until('the change', async () => seen(expected + 1, t1) !== undefined, 60_000);
      const changeMs = seen(expected + 1, t1)!.at - t1;
      // 410 Gone: watches dropped, a change made meanwhile, the log compacted; every resource is relisted.
      const t2 = performance.now();
      api.dropWatches();
      api.delete('endpointslices', 'bench', 'extra');
      api.compact();
      await until('the relist', async () => seen(expected, t2) !== undefined, 120_000);
      const relistMs = seen(expected, t2)!.at - t2;
      const after = memoryMb(child.pid!);
      return { ...base, changeMs, relistMs, rssAfterRelistMb: after.rss, peakRssMb: after.peak };
    } finally {
      await stopChild(child);
    }
  });
}

/** The child of runDiscovery: one line per view change, `{"endpoints":N}`. */
async function discoveryChild(kubeconfig: string, zone: string): Promise<void> {
  const { KubernetesDiscovery } = await import('../zone-agent/discovery/kubernetes.ts');
  const d = new KubernetesDiscovery({ kubeconfig, zone, logger: createLogger({ component: 'bench', level: 'error' }) });
  const print = () => process.stdout.write(`${JSON.stringify({ endpoints: d.current().reduce((a, svc) => a + svc.endpoints.length, 0) })}\n`);
  d.onChange(print);
  await d.start();
  print();
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  await d.stop();
}

function table(title: string, rows: Record<string, number | undefined>[]): void {
  const f = (v: number | undefined) => (v === undefined ? '-' : Number.isNaN(v) ? 'timeout' : Number.isInteger(v) ? String(v) : v.toFixed(1));
  const cols = Object.keys(rows[rows.length - 1]!);
  console.log(`\n${title}\n| ${cols.join(' | ')} |\n|${cols.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${cols.map((c) => f(r[c])).join(' | ')} |`);
}

export async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { slices: { type: 'string', default: '5000' }, 'per-slice': { type: 'string', default: '10' }, zones: { type: 'string', default: '3' }, child: { type: 'string' }, zone: { type: 'string' } },
  });
  if (values.child !== undefined) return discoveryChild(values.child, values.zone ?? zoneName(0));
  if (positionals.length > 0) throw new Error(`unexpected arguments: ${positionals.join(' ')}`);
  const shape: Shape = { slices: Number(values.slices), perSlice: Number(values['per-slice']), zones: Number(values.zones) };
  console.log(`# discovery: ${new Date().toISOString()}, ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const disc = [await runDiscovery({ ...shape, slices: 0 }), await runDiscovery(shape)];
  table('Discovery alone (KubernetesDiscovery, own process):', disc);
  const agent = [await runAgent({ ...shape, slices: 0 }), await runAgent(shape)];
  table('The whole agent (meshfed zone-agent, default 1 s reports):', agent);
  console.log(`# load after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(JSON.stringify({ discovery: disc, agent }));
}
