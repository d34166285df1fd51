// The dashboard page: reads the admin API, follows /v1/events, renders zones, the weight matrix and the share chart
// with plain DOM and SVG, and drains or undrains a zone after a confirmation. The pure parts live in model.ts.
import { buildMatrix, chartOf, formatShare, groupZones, ineligibleWhy, zoneColour, zoneOrder } from './model.js';

const $ = (id) => document.getElementById(id);
const SERVICE_PAGE = 50;
const ROW_PAGE = 20;
const COL_PAGE = 20;
const CHART_SPAN_MS = 5 * 60_000;

const state = {
  zones: [],
  order: [],
  status: undefined,
  service: new URLSearchParams(location.hash.slice(1)).get('service') ?? undefined,
  table: undefined,
  history: undefined,
  chartSource: undefined,
  services: { total: 0, offset: 0, q: '', list: [] },
  win: { filter: '', rowOffset: 0, rowLimit: ROW_PAGE, colOffset: 0, colLimit: COL_PAGE },
  selected: undefined,
  connected: false,
};

/**
 * The admin token: from #token= in the URL `meshfed up` prints (kept for this tab in sessionStorage), or the one
 * this tab stored. Every API call sends it; the page itself (static files) is served without one.
 */
const TOKEN = (() => {
  const fromUrl = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromUrl) sessionStorage.setItem('meshfed-admin-token', fromUrl);
  return fromUrl ?? sessionStorage.getItem('meshfed-admin-token') ?? '';
})();
const authHeaders = () => (TOKEN ? { authorization: `Bearer ${TOKEN}` } : {});

/** GET a JSON route; throws with the server's message on an error answer. */
async function getJson(path) {
  const res = await fetch(path, { cache: 'no-store', headers: authHeaders() });
  const body = await res.json().catch(() => undefined);
  if (!res.ok) throw new Error(body?.error?.message ?? `${path}: HTTP ${res.status}`);
  return body;
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== undefined && c !== null) e.append(c);
  return e;
}

function setConn(s, text) {
  const c = $('conn');
  c.dataset.state = s;
  c.textContent = text;
}

// ---- zones ----

function zoneFacts(z) {
  const stream = state.status?.agents?.find((a) => a.zone === z.zone);
  return [
    z.alive ? 'alive' : 'DOWN',
    z.reportAgeSeconds !== undefined ? `report ${z.reportAgeSeconds.toFixed(1)}s ago` : 'no report',
    stream ? `stream to this replica (${stream.reports} reports)` : z.alive ? 'stream to another replica' : 'no stream',
    z.gatewayAddress ? `gateway ${z.gatewayAddress}` : 'no gateway',
    z.agentLostSeconds !== undefined ? `STALE: weights kept ${Math.round(z.agentLostSeconds)}s after the agent left` : undefined,
  ].filter(Boolean).join(' · ');
}

/** A zone's card; its button reads the action when clicked, so updating the card in place never loses a click. */
function zoneCard(zone) {
  const button = el('button', { 'data-role': 'action', onclick: (e) => confirmDrain(zone, e.currentTarget.dataset.action) });
  return el('div', { class: 'zone', 'data-zone': zone },
    el('span', { class: 'name' }), button, el('span', { class: 'facts', 'data-role': 'facts' }), el('span', { 'data-role': 'why' }));
}

/** Updates a card in place (reports arrive every second; rebuilding would detach what the user is about to click). */
function fillZoneCard(card, z) {
  const why = ineligibleWhy(z);
  const action = z.drained ? 'undrain' : 'drain';
  card.dataset.eligible = String(z.eligible);
  card.dataset.drained = String(z.drained);
  card.querySelector('.name').textContent = z.zone + (z.drained ? ' (drained)' : '');
  const b = card.querySelector('[data-role="action"]');
  b.dataset.action = action;
  b.className = action;
  b.textContent = action === 'drain' ? 'Drain' : 'Undrain';
  card.querySelector('[data-role="facts"]').textContent = zoneFacts(z);
  const w = card.querySelector('[data-role="why"]');
  w.className = why ? 'why' : 'facts ok';
  w.textContent = why ? `not eligible: ${why}` : 'eligible';
}

function renderZones() {
  const groups = groupZones(state.zones);
  state.order = zoneOrder(groups);
  $('zone-count').textContent = `${state.zones.length} zones, ${state.zones.filter((z) => z.eligible).length} eligible`;
  const shape = groups.map((g) => `${g.cloud}:${g.regions.map((r) => `${r.region}=${r.zones.map((z) => z.zone).join(',')}`).join(';')}`).join('|');
  const box = $('zones');
  if (box.dataset.shape !== shape) {
    box.dataset.shape = shape;
    box.replaceChildren(...groups.map((g) => el('div', { class: 'cloud', 'data-cloud': g.cloud },
      el('h3', {}, g.cloud),
      ...g.regions.map((r) => el('div', { class: 'region', 'data-region': r.region }, el('h4', {}, r.region), ...r.zones.map((z) => zoneCard(z.zone)))),
    )));
  }
  for (const z of state.zones) fillZoneCard(box.querySelector(`.zone[data-zone="${CSS.escape(z.zone)}"]`), z);
}

