// Tests of the HTML run report: a well-formed, self-contained page with every plot, band, row and escape it promises.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeHtml, renderReport } from './html.ts';
import type { Journal, SeriesPoint } from './journal.ts';
import { sampleJournal } from './sample-journal.ts';

const VOID = new Set(['meta', 'br', 'hr', 'img', 'input', 'link', 'area', 'base', 'col', 'source', 'wbr']);

/** Checks that every non-void tag is closed in order; returns the first problem, or '' when balanced. */
function tagProblem(html: string): string {
  const body = html.replace(/<style>[\s\S]*?<\/style>/g, '<style></style>').replace(/<!doctype html>/i, '');
  const stack: string[] = [];
  for (const m of body.matchAll(/<(\/?)([a-zA-Z][\w-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g)) {
    const [, closing, rawName, , selfClosing] = m;
    const name = rawName!.toLowerCase();
    if (closing === '/') {
      const open = stack.pop();
      if (open !== name) return `</${name}> closes <${open ?? 'nothing'}> at ${m.index}`;
    } else if (selfClosing !== '/' && !VOID.has(name)) {
      stack.push(name);
    }
  }
  return stack.length === 0 ? '' : `unclosed: ${stack.join(' > ')}`;
}

/** The markup of the chart with data-plot `id`, or undefined. */
function chart(html: string, id: string): string | undefined {
  const start = html.indexOf(`<svg class="chart" data-plot="${escapeHtml(id)}"`);
  if (start === -1) return undefined;
  return html.slice(start, html.indexOf('</svg>', start) + '</svg>'.length);
}

/** All data-plot ids in the page, in order. */
function plotIds(html: string): string[] {
  return [...html.matchAll(/<svg class="chart" data-plot="([^"]*)"/g)].map((m) => m[1]!);
}

/** The sample with some fields replaced. */
function withChanges(change: (j: Journal) => Partial<Journal>): Journal {
  const j = sampleJournal();
  return { ...j, ...change(j) };
}

describe('renderReport', () => {
  const sample = sampleJournal();
  const html = renderReport(sample);

  it('is a complete, well-formed document with every <svg> closed', () => {
    assert.match(html, /^<!doctype html>\n<html lang="en">/);
    assert.match(html, /<\/body><\/html>$/);
    assert.equal(tagProblem(html), '');
    assert.equal((html.match(/<svg[\s>]/g) ?? []).length, (html.match(/<\/svg>/g) ?? []).length);
  });

  it('references nothing on the network: no scripts, links, remote src/href or url()', () => {
    assert.doesNotMatch(html, /https?:\/\//);
    assert.doesNotMatch(html, /<script|<link|<img|<iframe|@import|url\(/i);
    assert.doesNotMatch(html, /\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
  });

  it('draws one share plot per service and one weights plot per service and source zone', () => {
    const ids = plotIds(html);
    assert.deepEqual(ids.filter((id) => id.startsWith('share:')), ['share:catalog', 'share:pricing']);
    const zones = ['us-east-1a', 'us-east-1b', 'europe-west1-b'];
    assert.deepEqual(
      ids.filter((id) => id.startsWith('weights:')),
      ['catalog', 'pricing'].flatMap((s) => zones.map((z) => `weights:${s}:${z}`)),
    );
    assert.ok(ids.includes('success') && ids.includes('latency') && ids.includes('probes'));
  });

  it('shades every fault in every plot, with its id as the label', () => {
    for (const id of plotIds(html)) {
      const svg = chart(html, id)!;
      for (const fault of sample.faults) {
        assert.match(svg, new RegExp(`<rect class="fault-band" data-fault="${fault.id}"`), `${fault.id} in ${id}`);
        assert.match(svg, new RegExp(`>${fault.id}</text>`), `label of ${fault.id} in ${id}`);
      }
    }
  });

  it('gives each zone the same colour in every plot', () => {
    for (const zone of ['us-east-1a', 'us-east-1b', 'europe-west1-b']) {
      const colours = new Set([...html.matchAll(new RegExp(`data-series="${zone}"><polyline fill="none" stroke="([^"]+)"`, 'g'))].map((m) => m[1]));
      assert.equal(colours.size, 1, `${zone}: ${[...colours].join(', ')}`);
    }
  });

  it('shows each expectation with its goal, measured value and verdict', () => {
    const table = html.slice(html.indexOf('<table class="expectations">'), html.indexOf('</table>', html.indexOf('<table class="expectations">')));
    const rows = table.split('<tr').slice(2);
    assert.equal(rows.length, sample.expectations.length);
    sample.expectations.forEach((e, i) => {
      assert.ok(rows[i]!.includes(`<td class="measured">${escapeHtml(e.measured)}</td>`), e.name);
      assert.ok(rows[i]!.includes(escapeHtml(e.goal)), e.name);
      assert.ok(rows[i]!.includes(e.ok ? '<td class="ok">ok</td>' : '<td class="bad">FAIL</td>'), e.name);
    });
    assert.match(html, /Expectations: 2 of 3 held/);
    assert.match(html, /<div class="result failed">FAILED<\/div>/);
  });

  it('escapes markup from every journal string it shows', () => {
    const evil = '<script>alert(1)</script>"\'&';
    const j = withChanges((s) => ({
      scenario: { ...s.scenario, name: evil, description: evil },
      machine: { ...s.machine, cpuModel: evil },
      load: { ...s.load, targets: [evil] },
      faults: s.faults.map((f) => ({ ...f, id: `${f.id}${evil}`, target: evil, events: f.events.map((e) => ({ ...e, detail: evil })) })),
      expectations: s.expectations.map((e) => ({ ...e, name: evil, measured: evil })),
      probes: s.probes.map((p) => ({ ...p, probe: evil, ok: false, detail: evil })),
      rollback: { ok: false, checks: [{ what: evil, ok: false, detail: evil }] },
      aborted: { atMs: 70_000, reason: evil },
      series: s.series.map((p) => ({ ...p, share: { [evil]: { [evil]: 1 } } })),
    }));
    const out = renderReport(j);
    assert.doesNotMatch(out, /<script/i);
    assert.ok(out.includes('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;'));
    assert.equal(tagProblem(out), '');
  });

  it('splits the success line where a window had no completed request', () => {
    const j = withChanges((s) => ({
      series: s.series.map((p, i): SeriesPoint => (i === 20 || i === 21 || i === 23 ? { ...p, success: null } : p)),
    }));
    const svg = chart(renderReport(j), 'success')!;
    // Runs: before 20, 22 alone, after 23 (the sample's first two windows are empty too); the lone point is a dot.
    assert.equal((svg.match(/<polyline/g) ?? []).length, 2);
    assert.equal((svg.match(/<circle/g) ?? []).length, 1);
    assert.match(renderReport(j), /window\(s\) had no completed request/);
  });

  it('keeps the sample report under 500 KB', () => {
    assert.ok(Buffer.byteLength(html) < 500_000, `${Buffer.byteLength(html)} bytes`);
  });

  it('clips the latency axis below a lone spike and says so', () => {
    const latency = html.slice(html.indexOf('data-plot="latency"'));
    assert.equal((chart(html, 'latency')!.match(/<path class="clipped"[^>]*d="([^"]*)"/)?.[1]?.match(/M/g) ?? []).length, 2);
    assert.match(latency, /Linear scale clipped at \d+ ms: \d+ value\(s\) above it \(triangles at the top edge\), peak 1450 ms/);
  });

  it('shows an aborted run with its reason and a fault that never ended shaded to the end', () => {
    const j = withChanges((s) => ({
      result: 'aborted',
      aborted: { atMs: 55_000, reason: 'stop condition: success rate < 50%' },
      faults: [{ ...s.faults[0]!, endMs: undefined }],
    }));
    const out = renderReport(j);
    assert.match(out, /<div class="result aborted">ABORTED<\/div>/);
    assert.match(out, /Aborted at 55\.0 s:<\/strong> stop condition: success rate &lt; 50%/);
    assert.match(chart(out, 'success')!, /zone-down-1a \(never ended\)<\/text>/);
  });

  it('draws a journal with no series, faults or probes without failing', () => {
    const j = withChanges(() => ({ series: [], faults: [], probes: [], phases: [], expectations: [] }));
    const out = renderReport(j);
    assert.equal(tagProblem(out), '');
    assert.match(out, /No probe samples/);
  });
});

describe('escapeHtml', () => {
  it('escapes the five characters that matter in text and quoted attributes', () => {
    assert.equal(escapeHtml(`<a href="x" title='y'>&</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });
});
