// Benchmark of the dashboard at scale: an in-process global-lb replica on the in-memory store holding N services ×
// Z zones (real engine tables, default 1000 × 100) and Z zone reports, and the page in headless Chromium. Measures
// time to interactive, the page's JS heap and Chromium's memory, search, paging and zone-filter times, the live
// update of the shown matrix after a table is rewritten, and the replica's own memory and answer sizes.
// The page is served by a follower by default, so what is measured is the dashboard and not the engine: on the leader,
// each 1000 × 100 recompute holds the same event loop for a second or more (--on=leader measures that case).
// Flags: --services=N (default 1000), --zones=N (default 100), --runs=N page loads (default 3), --on=follower|leader.
import { cpus, loadavg } from 'node:os';
import { readFileSync, readdirSync } from 'node:fs';
import type { Page } from 'puppeteer-core';
import { openStore, KEYS } from '../global-lb/store/index.ts';
import { startGlobalLb } from '../global-lb/index.ts';
import { computeWeights, defaultPolicy, type ServiceTable } from '../global-lb/weights/index.ts';
import { createLogger } from '../common/logger.ts';
import { launchChromium } from '../test/support/chromium.ts';
import { federation } from './weights.ts';
import type { StoredZoneReport } from '../global-lb/server/report.ts';

// The browser globals the page functions use (the project's tsconfig has no DOM lib; they run in Chromium).
interface BrowserElement { readonly dataset: Record<string, string | undefined>; readonly textContent: string | null }
declare const document: { querySelectorAll(selector: string): ArrayLike<BrowserElement>; getElementById(id: string): BrowserElement | null };