async function confirmDrain(zone, action) {
  const dialog = $('confirm');
  $('confirm-text').textContent = action === 'drain'
    ? `Drain ${zone}? Every service stops sending traffic to it.`
    : `Undrain ${zone}? It gets traffic again (with slow start).`;
  dialog.returnValue = '';
  dialog.showModal();
  const answer = await new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue), { once: true }));
  if (answer !== 'ok') return;
  try {
    const res = await fetch(`/v1/zones/${encodeURIComponent(zone)}/${action}`, { method: 'POST', headers: authHeaders() });
    if (!res.ok) throw new Error((await res.json().catch(() => ({})))?.error?.message ?? `HTTP ${res.status}`);
    await refreshZones();
  } catch (e) {
    $('cell-detail').textContent = `${action} ${zone} failed: ${e.message}`;
  }
}

// ---- control plane ----

async function refreshControl() {
  const [status, reps] = await Promise.all([getJson('/v1/status'), getJson('/v1/replicas')]);
  state.status = status;
  $('replica').textContent = `replica ${status.replicaId}${status.leader ? ' (leader)' : ''}`;
  $('replicas').replaceChildren(
    el('div', {}, 'leader: ', el('strong', { id: 'leader-id' }, status.leaderId ?? '(none)')),
    el('div', {}, 'replicas: ', ...reps.replicas.map((r) => el('span', { class: `replica${r.leader ? ' leader' : ''}`, 'data-replica': r.id }, r.id, r.self ? ' (this page)' : ''))),
  );
  const s = status.store;
  $('store').replaceChildren(el('div', { id: 'store-health', class: s.ok ? 'ok' : 'bad' },
    `store: ${s.kind} ${s.ok ? 'ok' : 'FAILING'}${s.latencyMs != null ? ` (${s.latencyMs.toFixed(1)} ms)` : ''} · revision ${status.revision}`));
}

async function refreshZones() {
  state.zones = (await getJson('/v1/zones?outForLimit=3')).zones;
  renderZones();
}

// ---- services ----

/** Answers to older requests are dropped: typing a search sends one request per key, and they may come back out of order. */
const latest = { services: 0, table: 0 };

async function refreshServices() {
  const { q, offset } = state.services;
  const ticket = ++latest.services;
  const r = await getJson(`/v1/services?q=${encodeURIComponent(q)}&offset=${offset}&limit=${SERVICE_PAGE}`);
  if (ticket !== latest.services) return;
  state.services = { ...state.services, total: r.total, list: r.services };
  if (state.service === undefined && r.services.length > 0) {
    state.service = r.services[0].service;
    await refreshTable();
  }
  renderServices();
}

function renderServices() {
  const { total, offset, list } = state.services;
  $('service-count').textContent = `${total}`;
  $('services').replaceChildren(...list.map((s) => el('button', {
    class: 'svc', 'data-service': s.service, 'aria-selected': s.service === state.service,
    onclick: () => selectService(s.service),
  }, s.service, ' ', el('span', { class: 'meta' }, `${s.sources} sources${s.panic ? ' · PANIC' : ''}${s.unavailable ? ` · ${s.unavailable} unavailable` : ''}`))));
  pager($('service-pager'), offset, SERVICE_PAGE, total, (o) => { state.services.offset = o; void guard(refreshServices); });
}

function pager(node, offset, limit, total, go, what = '') {
  if (total <= limit) { node.replaceChildren(); return; }
  node.replaceChildren(
    el('button', { 'data-page': 'prev', disabled: offset === 0 ? '' : undefined, onclick: () => go(Math.max(0, offset - limit)) }, '‹'),
    `${what}${offset + 1}–${Math.min(total, offset + limit)} of ${total}`,
    el('button', { 'data-page': 'next', disabled: offset + limit >= total ? '' : undefined, onclick: () => go(offset + limit) }, '›'),
  );
}

async function selectService(service) {
  state.service = service;
  state.selected = undefined;
  state.chartSource = undefined;
  history.replaceState(null, '', `#service=${encodeURIComponent(service)}`);
  renderServices();
  await guard(refreshTable);
}

// ---- matrix ----

