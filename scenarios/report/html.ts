// The chaos run report as one self-contained HTML page (inline CSS and SVG, nothing fetched), drawn from a journal alone.
import { escapeHtml } from './escape.ts';
import type { Journal } from './journal.ts';
import type { TimeAxis } from './svg.ts';
import { latencyPlot, probeStrips, sharePlots, successPlot, timeAxisOf, weightPlots, zoneColors } from './plots.ts';

/** The report's one HTML escape, re-exported for callers that add their own text around a report. */
export { escapeHtml } from './escape.ts';

/** At most this many failed probe samples are listed in full; the strip still shows them all. */
const MAX_FAILED_ROWS = 60;

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;color:#222;margin:24px auto;max-width:1220px;padding:0 12px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px}
.result{display:inline-block;font-size:28px;font-weight:700;padding:2px 14px;border-radius:6px;color:#fff;letter-spacing:1px}
.result.passed{background:#2e7d32}.result.failed{background:#c62828}.result.aborted{background:#ef6c00}
.desc{color:#444;margin:4px 0 10px}.aborted-reason{background:#fff3e0;border-left:4px solid #ef6c00;padding:6px 10px}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:10px 0}dl.meta dt{color:#666}dl.meta dd{margin:0}
table{border-collapse:collapse;margin:6px 0;font-size:13px}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f5}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}td.what{white-space:nowrap}
.ok{color:#2e7d32;font-weight:600}.bad{color:#c62828;font-weight:600}tr.failrow{background:#fdecea}
figure{margin:10px 0}figcaption{font-weight:600;margin-bottom:2px}.note{color:#666;font-size:12px;margin:0}
svg.chart{display:block;max-width:100%;height:auto;background:#fff}
.grid{display:flex;flex-wrap:wrap;gap:4px 14px}.plot.small figcaption{font-weight:500;font-size:13px}
td.events{padding:0}td.events table{margin:0;border:none;width:100%}td.events td{border:none;border-top:1px solid #eee}
`;

/** Renders the whole report for one run as a complete HTML document; every journal string is escaped. */
export function renderReport(journal: Journal): string {
  const colors = zoneColors(journal);
  const time = timeAxisOf(journal);
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(`${journal.scenario.name}: ${journal.result}`)}</title>`,
    `<style>${CSS}</style></head><body>`,
    header(journal),
    expectationsTable(journal),
    '<h2>Plots</h2>',
    '<p class="note">Time in seconds from the run\u2019s start. Red bands are fault windows, dashed grey lines start each phase.</p>',
    ...sharePlots(journal, colors, time),
    successPlot(journal, time),
    latencyPlot(journal, time),
    ...weightPlots(journal, colors, time),
    faultsTable(journal),
    rollbackSection(journal),
    probesSection(journal, time),
    '</body></html>',
  ].join('\n');
}

/** A number of seconds from milliseconds, to one decimal. */
function seconds(ms: number | undefined): string {
  return ms === undefined ? '\u2014' : (ms / 1000).toFixed(1);
}

/** An ok/fail cell. */
function okCell(ok: boolean): string {
  return ok ? '<td class="ok">ok</td>' : '<td class="bad">FAIL</td>';
}

/** Scenario name, description, the verdict in big colour, and what the run ran on and with. */
function header(journal: Journal): string {
  const m = journal.machine;
  const rows: [string, string][] = [
    ['started at', journal.startedAt],
    ['scenario file', journal.scenario.file],
    ['machine', `${m.cpus} CPUs, ${m.cpuModel}, node ${m.node}, ${m.platform}`],
    ['load', `${journal.load.rps} rps for ${seconds(journal.load.durationMs)} s`],
    ['targets', journal.load.targets.join(', ')],
    ['zones', journal.zones.map((z) => `${z.name} (${z.locality})`).join(', ')],
    ['quick', journal.quick ? 'yes (shortened run)' : 'no'],
  ];
  const aborted = journal.aborted === undefined
    ? ''
    : `<p class="aborted-reason"><strong>Aborted at ${seconds(journal.aborted.atMs)} s:</strong> ${escapeHtml(journal.aborted.reason)}</p>`;
  return [
    '<header>',
    `<h1>${escapeHtml(journal.scenario.name)}</h1>`,
    `<p class="desc">${escapeHtml(journal.scenario.description)}</p>`,
    `<div class="result ${escapeHtml(journal.result)}">${escapeHtml(journal.result.toUpperCase())}</div>`,
    aborted,
    `<dl class="meta">${rows.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`,
    '</header>',
  ].join('\n');
}

/** The expectations: name, goal, measured, ok; failing rows tinted. */
function expectationsTable(journal: Journal): string {
  const passed = journal.expectations.filter((e) => e.ok).length;
  const rows = journal.expectations.map(
    (e) =>
      `<tr class="${e.ok ? '' : 'failrow'}"><td>${escapeHtml(e.name)}</td><td>${escapeHtml(e.goal)}</td>` +
      `<td class="measured">${escapeHtml(e.measured)}</td>${okCell(e.ok)}</tr>`,
  );
  return [
    `<h2>Expectations: ${passed} of ${journal.expectations.length} held</h2>`,
    '<table class="expectations"><thead><tr><th>name</th><th>goal</th><th>measured</th><th>ok</th></tr></thead>',
    `<tbody>${rows.join('\n')}</tbody></table>`,
  ].join('\n');
}

/** Each fault with its window and the events of its life. */
function faultsTable(journal: Journal): string {
  const rows = journal.faults.map((f) => {
    const events = f.events
      .map((e) => `<tr><td class="num">${seconds(e.atMs)} s</td><td class="what">${escapeHtml(e.what)}</td>${okCell(e.ok)}<td>${escapeHtml(e.detail)}</td></tr>`)
      .join('');
    const allOk = f.events.every((e) => e.ok);
    return (
      `<tr class="${allOk ? '' : 'failrow'}"><td>${escapeHtml(f.id)}</td><td>${escapeHtml(f.kind)}</td><td>${escapeHtml(f.target)}</td>` +
      `<td>${escapeHtml(f.mechanism)}</td><td class="num">${seconds(f.startMs)}</td><td class="num">${f.endMs === undefined ? 'never' : seconds(f.endMs)}</td>` +
      `<td class="events"><table>${events}</table></td></tr>`
    );
  });
  return [
    `<h2>Faults (${journal.faults.length})</h2>`,
    '<table class="faults"><thead><tr><th>id</th><th>kind</th><th>target</th><th>mechanism</th><th>start (s)</th><th>end (s)</th><th>events</th></tr></thead>',
    `<tbody>${rows.join('\n')}</tbody></table>`,
  ].join('\n');
}

/** The rollback checks and the load totals. */
function rollbackSection(journal: Journal): string {
  const t = journal.totals;
  const checks = journal.rollback.checks.map((c) => `<tr>${okCell(c.ok)}<td>${escapeHtml(c.what)}</td><td>${escapeHtml(c.detail)}</td></tr>`);
  const total = (label: string, n: number, bad = false): string =>
    `<tr><th>${label}</th><td class="num${bad && n > 0 ? ' bad' : ''}">${n}</td></tr>`;
  return [
    `<h2>Rollback: <span class="${journal.rollback.ok ? 'ok' : 'bad'}">${journal.rollback.ok ? 'verified' : 'NOT verified'}</span></h2>`,
    '<table class="rollback"><thead><tr><th>ok</th><th>what</th><th>detail</th></tr></thead>',
    `<tbody>${checks.join('\n')}</tbody></table>`,
    '<h2>Totals</h2>',
    '<table class="totals"><tbody>',
    total('sent', t.sent),
    total('ok', t.ok),
    total('failed', t.failed, true),
    total('failed idempotent', t.failedIdempotent, true),
    '</tbody></table>',
  ].join('\n');
}

/** The probe strip, a per-probe count, and the failed samples in full (the first MAX_FAILED_ROWS). */
function probesSection(journal: Journal, time: TimeAxis): string {
  const names: string[] = [];
  for (const s of journal.probes) if (!names.includes(s.probe)) names.push(s.probe);
  const counts = names.map((name) => {
    const mine = journal.probes.filter((s) => s.probe === name);
    const failed = mine.filter((s) => !s.ok).length;
    return `<tr><td>${escapeHtml(name)}</td><td class="num">${mine.length}</td><td class="num${failed > 0 ? ' bad' : ''}">${failed}</td></tr>`;
  });
  const failed = journal.probes.filter((s) => !s.ok);
  const failedRows = failed
    .slice(0, MAX_FAILED_ROWS)
    .map(
      (s) =>
        `<tr><td class="num">${seconds(s.atMs)}</td><td>${escapeHtml(s.probe)}</td><td>${escapeHtml(s.phase)}</td>` +
        `<td class="num">${s.value === null ? '\u2014' : escapeHtml(String(Math.round(s.value * 1000) / 1000))}</td><td>${escapeHtml(s.detail)}</td></tr>`,
    );
  const more = failed.length > MAX_FAILED_ROWS ? `<p class="note">\u2026 and ${failed.length - MAX_FAILED_ROWS} more failed samples (all shown in the strip).</p>` : '';
  return [
    `<h2>Probe samples (${journal.probes.length})</h2>`,
    journal.probes.length === 0 ? '<p>No probe samples.</p>' : probeStrips(journal, time),
    '<table class="probe-counts"><thead><tr><th>probe</th><th>samples</th><th>failed</th></tr></thead>',
    `<tbody>${counts.join('\n')}</tbody></table>`,
    failed.length === 0 ? '' : '<h3>Failed samples</h3><table class="probe-failures"><thead><tr><th>at (s)</th><th>probe</th><th>phase</th><th>value</th><th>detail</th></tr></thead>',
    failed.length === 0 ? '' : `<tbody>${failedRows.join('\n')}</tbody></table>${more}`,
  ].join('\n');
}
