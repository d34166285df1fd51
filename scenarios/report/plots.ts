// The report's plots, drawn from a journal: share per zone, success, latency, weights per source zone and probe strips.
import { escapeHtml } from './escape.ts';
import type { Journal, SeriesPoint } from './journal.ts';
import { lineChart, niceTicks, stripChart, type LineSeries, type TimeAxis } from './svg.ts';

/** Colours for zones, picked so that red stays free for faults and failures. */
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#17becf', '#8c564b', '#e377c2', '#bcbd22'];

/** Width of a full-width plot and of a small (per source zone) plot, in px. */
const WIDE = 1180;
const SMALL = 384;

/** Maps a zone name to its colour, the same in every plot of one report. */
export type ZoneColors = (zone: string) => string;

/**
 * Gives each zone a fixed colour: the journal's zones in their order, then any other zone the series names, in order of
 * first appearance. Past the palette, colours are spread around the hue circle.
 */
export function zoneColors(journal: Journal): ZoneColors {
  const names: string[] = journal.zones.map((z) => z.name);
  const add = (name: string): void => {
    if (!names.includes(name)) names.push(name);
  };
  for (const point of journal.series) {
    for (const zones of Object.values(point.share)) Object.keys(zones).forEach(add);
    for (const sources of Object.values(point.weights ?? {})) {
      for (const [source, dests] of Object.entries(sources)) {
        add(source);
        Object.keys(dests).forEach(add);
      }
    }
  }
  const colors = new Map(names.map((name, i) => [name, PALETTE[i] ?? `hsl(${Math.round((i * 137.5) % 360)} 60% 42%)`]));
  return (zone) => colors.get(zone) ?? '#777';
}

/** The shared time axis: run length, fault windows (an unended fault runs to the end) and phases. */
export function timeAxisOf(journal: Journal): TimeAxis {
  const ends = [
    journal.load.durationMs,
    ...journal.series.map((p) => p.atMs),
    ...journal.phases.map((p) => p.endMs),
    ...journal.faults.map((f) => f.endMs ?? f.startMs),
    ...journal.probes.map((p) => p.atMs),
  ];
  const maxMs = Math.max(1000, ...ends.filter((v) => Number.isFinite(v)));
  return {
    maxMs,
    bands: journal.faults.map((f) => ({
      id: f.id,
      label: f.endMs === undefined ? `${f.id} (never ended)` : f.id,
      startMs: f.startMs,
      endMs: f.endMs ?? maxMs,
    })),
    marks: journal.phases.map((p) => ({ name: p.name, startMs: p.startMs, endMs: p.endMs })),
  };
}

/** A plot in a figure with its caption and an optional note under it. */
function figure(caption: string, svg: string, note = '', className = 'plot'): string {
  const noteHtml = note === '' ? '' : `<p class="note">${escapeHtml(note)}</p>`;
  return `<figure class="${className}"><figcaption>${escapeHtml(caption)}</figcaption>${svg}${noteHtml}</figure>`;
}

/** Keys in order of first appearance over the series, from `pick` of each point. */
function keysInOrder(series: readonly SeriesPoint[], pick: (p: SeriesPoint) => Readonly<Record<string, unknown>> | undefined): string[] {
  const keys: string[] = [];
  for (const point of series) {
    for (const key of Object.keys(pick(point) ?? {})) if (!keys.includes(key)) keys.push(key);
  }
  return keys;
}

/** Sorts zone names by the journal's zone order, unknown ones last in their given order. */
function byZoneOrder(journal: Journal, names: readonly string[]): string[] {
  const order = journal.zones.map((z) => z.name);
  const rank = (n: string): number => (order.includes(n) ? order.indexOf(n) : order.length + names.indexOf(n));
  return [...names].sort((a, b) => rank(a) - rank(b));
}

const percent = (v: number): string => `${Math.round(v)}%`;

/** One plot per service: the share of its hops each zone served, 0–100%. A window without hops is a gap. */
export function sharePlots(journal: Journal, colors: ZoneColors, time: TimeAxis): string[] {
  return keysInOrder(journal.series, (p) => p.share).map((service) => {
    const zones = byZoneOrder(journal, keysInOrder(journal.series, (p) => p.share[service]));
    const series: LineSeries[] = zones.map((zone) => ({
      label: zone,
      color: colors(zone),
      points: journal.series.map((p) => {
        const served = p.share[service];
        if (served === undefined || Object.keys(served).length === 0) return [p.atMs, null] as const;
        return [p.atMs, (served[zone] ?? 0) * 100] as const;
      }),
    }));
    const svg = lineChart({ id: `share:${service}`, width: WIDE, height: 240, time, yMin: 0, yMax: 100, yFormat: percent, series });
    return figure(`Share of ${service} served per zone (%)`, svg);
  });
}