async function refreshTable() {
  if (!state.service) return;
  const [ns, name] = state.service.split('/');
  const path = `${encodeURIComponent(ns)}/${encodeURIComponent(name)}`;
  const ticket = ++latest.table;
  const [table, hist] = await Promise.all([getJson(`/v1/weights/${path}`), getJson(`/v1/history/${path}`)]);
  if (ticket !== latest.table) return;
  state.table = table;
  state.history = hist;
  renderMatrix();
  renderChart();
}

function cellText(c) {
  return [c.share, el('span', { class: 'tier' }, `t${c.tier}`)];
}

function showDetail(source, c) {
  $('cell-detail').replaceChildren(el('strong', {}, `${source} → ${c.target}`), ` ${c.share}, tier ${c.tier}: `, el('span', { id: 'cell-reason' }, c.reason));
}

function renderMatrix() {
  const t = state.table;
  if (!t) return;
  const m = buildMatrix(t, state.order, state.win);
  state.win = { ...state.win, rowOffset: m.rowOffset, colOffset: m.colOffset };
  $('matrix-title').textContent = t.service;
  $('matrix-version').textContent = `version ${t.version}, computed ${new Date(t.computedAt).toLocaleTimeString()}`;
  const head = el('tr', {}, el('th', { class: 'src' }, 'source ↓ / target →'), ...m.targets.map((z) => el('th', { 'data-target': z }, z)));
  const body = m.rows.map((r) => el('tr', { class: r.panic ? 'panic' : '', 'data-source': r.source },
    el('th', { class: 'src', title: r.unavailableReason ? `unavailable: ${r.unavailableReason}` : undefined }, r.source, r.exclusive ? ' (exclusive)' : ''),
    ...r.cells.map((c) => {
      if (!c) return el('td', { class: 'none' }, '—');
      const selected = state.selected && state.selected.source === r.source && state.selected.target === c.target;
      return el('td', {
        class: `cell${c.basisPoints === 0 ? ' zero' : ''}`, title: c.reason, 'data-source': r.source, 'data-target': c.target,
        'data-bp': c.basisPoints, 'data-tier': c.tier, 'aria-selected': selected ? 'true' : undefined,
        onmouseenter: () => showDetail(r.source, c),
        onclick: () => { state.selected = { source: r.source, target: c.target }; state.chartSource = r.source; renderMatrix(); renderChart(); showDetail(r.source, c); },
      }, ...cellText(c));
    })));
  $('matrix').replaceChildren(el('thead', {}, head), el('tbody', {}, ...body));
  const pg = $('matrix-pager');
  const rows = el('span', {});
  const cols = el('span', {});
  pager(rows, m.rowOffset, ROW_PAGE, m.totalRows, (o) => { state.win.rowOffset = o; renderMatrix(); }, 'sources ');
  pager(cols, m.colOffset, COL_PAGE, m.totalTargets, (o) => { state.win.colOffset = o; renderMatrix(); }, 'targets ');
  pg.replaceChildren(rows, cols);
  if (state.selected) {
    const row = m.rows.find((r) => r.source === state.selected.source);
    const c = row?.cells.find((x) => x && x.target === state.selected.target);
    if (c) showDetail(row.source, c);
  }
}

// ---- chart ----

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  for (const c of children) e.append(c);
  return e;
}

