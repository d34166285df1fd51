// The dashboard's server side on a real admin listener (port 0, in-memory store): /ui/ files, the /v1/events stream
// announcing a written table and a drain, the share history with its drain mark, the service index and chaos runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, KEYS, type Store } from '../../global-lb/store/index.ts';
import { startGlobalLb, type GlobalLb } from '../../global-lb/index.ts';
import { createLogger } from '../../common/logger.ts';
import type { ServiceTable } from '../../global-lb/weights/index.ts';

let store: Store;
let lb: GlobalLb;
let reports: string;

function table(service: string, bp: number): ServiceTable {
  const [namespace, name] = service.split('/') as [string, string];
  return {
    service, namespace, name, version: `v${bp}`, computedAt: Date.now(),
    rows: [{ sourceZone: 'a1', panic: false, targets: [
      { zone: 'a1', basisPoints: bp, tier: 0, reason: 'local' },
      { zone: 'b1', basisPoints: 10000 - bp, tier: 1, reason: 'spill' },
    ] }],
  };
}

before(async () => {
  reports = mkdtempSync(join(tmpdir(), 'meshfed-chaos-reports-'));
  mkdirSync(join(reports, 'zone-outage'));
  writeFileSync(join(reports, 'zone-outage', 'report.html'), '<html><body>report of zone-outage</body></html>');
  writeFileSync(join(reports, 'zone-outage', 'journal.json'), JSON.stringify({ scenario: { name: 'zone-outage' }, startedAt: '2026-12-04T04:00:00.000Z', result: 'passed', quick: true }));
  mkdirSync(join(reports, 'no-report-here'));
  store = await openStore({ kind: 'memory' });
  lb = await startGlobalLb({
    store, replicaId: 'r1', grpcListen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 },
    heartbeatMs: 500, leaseTtlSeconds: 2, insecure: true, processMetrics: false, coldStartGraceMs: 0, chaosReportsDir: reports,
    logger: createLogger({ component: 'test', level: 'silent' }),
  });
});

after(async () => {
  await lb.close();
  await store.close();
  rmSync(reports, { recursive: true, force: true });
});

/** Reads an SSE stream until `want` has seen an event it accepts, or the deadline passes. */
async function readEvents(url: string, want: (events: { event: string; data: unknown }[]) => boolean, act: () => Promise<void>, ms = 5000): Promise<{ event: string; data: unknown }[]> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ms);
  const res = await fetch(url, { signal: ac.signal });
  assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const events: { event: string; data: unknown }[] = [];
  const decoder = new TextDecoder();
  let buf = '';
  let acted = false;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const event = /^event: (.*)$/m.exec(frame)?.[1];
        const data = [...frame.matchAll(/^data: (.*)$/gm)].map((m) => m[1]).join('\n');
        if (event) events.push({ event, data: JSON.parse(data) as unknown });
      }
      if (!acted && events.length > 0) {
        acted = true;
        await act();
      }
      if (want(events)) return events;
    }
  } catch (e) {
    if (!ac.signal.aborted) throw e;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  assert.fail(`the stream ended before the expected event; got ${JSON.stringify(events)}`);
}