/** Success rate over time, 0–100%; windows with no completed request are gaps. */
export function successPlot(journal: Journal, time: TimeAxis): string {
  const series: LineSeries[] = [
    { label: 'success rate', color: '#2e7d32', points: journal.series.map((p) => [p.atMs, p.success === null ? null : p.success * 100] as const) },
  ];
  const svg = lineChart({ id: 'success', width: WIDE, height: 220, time, yMin: 0, yMax: 100, yFormat: percent, series });
  const gaps = journal.series.filter((p) => p.success === null).length;
  return figure('Success rate of completed requests (%)', svg, gaps > 0 ? `${gaps} window(s) had no completed request (gaps in the line).` : '');
}

/** The 99th percentile of values (nearest rank). */
function percentile99(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(sorted.length * 0.99) - 1)] ?? 0;
}

/** p50 and p99 latency on a linear scale topped at 1.1 × the 99th percentile of all values, so one spike cannot flatten the rest. */
export function latencyPlot(journal: Journal, time: TimeAxis): string {
  const values = journal.series.flatMap((p) => [p.p50Ms, p.p99Ms]).filter((v): v is number => v !== null && Number.isFinite(v));
  const raw = Math.max(1, percentile99(values) * 1.1);
  const ticks = niceTicks(0, raw, 5);
  const step = (ticks[1] ?? raw) - (ticks[0] ?? 0);
  const yMax = Math.ceil(raw / step) * step;
  const series: LineSeries[] = [
    { label: 'p50', color: '#1565c0', points: journal.series.map((p) => [p.atMs, p.p50Ms] as const) },
    { label: 'p99', color: '#6a1b9a', dash: '5 3', points: journal.series.map((p) => [p.atMs, p.p99Ms] as const) },
  ];
  const svg = lineChart({ id: 'latency', width: WIDE, height: 240, time, yMin: 0, yMax, yFormat: (v) => `${v} ms`, series });
  const peak = values.length === 0 ? 0 : Math.max(...values);
  const clipped = values.filter((v) => v > yMax).length;
  const note = clipped > 0 ? `Linear scale clipped at ${yMax} ms: ${clipped} value(s) above it (triangles at the top edge), peak ${Math.round(peak)} ms.` : 'Linear scale.';
  return figure('Latency of completed requests, p50 and p99 (ms)', svg, note);
}

/** For each service, one small plot per source zone with one line per destination zone, weights in % (basis points / 100). */
export function weightPlots(journal: Journal, colors: ZoneColors, time: TimeAxis): string[] {
  return keysInOrder(journal.series, (p) => p.weights).map((service) => {
    const sources = byZoneOrder(journal, keysInOrder(journal.series, (p) => p.weights?.[service]));
    const plots = sources.map((source) => {
      const dests = byZoneOrder(journal, keysInOrder(journal.series, (p) => p.weights?.[service]?.[source]));
      const series: LineSeries[] = dests.map((dest) => ({
        label: dest,
        color: colors(dest),
        points: journal.series.map((p) => {
          const row = p.weights?.[service]?.[source];
          return [p.atMs, row === undefined ? null : (row[dest] ?? 0) / 100] as const;
        }),
      }));
      const svg = lineChart({ id: `weights:${service}:${source}`, width: SMALL, height: 190, time, yMin: 0, yMax: 100, yFormat: percent, series });
      return figure(`from ${source}`, svg, '', 'plot small');
    });
    return `<section class="weights"><h3>Weights of ${escapeHtml(service)} per source zone (%)</h3><div class="grid">${plots.join('')}</div></section>`;
  });
}

/** One strip per probe of ok/fail over time; each tick's tooltip holds the phase, value and detail. */
export function probeStrips(journal: Journal, time: TimeAxis): string {
  const names: string[] = [];
  for (const s of journal.probes) if (!names.includes(s.probe)) names.push(s.probe);
  const rows = names.map((probe) => ({
    label: probe,
    samples: journal.probes
      .filter((s) => s.probe === probe)
      .map((s) => ({
        atMs: s.atMs,
        ok: s.ok,
        title: `${(s.atMs / 1000).toFixed(1)} s ${s.phase}: ${s.ok ? 'ok' : 'FAIL'}, value ${s.value ?? 'none'}${s.detail === '' ? '' : ` (${s.detail})`}`,
      })),
  }));
  return figure('Probe samples: green ok, red failed (hover a tick for its value)', stripChart('probes', WIDE, time, rows));
}