function flag(args: readonly string[], name: string, dflt: number): number {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  const n = a ? Number(a.slice(name.length + 3)) : dflt;
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name}: a positive whole number`);
  return n;
}

/** RSS in MiB of a process and all its descendants (Chromium is a browser process plus renderers, GPU and utility). */
function treeRssMiB(root: number): number {
  const parent = new Map<number, number>();
  const rss = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(d), Number(fields[1]));
      rss.set(Number(d), Number(fields[21]) * 4096);
    } catch {
      // The process ended while listing.
    }
  }
  const inTree = (pid: number): boolean => {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p)) if (p === root) return true;
    return false;
  };
  let sum = 0;
  for (const [pid, bytes] of rss) if (inTree(pid)) sum += bytes;
  return sum / 2 ** 20;
}

function report(zone: string, cloud: string, region: string, now: number): StoredZoneReport {
  return {
    identity: { locality: { cloud, region, zone }, cluster: `k-${zone}`, network: 'n', gatewayAddress: `127.0.0.1:${20000 + Number(zone.slice(1))}`, agentId: `bench-${zone}`, agentVersion: 'bench' },
    report: { zone, sequence: '1', sent_at_unix_ms: String(now), window_ms: 1000, services: [], rtts: [], asked: [] },
    receivedAt: now,
    replicaId: 'bench',
  };
}

/** Milliseconds from now until the page function returns true (polled every animation frame). */
async function timeUntil(page: Page, f: string, timeoutMs = 60_000): Promise<number> {
  const t0 = performance.now();
  await page.waitForFunction(f, { timeout: timeoutMs, polling: 'raf' });
  return performance.now() - t0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (xs: number[], unit: string, digits = 0) => `median ${median(xs).toFixed(digits)} ${unit} (runs: ${xs.map((x) => x.toFixed(digits)).join(', ')})`;

export async function main(args: string[]): Promise<void> {
  const services = flag(args, 'services', 1000);
  const zones = flag(args, 'zones', 100);
  const runs = flag(args, 'runs', 3);
  const on = args.find((a) => a.startsWith('--on='))?.slice(5) ?? 'follower';
  if (on !== 'follower' && on !== 'leader') throw new Error('--on: follower or leader');
  console.log(`ui bench: ${services} services × ${zones} zones, ${runs} page loads on the ${on}; ${cpus().length} cpus (${cpus()[0]?.model ?? '?'}), load ${loadavg().map((l) => l.toFixed(2)).join(' ')}, ${new Date().toISOString()}`);

  let t = performance.now();
  const snap = federation(services, zones, 10);
  const pols = new Map([...new Set(snap.zones.flatMap((z) => [...z.services.keys()]))].map((k) => [k, defaultPolicy(k.split('/')[0]!, k.split('/')[1]!)]));
  const tables = [...computeWeights(snap, pols, undefined, Date.now()).tables.values()];
  const cells = tables.reduce((n, tb) => n + tb.rows.reduce((m, r) => m + r.targets.length, 0), 0);
  console.log(`engine tables: ${tables.length} services, ${cells} source×target cells, in ${(performance.now() - t).toFixed(0)} ms`);

  const store = await openStore({ kind: 'memory' });
  const now = Date.now();
  for (const [i, z] of snap.zones.entries()) await store.put(KEYS.zoneReport(z.locality.zone), JSON.stringify(report(z.locality.zone, z.locality.cloud, z.locality.region, now + i)));
  let bytes = 0;
  for (const tb of tables) {
    const text = JSON.stringify(tb);
    bytes += text.length;
    await store.put(KEYS.weight(tb.namespace, tb.name), text);
  }
  console.log(`store: ${zones} reports, ${tables.length} tables (${(bytes / 2 ** 20).toFixed(1)} MiB of JSON)`);
  // A campaign made first leads (lowest create revision), so the measured replica stays a follower.
  const other = on === 'follower' ? store.campaign(KEYS.election, 'bench-leader', 3600) : undefined;
  await other?.elected;
  const rssBefore = process.memoryUsage().rss / 2 ** 20;
  t = performance.now();
  const lb = await startGlobalLb({
    store, replicaId: 'bench', grpcListen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 },
    heartbeatMs: 1000, leaseTtlSeconds: 5, insecure: true, processMetrics: false, coldStartGraceMs: 0,
    logger: createLogger({ component: 'bench', level: 'warn' }),
  });
  while (lb.view.tables.size < tables.length) await new Promise((r) => setTimeout(r, 20));
  console.log(`replica mirrored the store in ${(performance.now() - t).toFixed(0)} ms; its process RSS ${rssBefore.toFixed(0)} -> ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB (bench process, tables and the history included)`);

  const sizes: string[] = [];
  for (const path of ['/v1/zones', '/v1/zones?outForLimit=3', '/v1/services?limit=50', `/v1/weights/${tables[0]!.namespace}/${tables[0]!.name}`, `/v1/history/${tables[0]!.namespace}/${tables[0]!.name}`, '/v1/weights']) {
    const t1 = performance.now();
    const body = await (await fetch(`${lb.adminUrl}${path}`)).text();
    sizes.push(`${path.replace('?limit=50', '')} ${(body.length / 1024).toFixed(0)} KiB in ${(performance.now() - t1).toFixed(0)} ms`);
  }
  console.log(`admin answers: ${sizes.join('; ')} (the page never reads /v1/weights)`);

  const browser = await launchChromium();
  try {
    const tti: number[] = [], heap: number[] = [], heapTotal: number[] = [], chromeRss: number[] = [], nodes: number[] = [];
    const search: number[] = [], open: number[] = [], filter: number[] = [], pageNext: number[] = [], live: number[] = [];
    const errors: string[] = [];
    const target = tables[tables.length - 1]!;
    const blank = await browser.newPage();
    const baseline = treeRssMiB(browser.process()!.pid!);
    await blank.close();
    console.log(`\nChromium RSS with one blank page (baseline): ${baseline.toFixed(0)} MiB`);
    for (let run = 0; run < runs; run++) {
      const page = await browser.newPage();
      await page.setViewport({ width: 1440, height: 1000 });
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      page.on('pageerror', (e) => errors.push(String(e)));
      const t0 = performance.now();
      await page.goto(`${lb.adminUrl}/ui/`, { waitUntil: 'domcontentloaded' });
      await page.waitForFunction(() => document.getElementById('conn')?.dataset['state'] === 'connected'
        && document.querySelectorAll('.zone').length > 0 && document.querySelectorAll('#matrix td.cell').length > 0
        && document.querySelectorAll('.svc').length > 0, { timeout: 60_000, polling: 'raf' });
      tti.push(performance.now() - t0);
      const m = await page.metrics();
      heap.push((m.JSHeapUsedSize ?? 0) / 2 ** 20);
      heapTotal.push((m.JSHeapTotalSize ?? 0) / 2 ** 20);
      nodes.push(m.Nodes ?? 0);
      chromeRss.push(treeRssMiB(browser.process()!.pid!));

      // Search for one service among all, then open it.
      await page.type('#service-search', target.name);
      search.push(await timeUntil(page, `document.querySelectorAll('.svc').length === 1 && document.querySelector('.svc').dataset.service === ${JSON.stringify(target.service)}`));
      await page.locator('.svc').setTimeout(30_000).click();
      open.push(await timeUntil(page, `document.getElementById('matrix-title').textContent === ${JSON.stringify(target.service)} && document.querySelectorAll('#matrix td.cell').length > 0`));
      // Filter zones, then page the rows of the whole matrix.
      await page.type('#zone-filter', 'z4');
      filter.push(await timeUntil(page, `[...document.querySelectorAll('#matrix tr[data-source]')].every((r) => r.dataset.source.includes('z4'))`));
      await page.$eval('#zone-filter', (e) => { (e as unknown as { value: string }).value = ''; });
      await page.type('#zone-filter', 'z');
      const firstRow = await page.$eval('#matrix tr[data-source]', (e) => (e as unknown as BrowserElement).dataset['source']!);
      await page.locator('#matrix-pager [data-page="next"]').setTimeout(30_000).click();
      pageNext.push(await timeUntil(page, `document.querySelector('#matrix tr[data-source]').dataset.source !== ${JSON.stringify(firstRow)}`));
      // A live change: the shown table rewritten (its shares moved) reaches the page through /v1/events.
      const moved: ServiceTable = { ...target, version: `bench-${run}`, computedAt: Date.now(), rows: target.rows.map((r) => ({ ...r, targets: r.targets.map((x, i) => ({ ...x, reason: `${x.reason} (bench ${run}, ${i})` })) })) };
      const t2 = performance.now();
      await store.put(KEYS.weight(target.namespace, target.name), JSON.stringify(moved));
      await page.waitForFunction(`document.getElementById('matrix-version').textContent.includes('bench-${run}')`, { timeout: 30_000, polling: 'raf' });
      live.push(performance.now() - t2);
      await page.close();
    }
    console.log(`\ntime to interactive (navigation -> stream connected, zones, services and the first matrix drawn): ${fmt(tti, 'ms')}`);
    console.log(`page JS heap used: ${fmt(heap, 'MiB', 1)}; allocated ${fmt(heapTotal, 'MiB', 1)}; DOM nodes ${fmt(nodes, '')}`);
    console.log(`Chromium RSS, all its processes, with the page open: ${fmt(chromeRss, 'MiB')}`);
    console.log(`search one service of ${tables.length}: ${fmt(search, 'ms')}; open it: ${fmt(open, 'ms')}`);
    console.log(`zone filter "z4": ${fmt(filter, 'ms')}; next page of source rows: ${fmt(pageNext, 'ms')}`);
    console.log(`live update of the shown matrix (store write -> page shows the new version): ${fmt(live, 'ms')}`);
    console.log(`console errors: ${errors.length === 0 ? 'none' : errors.join(' | ')}`);
    console.log(`load at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    await browser.close();
    await lb.close();
    await other?.resign();
    await store.close();
  }
}