test('/ui/ serves the page, its script and the model with types stripped; other names are 404', async () => {
  const redirect = await fetch(`${lb.adminUrl}/ui`, { redirect: 'manual' });
  assert.equal(redirect.status, 302);
  assert.equal(redirect.headers.get('location'), '/ui/');
  const page = await fetch(`${lb.adminUrl}/ui/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  const html = await page.text();
  assert.match(html, /<script type="module" src="app.js">/);
  assert.doesNotMatch(html, /https?:\/\//, 'the page fetches nothing from the internet');
  const model = await fetch(`${lb.adminUrl}/ui/model.js`);
  assert.equal(model.status, 200);
  assert.match(model.headers.get('content-type') ?? '', /javascript/);
  const js = await model.text();
  assert.match(js, /export function buildMatrix\(table\s*, order\s*, w\s*\)/, 'type annotations are stripped');
  assert.doesNotMatch(js, /export interface/);
  for (const bad of ['/ui/model.ts', '/ui/../admin.ts', '/ui/%2e%2e%2fadmin.ts', '/ui/nope.js']) {
    const r = await fetch(`${lb.adminUrl}${bad}`);
    assert.equal(r.status, 404, bad);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'MESHFED_E_ADMIN_NOT_FOUND');
  }
  // The existing routes still answer.
  assert.equal((await fetch(`${lb.adminUrl}/healthz`)).status, 200);
  assert.equal((await fetch(`${lb.adminUrl}/v1/status`)).status, 200);
  const zones = (await (await fetch(`${lb.adminUrl}/v1/zones?outForLimit=2`)).json()) as { zones: unknown[] };
  assert.ok(Array.isArray(zones.zones));
  assert.equal((await fetch(`${lb.adminUrl}/v1/zones?outForLimit=x`)).status, 400);
});

test('the event stream says hello, then announces a written table and a drain', async () => {
  const events = await readEvents(`${lb.adminUrl}/v1/events`, (es) => es.some((e) => e.event === 'change' && (e.data as { zones: boolean }).zones), async () => {
    await store.put(KEYS.weight('shop', 'cart'), JSON.stringify(table('shop/cart', 7000)));
    await store.put(KEYS.zoneDrain('b1'), JSON.stringify({ drainedAt: Date.now(), by: 'test' }));
  });
  assert.equal(events[0]!.event, 'hello');
  assert.equal((events[0]!.data as { replicaId: string }).replicaId, 'r1');
  const changes = events.filter((e) => e.event === 'change').map((e) => e.data as { services: string[]; all: boolean });
  assert.ok(changes.some((c) => c.all || c.services.includes('shop/cart')), JSON.stringify(changes));
});

test('the history keeps a sample per change of shares and marks the drain', async () => {
  await store.put(KEYS.weight('shop', 'cart'), JSON.stringify(table('shop/cart', 5000)));
  const deadline = Date.now() + 5000;
  let hist: { sources: { source: string; samples: { shares: Record<string, number> }[] }[]; marks: { kind: string; zone?: string }[] } | undefined;
  while (Date.now() < deadline) {
    hist = await (await fetch(`${lb.adminUrl}/v1/history/shop/cart`)).json() as typeof hist;
    if (hist!.sources[0]?.samples.length === 2) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(hist!.sources[0]!.samples.map((s) => s.shares), [{ a1: 7000, b1: 3000 }, { a1: 5000, b1: 5000 }]);
  assert.ok(hist!.marks.some((m) => m.kind === 'drain' && m.zone === 'b1'), JSON.stringify(hist!.marks));
  assert.equal((await fetch(`${lb.adminUrl}/v1/history/shop/nope`)).status, 404);
});

test('services are searched and paged; chaos runs with a report are listed and served', async () => {
  for (let i = 0; i < 12; i++) await store.put(KEYS.weight('bulk', `svc-${String(i).padStart(2, '0')}`), JSON.stringify(table(`bulk/svc-${String(i).padStart(2, '0')}`, 6000)));
  const deadline = Date.now() + 5000;
  let page: { total: number; services: { service: string }[] } = { total: 0, services: [] };
  while (Date.now() < deadline && page.total < 12) {
    page = await (await fetch(`${lb.adminUrl}/v1/services?q=BULK&offset=10&limit=5`)).json() as typeof page;
    if (page.total < 12) await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(page.total, 12);
  assert.deepEqual(page.services.map((s) => s.service), ['bulk/svc-10', 'bulk/svc-11']);
  assert.equal((await fetch(`${lb.adminUrl}/v1/services?limit=-1`)).status, 400);

  const chaos = await (await fetch(`${lb.adminUrl}/v1/chaos/reports`)).json() as { runs: { name: string; result: string; url: string }[] };
  assert.deepEqual(chaos.runs.map((r) => [r.name, r.result]), [['zone-outage', 'passed']]);
  const report = await fetch(`${lb.adminUrl}${chaos.runs[0]!.url}`);
  assert.equal(report.status, 200);
  assert.match(await report.text(), /report of zone-outage/);
  assert.equal((await fetch(`${lb.adminUrl}/v1/chaos/reports/..%2F..%2Fetc/report.html`)).status, 404);

  const replicas = await (await fetch(`${lb.adminUrl}/v1/replicas`)).json() as { replicas: { id: string; leader: boolean; self: boolean }[] };
  assert.deepEqual(replicas.replicas, [{ id: 'r1', leader: true, self: true }]);
});
