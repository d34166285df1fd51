// Plain-text rendering of a weight table's reasons, for `meshfed weights --explain` and logs.
import type { ServiceTable } from './types.ts';

/** One line per target, grouped by source zone, e.g. "  us-east-1b  3500 bp  tier 1  <reason>". */
export function explain(table: ServiceTable): string[] {
  const lines: string[] = [`${table.service} (version ${table.version})`];
  for (const row of table.rows) {
    lines.push(`from ${row.sourceZone}${row.panic ? ' [PANIC]' : ''}:`);
    if (row.targets.length === 0) lines.push('  (no zone has this service)');
    const width = Math.max(0, ...row.targets.map((t) => t.zone.length));
    for (const t of row.targets) {
      lines.push(`  ${t.zone.padEnd(width)}  ${String(t.basisPoints).padStart(5)} bp  tier ${t.tier}  ${t.reason}`);
    }
  }
  return lines;
}
