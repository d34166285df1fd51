// The dashboard's pure view model: zones grouped by cloud and region, the paged weight matrix, and the share chart's
// geometry. No DOM and no imports: the admin listener serves this file to the browser as /ui/model.js, types stripped.

/** A zone as /v1/zones returns it (the fields the page reads). */
export interface ZoneInfo {
  readonly zone: string;
  readonly cloud: string;
  readonly region: string;
  readonly alive: boolean;
  readonly drained: boolean;
  readonly eligible: boolean;
  readonly reportAgeSeconds?: number;
  readonly gatewayAddress: string;
  readonly outFor: readonly { readonly service: string; readonly reason: string }[];
  /** How many services the zone is out for, when outFor was cut short (/v1/zones?outForLimit=N). */
  readonly outForTotal?: number;
  readonly agentLostSeconds?: number;
}

/** Zones of one region, regions of one cloud. */
export interface CloudGroup {
  readonly cloud: string;
  readonly regions: readonly { readonly region: string; readonly zones: readonly ZoneInfo[] }[];
}

/** Groups zones by cloud, then region, each level sorted by name; an unknown cloud or region shows as "?". */
export function groupZones(zones: readonly ZoneInfo[]): CloudGroup[] {
  const clouds = new Map<string, Map<string, ZoneInfo[]>>();
  for (const z of zones) {
    const regions = clouds.get(z.cloud || '?') ?? new Map<string, ZoneInfo[]>();
    clouds.set(z.cloud || '?', regions);
    const list = regions.get(z.region || '?') ?? [];
    regions.set(z.region || '?', list);
    list.push(z);
  }
  const byName = <T>(m: Map<string, T>) => [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return byName(clouds).map(([cloud, regions]) => ({
    cloud,
    regions: byName(regions).map(([region, list]) => ({ region, zones: [...list].sort((a, b) => (a.zone < b.zone ? -1 : 1)) })),
  }));
}

/** The zone order of the grouping (cloud, region, zone), used for the matrix columns. */
export function zoneOrder(groups: readonly CloudGroup[]): string[] {
  return groups.flatMap((g) => g.regions.flatMap((r) => r.zones.map((z) => z.zone)));
}

/** Why a zone is not eligible, in one line, or undefined when it is. */
export function ineligibleWhy(z: ZoneInfo): string | undefined {
  if (z.eligible) return undefined;
  if (z.drained) return 'drained by operator';
  if (!z.alive) return z.agentLostSeconds !== undefined ? `agent lease gone ${Math.round(z.agentLostSeconds)}s ago` : 'no agent has reported';
  const out = z.outFor.map((o) => `${o.service}: ${o.reason}`);
  const more = (z.outForTotal ?? z.outFor.length) - z.outFor.length;
  return out.length > 0 ? out.join('; ') + (more > 0 ? ` (and ${more} more services)` : '') : 'not eligible';
}

/** A weight table as /v1/weights/NS/SVC returns it. */
export interface TableInfo {
  readonly service: string;
  readonly version: string;
  readonly computedAt: number;
  readonly rows: readonly {
    readonly sourceZone: string;
    readonly panic: boolean;
    readonly exclusive?: boolean;
    readonly unavailableReason?: string;
    readonly targets: readonly { readonly zone: string; readonly basisPoints: number; readonly tier: number; readonly reason: string }[];
  }[];
}

/** One cell: the share of a source's traffic a target gets, its tier and why. */
export interface Cell {
  readonly target: string;
  readonly basisPoints: number;
  readonly tier: number;
  readonly reason: string;
  /** As the CLI prints it: "35.00%". */
  readonly share: string;
}

/** One row of the matrix; a cell is null where the source's row does not list the target. */
export interface MatrixRow {
  readonly source: string;
  readonly panic: boolean;
  readonly exclusive: boolean;
  readonly unavailableReason?: string;
  readonly cells: readonly (Cell | null)[];
}

/** The part of the matrix on screen, and how much there is. */
export interface Matrix {
  readonly targets: readonly string[];
  readonly rows: readonly MatrixRow[];
  readonly totalRows: number;
  readonly totalTargets: number;
  readonly rowOffset: number;
  readonly colOffset: number;
}

/** What part of the matrix to show: a zone-name filter (sources and targets), and a page of rows and of columns. */
export interface MatrixWindow {
  readonly filter: string;
  readonly rowOffset: number;
  readonly rowLimit: number;
  readonly colOffset: number;
  readonly colLimit: number;
}

/** A share in basis points as the CLI prints it. */
export function formatShare(bp: number): string {
  return `${(bp / 100).toFixed(2)}%`;
}

/**
 * The visible matrix. Columns follow `order` (the zone grouping); a target not in it goes after, by name. Offsets
 * past the end are pulled back to the last page, so a filter that shrinks the matrix never leaves an empty page.
 */
export function buildMatrix(table: TableInfo, order: readonly string[], w: MatrixWindow): Matrix {
  const needle = w.filter.trim().toLowerCase();
  const match = (z: string) => needle === '' || z.toLowerCase().includes(needle);
  const rank = new Map(order.map((z, i) => [z, i]));
  const targetSet = new Set<string>();
  for (const r of table.rows) for (const t of r.targets) targetSet.add(t.zone);
  const targets = [...targetSet].filter(match).sort((a, b) => (rank.get(a) ?? Infinity) - (rank.get(b) ?? Infinity) || (a < b ? -1 : a > b ? 1 : 0));
  const rows = table.rows.filter((r) => match(r.sourceZone));
  const clamp = (offset: number, limit: number, total: number) => Math.max(0, Math.min(offset, Math.max(0, total - 1) - (Math.max(0, total - 1) % limit)));
  const rowOffset = clamp(w.rowOffset, w.rowLimit, rows.length);
  const colOffset = clamp(w.colOffset, w.colLimit, targets.length);
  const shown = targets.slice(colOffset, colOffset + w.colLimit);
  return {
    targets: shown,
    totalRows: rows.length,
    totalTargets: targets.length,
    rowOffset,
    colOffset,
    rows: rows.slice(rowOffset, rowOffset + w.rowLimit).map((r) => {
      const by = new Map(r.targets.map((t) => [t.zone, t]));
      return {
        source: r.sourceZone, panic: r.panic, exclusive: r.exclusive === true,
        ...(r.unavailableReason !== undefined ? { unavailableReason: r.unavailableReason } : {}),
        cells: shown.map((z) => {
          const t = by.get(z);
          return t ? { target: z, basisPoints: t.basisPoints, tier: t.tier, reason: t.reason, share: formatShare(t.basisPoints) } : null;
        }),
      };
    }),
  };
}

/** One source's history as /v1/history returns it. */
export interface SourceHistory {
  readonly source: string;
  readonly samples: readonly { readonly t: number; readonly shares: Readonly<Record<string, number>>; readonly panic: boolean }[];
}

/** A mark as /v1/history returns it. */
export interface MarkInfo {
  readonly t: number;
  readonly kind: string;
  readonly zone?: string;
  readonly text: string;
}

/** The chart of one source: a step line per target zone, vertical marks, panic spans; coordinates in the SVG box. */
export interface Chart {
  readonly lines: readonly { readonly zone: string; readonly points: string; readonly last: number }[];
  readonly marks: readonly { readonly x: number; readonly t: number; readonly kind: string; readonly text: string }[];
  readonly panic: readonly { readonly x0: number; readonly x1: number }[];
  readonly t0: number;
  readonly t1: number;
}

/**
 * Lays out a source's shares over [now - spanMs, now] in a width × height box (y grows down, 100% at the top). Each
 * share holds until the next sample, so lines are steps; a sample before the window starts the line at its left edge.
 */
export function chartOf(h: SourceHistory, marks: readonly MarkInfo[], now: number, spanMs: number, width: number, height: number): Chart {
  const t0 = now - spanMs;
  const x = (t: number) => Math.round(((Math.max(t, t0) - t0) / spanMs) * width * 10) / 10;
  const y = (bp: number) => Math.round((1 - bp / 10000) * height * 10) / 10;
  const zones = new Set<string>();
  for (const s of h.samples) for (const z of Object.keys(s.shares)) zones.add(z);
  const lines = [...zones].sort().map((zone) => {
    const pts: string[] = [];
    let prev: number | undefined;
    for (const s of h.samples) {
      const bp = s.shares[zone] ?? 0;
      if (prev !== undefined) pts.push(`${x(s.t)},${y(prev)}`);
      pts.push(`${x(s.t)},${y(bp)}`);
      prev = bp;
    }
    if (prev !== undefined) pts.push(`${width},${y(prev)}`);
    return { zone, points: pts.join(' '), last: prev ?? 0 };
  });
  const panic: { x0: number; x1: number }[] = [];
  h.samples.forEach((s, i) => {
    if (s.panic) panic.push({ x0: x(s.t), x1: i + 1 < h.samples.length ? x(h.samples[i + 1]!.t) : width });
  });
  return {
    lines, panic, t0, t1: now,
    marks: marks.filter((m) => m.t >= t0 && m.t <= now).map((m) => ({ x: x(m.t), t: m.t, kind: m.kind, text: m.text })),
  };
}

/** A stable colour per zone name (hue from a string hash), so a zone keeps its colour across charts and reloads. */
export function zoneColour(zone: string): string {
  let h = 0;
  for (let i = 0; i < zone.length; i++) h = (h * 31 + zone.charCodeAt(i)) >>> 0;
  return `hsl(${h % 360} 65% 42%)`;
}
