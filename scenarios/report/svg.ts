// Small inline-SVG drawing for the run report: scales, ticks, axes, gapped polylines, fault bands, phase marks, legends.
import { escapeHtml } from './escape.ts';

/** A map from a domain value to a pixel coordinate. */
export type Scale = (value: number) => number;

/** A straight-line scale from [d0, d1] onto [r0, r1]; a zero-width domain maps everything onto r0. */
export function linearScale(d0: number, d1: number, r0: number, r1: number): Scale {
  const span = d1 - d0;
  if (span === 0) return () => r0;
  return (value) => r0 + ((value - d0) / span) * (r1 - r0);
}

/** Round tick values (steps of 1, 2 or 5 × 10^k) from min to max, about `target` of them. */
export function niceTicks(min: number, max: number, target = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / Math.max(1, target);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** A pixel coordinate with at most one decimal, to keep the file small. */
export function px(value: number): string {
  return String(Math.round(value * 10) / 10);
}

/** The plot area inside an SVG of `width` × `height`. */
export interface Frame {
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

/** The pixel edges of a frame's plot area. */
function inner(frame: Frame): { x0: number; x1: number; y0: number; y1: number } {
  return { x0: frame.left, x1: frame.width - frame.right, y0: frame.top, y1: frame.height - frame.bottom };
}

/** One line of a chart; a null y leaves a gap. */
export interface LineSeries {
  readonly label: string;
  readonly color: string;
  /** [time ms, value or null], in time order. */
  readonly points: readonly (readonly [number, number | null])[];
  readonly dash?: string;
}

/** A shaded time window, e.g. a fault from its start to its end. */
export interface Band {
  readonly id: string;
  readonly label: string;
  readonly startMs: number;
  readonly endMs: number;
}

/** A named span of time marked lightly, e.g. a phase of the run. */
export interface Mark {
  readonly name: string;
  readonly startMs: number;
  readonly endMs: number;
}

/** What the chart's time axis covers and which windows it shades and marks. */
export interface TimeAxis {
  readonly maxMs: number;
  readonly bands: readonly Band[];
  readonly marks: readonly Mark[];
}

/** Everything a line chart draws. */
export interface LineChartSpec {
  /** Written as data-plot, so a test or a reader can find the chart. */
  readonly id: string;
  readonly width: number;
  readonly height: number;
  readonly time: TimeAxis;
  readonly yMin: number;
  readonly yMax: number;
  readonly yFormat: (value: number) => string;
  readonly series: readonly LineSeries[];
}

const FONT = 'font-family="system-ui,sans-serif"';
/** A rough width of one character of 10px text, for layout without a text engine. */
const CHAR_PX = 6;

/** Polylines for one series, split at every null; a lone point between gaps becomes a dot. Values are clamped to the y range. */
export function gappedPolylines(series: LineSeries, x: Scale, y: Scale, yMin: number, yMax: number): string {
  const runs: string[][] = [[]];
  // A small triangle at the top edge marks each value above the axis, so a clipped spike is not mistaken for its height.
  const clipped: string[] = [];
  for (const [t, v] of series.points) {
    if (v === null || !Number.isFinite(v)) {
      if (runs[runs.length - 1]!.length > 0) runs.push([]);
      continue;
    }
    const clamped = Math.min(yMax, Math.max(yMin, v));
    runs[runs.length - 1]!.push(`${px(x(t))},${px(y(clamped))}`);
    if (v > yMax) clipped.push(`M${px(x(t) - 3.5)} ${px(y(yMax) + 1)}l3.5 -6l3.5 6z`);
  }
  const dash = series.dash === undefined ? '' : ` stroke-dasharray="${escapeHtml(series.dash)}"`;
  const color = escapeHtml(series.color);
  return runs
    .filter((run) => run.length > 0)
    .map((run) => {
      if (run.length === 1) {
        const [cx, cy] = run[0]!.split(',');
        return `<circle cx="${cx}" cy="${cy}" r="2" fill="${color}"/>`;
      }
      return `<polyline fill="none" stroke="${color}" stroke-width="1.6"${dash} points="${run.join(' ')}"/>`;
    })
    .join('') + (clipped.length === 0 ? '' : `<path class="clipped" fill="${color}" d="${clipped.join('')}"/>`);
}

/** Height of one row of fault labels above a plot area. */
const LABEL_ROW = 11;

/** Which label row each band gets (by index into `bands`): the first row whose previous label ends left of this one. */
export function bandLabelRows(bands: readonly Band[], x: Scale): number[] {
  const rowEnds: number[] = [];
  const rows: number[] = new Array<number>(bands.length).fill(0);
  const order = bands.map((b, i) => [b, i] as const).sort(([a], [b]) => a.startMs - b.startMs);
  for (const [band, i] of order) {
    const left = x(band.startMs);
    let row = rowEnds.findIndex((end) => end < left);
    if (row === -1) row = rowEnds.length;
    rowEnds[row] = left + band.label.length * CHAR_PX + 8;
    rows[i] = row;
  }
  return rows;
}

/** The top margin a chart needs: a row for phase names, then the rows of fault labels. */
function topMargin(bands: readonly Band[], x: Scale): number {
  const rows = bands.length === 0 ? 0 : Math.max(...bandLabelRows(bands, x)) + 1;
  return 18 + rows * LABEL_ROW + 2;
}

/** Shaded fault windows, each with its id in a label row above the plot area, so labels never cover the data. */
export function faultBands(bands: readonly Band[], x: Scale, frame: Frame): string {
  const { x0, x1, y0, y1 } = inner(frame);
  const rows = bandLabelRows(bands, x);
  const out: string[] = [];
  bands.forEach((band, i) => {
    const left = Math.max(x0, x(band.startMs));
    const right = Math.min(x1, Math.max(left + 1, x(band.endMs)));
    const labelY = 18 + (rows[i] ?? 0) * LABEL_ROW + 8;
    out.push(
      `<rect class="fault-band" data-fault="${escapeHtml(band.id)}" x="${px(left)}" y="${y0}" width="${px(right - left)}" ` +
        `height="${y1 - y0}" fill="#e4572e" fill-opacity="0.13" stroke="#e4572e" stroke-opacity="0.45" stroke-width="0.8">` +
        `<title>${escapeHtml(band.label)}</title></rect>`,
      `<line x1="${px(left)}" x2="${px(left)}" y1="${labelY - 8}" y2="${y0}" stroke="#e4572e" stroke-opacity="0.6" stroke-width="0.8"/>`,
      `<text x="${px(left + 3)}" y="${labelY}" font-size="10" fill="#a8321a" ${FONT}>${escapeHtml(band.label)}</text>`,
    );
  });
  return out.join('');
}

/** A light dashed line at each mark's start and its name above the plot area when the span is wide enough. */
export function phaseMarks(marks: readonly Mark[], x: Scale, frame: Frame): string {
  const { x0, x1, y0, y1 } = inner(frame);
  const out: string[] = [];
  for (const mark of marks) {
    const left = Math.max(x0, x(mark.startMs));
    const right = Math.min(x1, x(mark.endMs));
    if (mark.startMs > 0) {
      out.push(`<line x1="${px(left)}" x2="${px(left)}" y1="3" y2="${y1}" stroke="#999" stroke-dasharray="2 3" stroke-width="0.8"/>`);
    }
    if (right - left >= mark.name.length * CHAR_PX + 4) {
      out.push(
        `<text x="${px((left + right) / 2)}" y="12" font-size="10" fill="#888" text-anchor="middle" ${FONT}>${escapeHtml(mark.name)}</text>`,
      );
    }
  }
  return out.join('');
}

/** The time axis in seconds from t0, with ticks, light grid lines and its label. */
export function timeAxis(maxMs: number, x: Scale, frame: Frame): string {
  const { x0, x1, y0, y1 } = inner(frame);
  const target = Math.max(2, Math.floor((x1 - x0) / 70));
  const out = [`<line x1="${x0}" x2="${x1}" y1="${y1}" y2="${y1}" stroke="#444"/>`];
  for (const s of niceTicks(0, maxMs / 1000, target)) {
    const tx = px(x(s * 1000));
    out.push(
      `<line x1="${tx}" x2="${tx}" y1="${y0}" y2="${y1}" stroke="#000" stroke-opacity="0.06"/>`,
      `<line x1="${tx}" x2="${tx}" y1="${y1}" y2="${y1 + 4}" stroke="#444"/>`,
      `<text x="${tx}" y="${y1 + 15}" font-size="10" text-anchor="middle" fill="#333" ${FONT}>${s}</text>`,
    );
  }
  out.push(`<text x="${x1}" y="${y1 + 27}" font-size="10" text-anchor="end" fill="#555" ${FONT}>time (s)</text>`);
  return out.join('');
}

/** The value axis with ticks, light grid lines and labels formatted by `format`. */
export function valueAxis(yMin: number, yMax: number, y: Scale, frame: Frame, format: (v: number) => string): string {
  const { x0, x1, y0, y1 } = inner(frame);
  const target = Math.max(2, Math.floor((y1 - y0) / 35));
  const out = [`<line x1="${x0}" x2="${x0}" y1="${y0}" y2="${y1}" stroke="#444"/>`];
  for (const v of niceTicks(yMin, yMax, target)) {
    const ty = px(y(v));
    out.push(
      `<line x1="${x0}" x2="${x1}" y1="${ty}" y2="${ty}" stroke="#000" stroke-opacity="0.07"/>`,
      `<line x1="${x0 - 4}" x2="${x0}" y1="${ty}" y2="${ty}" stroke="#444"/>`,
      `<text x="${x0 - 6}" y="${ty}" dy="3.5" font-size="10" text-anchor="end" fill="#333" ${FONT}>${escapeHtml(format(v))}</text>`,
    );
  }
  return out.join('');
}

/** A legend of swatches and labels laid out in rows from `top`; returns the markup and the height it took. */
export function legend(items: readonly { label: string; color: string; dash?: string }[], left: number, width: number, top: number): { svg: string; height: number } {
  const out: string[] = [];
  let cx = left;
  let cy = top;
  for (const item of items) {
    const w = 26 + item.label.length * CHAR_PX + 14;
    if (cx > left && cx + w > left + width) {
      cx = left;
      cy += 15;
    }
    const dash = item.dash === undefined ? '' : ` stroke-dasharray="${escapeHtml(item.dash)}"`;
    out.push(
      `<line x1="${cx}" x2="${cx + 20}" y1="${cy + 6}" y2="${cy + 6}" stroke="${escapeHtml(item.color)}" stroke-width="2.5"${dash}/>`,
      `<text x="${cx + 25}" y="${cy + 10}" font-size="10.5" fill="#222" ${FONT}>${escapeHtml(item.label)}</text>`,
    );
    cx += w;
  }
  return { svg: out.join(''), height: items.length === 0 ? 0 : cy - top + 16 };
}

/** A time-series line chart: axes, phase marks, fault bands, one gapped line per series and a legend below. */
export function lineChart(spec: LineChartSpec): string {
  const left = 52;
  const plotWidth = spec.width - left - 14;
  const legendPart = legend(spec.series, left, plotWidth, 0);
  const x = linearScale(0, spec.time.maxMs, left, left + plotWidth);
  const top = topMargin(spec.time.bands, x);
  // The plot area keeps its height however many label rows sit above it.
  const height = spec.height + top - 20;
  const frame: Frame = { width: spec.width, height, left, right: 14, top, bottom: 32 };
  const { y0, y1 } = inner(frame);
  const y = linearScale(spec.yMin, spec.yMax, y1, y0);
  const total = height + legendPart.height + 4;
  return [
    `<svg class="chart" data-plot="${escapeHtml(spec.id)}" width="${spec.width}" height="${total}" viewBox="0 0 ${spec.width} ${total}">`,
    valueAxis(spec.yMin, spec.yMax, y, frame, spec.yFormat),
    timeAxis(spec.time.maxMs, x, frame),
    phaseMarks(spec.time.marks, x, frame),
    faultBands(spec.time.bands, x, frame),
    spec.series.map((s) => `<g class="series" data-series="${escapeHtml(s.label)}">${gappedPolylines(s, x, y, spec.yMin, spec.yMax)}</g>`).join(''),
    `<g transform="translate(0 ${height})">${legendPart.svg}</g>`,
    '</svg>',
  ].join('');
}

/** One row of a strip chart: a label and one tick per sample, green when ok, red when not. */
export interface StripRow {
  readonly label: string;
  readonly samples: readonly { readonly atMs: number; readonly ok: boolean; readonly title: string }[];
}

/** A strip chart: one row per probe with an ok/fail tick per sample on the shared time axis. */
export function stripChart(id: string, width: number, time: TimeAxis, rows: readonly StripRow[]): string {
  const labelWidth = Math.min(260, 12 + Math.max(8, ...rows.map((r) => r.label.length)) * CHAR_PX);
  const rowHeight = 16;
  const x = linearScale(0, time.maxMs, labelWidth, width - 14);
  const top = topMargin(time.bands, x);
  const frame: Frame = { width, height: top + rows.length * rowHeight + 36, left: labelWidth, right: 14, top, bottom: 32 };
  const out = [
    `<svg class="chart" data-plot="${escapeHtml(id)}" width="${width}" height="${frame.height}" viewBox="0 0 ${width} ${frame.height}">`,
    timeAxis(time.maxMs, x, frame),
    phaseMarks(time.marks, x, frame),
    faultBands(time.bands, x, frame),
  ];
  rows.forEach((row, i) => {
    const top = frame.top + i * rowHeight + 2;
    const shown = row.label.length > (labelWidth - 10) / CHAR_PX ? `${row.label.slice(0, Math.floor((labelWidth - 10) / CHAR_PX) - 1)}…` : row.label;
    out.push(`<text x="${labelWidth - 6}" y="${top + 10}" font-size="10" text-anchor="end" fill="#222" ${FONT}>${escapeHtml(shown)}<title>${escapeHtml(row.label)}</title></text>`);
    for (const s of row.samples) {
      out.push(
        `<rect x="${px(x(s.atMs) - 1)}" y="${top}" width="2.5" height="${rowHeight - 4}" fill="${s.ok ? '#3a9d5d' : '#d62728'}"><title>${escapeHtml(s.title)}</title></rect>`,
      );
    }
  });
  out.push('</svg>');
  return out.join('');
}
