// The dashboard in headless Chromium (puppeteer-core, the system browser) against a real `meshfed up`: no console
// errors, 3 zones, the catalog matrix equal to `meshfed weights catalog`, drain and undrain clicked in the page, and a
// global-lb leader kill survived (the page's stream drops and comes back); saves a screenshot (docs/img/dashboard.png
// with MESHFED_UPDATE_SCREENSHOT=1, else in the temp dir).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Page } from 'puppeteer-core';
import { launchChromium } from '../support/chromium.ts';
import { cli, ROOT, startUp, until, type TableJson } from '../support/up-harness.ts';
import type { UpState } from '../../local/state.ts';

// The browser globals the page functions below use (the project's tsconfig has no DOM lib; they run in Chromium).
interface BrowserElement { readonly dataset: Record<string, string | undefined>; readonly textContent: string | null; readonly firstChild: { readonly textContent: string | null } | null }
declare const document: { querySelectorAll(selector: string): Iterable<BrowserElement> & ArrayLike<BrowserElement>; getElementById(id: string): BrowserElement | null };

interface CellJson { source: string; target: string; bp: number; tier: number; text: string }

/** Every matrix cell the page shows, with the table version it says it shows. */
async function pageMatrix(page: Page): Promise<{ version: string; cells: CellJson[] }> {
  return page.evaluate(() => {
    const cells = [...document.querySelectorAll('#matrix td.cell')].map((td) => ({
      source: td.dataset['source']!, target: td.dataset['target']!, bp: Number(td.dataset['bp']), tier: Number(td.dataset['tier']),
      text: td.firstChild?.textContent ?? '',
    }));
    const version = /version (\S+),/.exec(document.getElementById('matrix-version')?.textContent ?? '')?.[1] ?? '';
    return { version, cells };
  });
}

/** The same cells from the CLI's JSON, with the share as the CLI's table prints it. */
function cliCells(t: TableJson): CellJson[] {
  return t.rows.flatMap((r) => r.targets.map((x) => ({ source: r.sourceZone, target: x.zone, bp: x.basisPoints, tier: x.tier, text: `${(x.basisPoints / 100).toFixed(2)}%` })));
}

const byKey = (a: CellJson, b: CellJson) => (`${a.source}>${a.target}` < `${b.source}>${b.target}` ? -1 : 1);

async function cliCatalog(env: NodeJS.ProcessEnv): Promise<TableJson & { version: string }> {
  const r = await cli(env, 'weights', 'catalog', '--output', 'json');
  assert.equal(r.code, 0, `meshfed weights catalog: ${r.stderr}`);
  return JSON.parse(r.stdout) as TableJson & { version: string };
}

/** Waits until the page shows the table version the CLI prints, then both must hold the same cells exactly. */
async function matrixMatchesCli(page: Page, env: NodeJS.ProcessEnv, what: string): Promise<CellJson[]> {
  return until(`${what}: the page's matrix to show the CLI's table`, 15_000, async () => {
    const table = await cliCatalog(env);
    const shown = await pageMatrix(page);
    if (shown.version !== table.version) return undefined;
    assert.deepEqual([...shown.cells].sort(byKey), cliCells(table).sort(byKey), `${what}: matrix cells equal meshfed weights catalog`);
    return shown.cells;
  }, 300);
}

async function clickConfirmed(page: Page, selector: string): Promise<void> {
  // Locators retry until the element is attached and stable: the zone cards update in place every second.
  await page.locator(selector).setTimeout(5000).click();
  await page.waitForSelector('#confirm[open]', { timeout: 3000 });
  await page.locator('#confirm-ok').setTimeout(3000).click();
}