function renderChart() {
  const h = state.history;
  const sel = $('chart-source');
  if (!h) return;
  const sources = h.sources.map((s) => s.source);
  if (!state.chartSource || !sources.includes(state.chartSource)) state.chartSource = sources[0];
  if (sel.dataset.sources !== sources.join(',')) {
    sel.replaceChildren(...sources.map((s) => el('option', { value: s }, `from ${s}`)));
    sel.dataset.sources = sources.join(',');
  }
  sel.value = state.chartSource ?? '';
  const src = h.sources.find((s) => s.source === state.chartSource);
  if (!src) { $('chart').replaceChildren(); $('chart-legend').replaceChildren(); return; }
  const W = 800, H = 200;
  // The window grows with the history, up to CHART_SPAN_MS, so a young replica's chart is not squeezed to the right.
  const now = Date.now();
  const span = Math.min(CHART_SPAN_MS, Math.max(60_000, now - (src.samples[0]?.t ?? now) + 10_000));
  const c = chartOf(src, h.marks, now, span, W, H);
  const grid = [0, 2500, 5000, 7500, 10000].map((bp) => svg('g', {},
    svg('line', { x1: 0, x2: W, y1: (1 - bp / 10000) * H, y2: (1 - bp / 10000) * H, stroke: '#eaeef2' }),
    svg('text', { x: 2, y: (1 - bp / 10000) * H + (bp === 10000 ? 10 : -2), 'font-size': 9, fill: '#57606a' }, formatShare(bp))));
  const panic = c.panic.map((p) => svg('rect', { x: p.x0, y: 0, width: Math.max(1, p.x1 - p.x0), height: H, fill: '#ffebe9' }, svg('title', {}, 'panic')));
  // Labels of close marks are staggered so they stay readable.
  const marks = c.marks.map((m, i) => svg('g', { class: `mark ${m.kind}`, 'data-kind': m.kind },
    svg('line', { x1: m.x, x2: m.x, y1: 0, y2: H, stroke: m.kind === 'drain' || m.kind === 'ejection' || m.kind === 'panic' ? '#cf222e' : '#1a7f37', 'stroke-dasharray': '3 3' }),
    svg('text', { x: m.x + 2, y: 12 + (i % 3) * 11, 'font-size': 9, fill: '#57606a' }, m.kind),
    svg('title', {}, `${new Date(m.t).toLocaleTimeString()}: ${m.text}`)));
  const lines = c.lines.map((l) => svg('polyline', { points: l.points, fill: 'none', stroke: zoneColour(l.zone), 'stroke-width': 2, 'data-zone': l.zone }, svg('title', {}, `${l.zone}: now ${formatShare(l.last)}`)));
  $('chart').replaceChildren(svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': `shares from ${src.source} over the last ${Math.round(span / 1000)} s` }, ...grid, ...panic, ...lines, ...marks));
  $('chart-legend').replaceChildren(...c.lines.map((l) => el('span', {}, el('i', { style: `background:${zoneColour(l.zone)}` }), `${l.zone} ${formatShare(l.last)}`)),
    el('span', { class: 'muted' }, `last ${Math.round(span / 1000)} s; dashed lines mark drains, ejections and panic (shaded)`));
}

// ---- chaos ----

async function refreshChaos() {
  const r = await getJson('/v1/chaos/reports');
  $('chaos').replaceChildren(
    el('div', { class: 'muted' }, `from ${r.dir}`),
    r.runs.length === 0 ? el('div', { class: 'muted' }, 'no runs yet (meshfed chaos run NAME writes one)') : el('ul', {}, ...r.runs.map((run) =>
      el('li', {}, el('a', { href: TOKEN ? `${run.url}?access_token=${encodeURIComponent(TOKEN)}` : run.url, target: '_blank' }, run.scenario), ` ${run.startedAt.replace('T', ' ').slice(0, 19)} `,
        el('span', { class: run.result === 'passed' ? 'ok' : 'bad' }, run.result), run.quick ? ' (quick)' : ''))),
  );
}

// ---- live updates ----

/** Runs an update; a failure marks the page disconnected instead of throwing into the console. */
async function guard(f) {
  try {
    await f();
  } catch (e) {
    if (state.connected) setConn('disconnected', `disconnected: ${e.message}`);
  }
}

let zonesPending = false;
function zonesSoon() {
  if (zonesPending) return;
  zonesPending = true;
  setTimeout(() => { zonesPending = false; void guard(refreshZones); }, 1000);
}

async function refreshAll() {
  await guard(async () => {
    await Promise.all([refreshControl(), refreshZones(), refreshServices(), refreshChaos()]);
    await refreshTable();
  });
}

function connect() {
  // EventSource cannot send headers: the token goes as ?access_token=, which the admin API takes for reads only.
  const es = new EventSource(TOKEN ? `/v1/events?access_token=${encodeURIComponent(TOKEN)}` : '/v1/events');
  es.addEventListener('hello', (e) => {
    const hello = JSON.parse(e.data);
    state.connected = true;
    setConn('connected', `live (replica ${hello.replicaId})`);
    void refreshAll();
  });
  es.addEventListener('change', (e) => {
    const c = JSON.parse(e.data);
    if (c.zones) zonesSoon();
    if (c.all || (state.service && c.services.includes(state.service))) void guard(refreshTable);
    if (c.all) void guard(refreshServices);
  });
  es.addEventListener('leader', () => void guard(refreshControl));
  es.onerror = () => {
    state.connected = false;
    setConn('disconnected', 'disconnected: reconnecting…');
  };
}

$('service-search').addEventListener('input', (e) => { state.services.q = e.target.value; state.services.offset = 0; void guard(refreshServices); });
$('zone-filter').addEventListener('input', (e) => { state.win = { ...state.win, filter: e.target.value, rowOffset: 0, colOffset: 0 }; renderMatrix(); });
$('chart-source').addEventListener('change', (e) => { state.chartSource = e.target.value; renderChart(); });
setInterval(() => { if (state.connected) void guard(refreshControl); }, 3000);
setInterval(() => { if (state.connected) renderChart(); }, 5000);
connect();