test('the dashboard shows the federation live, drains and undrains a zone, and survives a leader kill', { timeout: 240_000 }, async (t) => {
  const started = Date.now();
  const up = await startUp([]);
  t.after(() => up.stop());
  t.diagnostic(`meshfed up ready in ${Date.now() - started} ms`);
  const browser = await launchChromium();
  t.after(() => browser.close());

  assert.ok(up.output().includes(`dashboard    ${up.state.adminUrl}/ui/#token=${up.token}`), 'meshfed up prints the dashboard URL, with the token the page sends');
  // The page is opened on the leader, so killing the leader takes the page's own replica down.
  const statuses = await Promise.all(up.state.adminUrls.map(async (u) => ({ url: u, s: (await (await fetch(`${u}/v1/status`, { headers: up.auth })).json()) as { leader: boolean; replicaId: string } })));
  const leader = statuses.find((x) => x.s.leader);
  assert.ok(leader, `a replica leads: ${JSON.stringify(statuses)}`);

  const page = await browser.newPage();
  await page.setViewport({ width: 1440, height: 1000 });
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  // As `meshfed up` prints it: the token rides in the fragment, which never leaves the browser in a request.
  await page.goto(`${leader.url}/ui/#service=shop/catalog&token=${up.token}`, { waitUntil: 'load' });
  await page.waitForSelector('#conn[data-state="connected"]', { timeout: 10_000 });
  await page.waitForFunction(() => document.querySelectorAll('.zone').length === 3 && document.querySelectorAll('#matrix td.cell').length > 0, { timeout: 10_000 });

  const zones = await page.$$eval('.zone', (es) => es.map((e) => (e as unknown as BrowserElement).dataset['zone']!));
  assert.deepEqual(zones.sort(), up.state.zones.map((z) => z.name).sort(), 'the 3 zones');
  const clouds = await page.$$eval('.cloud', (es) => es.map((e) => (e as unknown as BrowserElement).dataset['cloud']!));
  assert.deepEqual(clouds.sort(), [...new Set(up.state.zones.map((z) => z.locality.split('/')[0]!))].sort(), 'zones are grouped by cloud');

  const before = await matrixMatchesCli(page, up.env, 'at load');
  assert.deepEqual(errors, [], 'no console errors at load');

  // Hovering a cell shows its reason (the --explain text). Reasons carry live numbers (utilisation) and the leader
  // rewrites them every few seconds, so the page and the CLI are compared until one reading of each agrees.
  const first = before[0]!;
  const cellSel = `#matrix td.cell[data-source="${first.source}"][data-target="${first.target}"]`;
  await until('the hovered cell to show the reason the CLI explains', 15_000, async () => {
    await page.mouse.move(0, 0);
    await page.locator(cellSel).setTimeout(5000).hover();
    const reason = await page.$eval('#cell-reason', (e) => (e as unknown as BrowserElement).textContent);
    const explained = (await cliCatalog(up.env)).rows.find((r) => r.sourceZone === first.source)!.targets.find((x) => x.zone === first.target)!.reason;
    assert.ok(reason !== null && reason !== '', 'the detail shows a reason');
    return reason === explained ? true : undefined;
  }, 500);

  // Drain a zone that gets traffic from another zone, clicked in the page, with its confirmation.
  const target = before.find((c) => c.bp > 0 && c.source !== c.target)?.target ?? before.find((c) => c.bp > 0)!.target;
  const clicked = Date.now();
  await clickConfirmed(page, `.zone[data-zone="${target}"] button[data-action="drain"]`);
  await page.waitForFunction((z) => {
    const cells = [...document.querySelectorAll(`#matrix td.cell[data-target="${z}"]`)];
    return cells.length > 0 && cells.every((c) => c.dataset['bp'] === '0');
  }, { timeout: 3000, polling: 50 }, target);
  const drainMs = Date.now() - clicked;
  t.diagnostic(`drain of ${target}: share 0 in the page's matrix ${drainMs} ms after the confirm click`);
  const drained = await cliCatalog(up.env);
  for (const r of drained.rows) for (const x of r.targets) if (x.zone === target) assert.equal(x.basisPoints, 0, `CLI: ${r.sourceZone} -> ${target} is 0 after the drain`);
  await page.waitForSelector(`.zone[data-zone="${target}"][data-drained="true"]`, { timeout: 3000 });
  await matrixMatchesCli(page, up.env, 'drained');

  await clickConfirmed(page, `.zone[data-zone="${target}"] button[data-action="undrain"]`);
  await page.waitForFunction((z) => [...document.querySelectorAll(`#matrix td.cell[data-target="${z}"]`)].some((c) => Number(c.dataset['bp']) > 0), { timeout: 15_000, polling: 100 }, target);
  await until(`the CLI to give ${target} a share again`, 10_000, async () => ((await cliCatalog(up.env)).rows.some((r) => r.targets.some((x) => x.zone === target && x.basisPoints > 0)) ? true : undefined));
  await page.waitForSelector('#chart .mark[data-kind="drain"]', { timeout: 5000 });
  await page.waitForSelector('#chart .mark[data-kind="undrain"]', { timeout: 5000 });
  const undrained = await matrixMatchesCli(page, up.env, 'undrained');
  assert.ok(undrained.some((c) => c.target === target && c.bp > 0));

  // Select the drained zone's cell in another source's row: the chart then shows that source's shares moving.
  const moved = undrained.find((c) => c.target === target && c.source !== target) ?? undrained.find((c) => c.target === target)!;
  await page.locator(`#matrix td.cell[data-source="${moved.source}"][data-target="${target}"]`).setTimeout(5000).click();
  await page.waitForFunction((src) => (document.getElementById('chart-source') as unknown as { value: string } | null)?.value === src, { timeout: 3000 }, moved.source);
  // The README's screenshot is refreshed only when asked, so an ordinary run leaves the work tree clean.
  const shotDir = process.env['MESHFED_UPDATE_SCREENSHOT'] === '1' ? join(ROOT, 'docs', 'img') : join(tmpdir(), 'meshfed-dashboard');
  mkdirSync(shotDir, { recursive: true });
  await page.screenshot({ path: join(shotDir, 'dashboard.png'), fullPage: true });
  t.diagnostic(`screenshot saved to ${join(shotDir, 'dashboard.png')}`);
  assert.deepEqual(errors, [], 'no console errors through drain and undrain');

  // Kill the leader (the page's replica): the page must say it is disconnected, then reconnect when it is back.
  const state = JSON.parse(readFileSync(join(up.stateDir, 'up.json'), 'utf8')) as UpState;
  const victim = state.components.find((c) => c.name === leader.s.replicaId);
  assert.ok(victim, `component ${leader.s.replicaId} in up.json`);
  const killedAt = Date.now();
  process.kill(victim.pid, 'SIGKILL');
  await page.waitForSelector('#conn[data-state="disconnected"]', { timeout: 10_000 });
  const downAfter = Date.now() - killedAt;
  await page.waitForSelector('#conn[data-state="connected"]', { timeout: 40_000 });
  t.diagnostic(`leader kill: the page said disconnected after ${downAfter} ms and was live again after ${Date.now() - killedAt} ms`);
  const newLeader = await until('another replica to lead', 20_000, async () => {
    const r = await cli(up.env, 'status', '--output', 'json');
    const id = r.code === 0 ? (JSON.parse(r.stdout) as { leader: string | null }).leader : null;
    return id !== null && id !== leader.s.replicaId ? id : undefined;
  });
  await page.waitForFunction((id) => document.getElementById('leader-id')?.textContent === id, { timeout: 10_000 }, newLeader);
  await matrixMatchesCli(page, up.env, 'after the leader kill');
  t.diagnostic(`leader ${leader.s.replicaId} killed; the page reconnected and shows ${newLeader} leading`);
});
