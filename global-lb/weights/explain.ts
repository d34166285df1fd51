// Plain-text rendering of a weight table's reasons, for `meshfed weights --explain` and logs.
import type { ServiceTable, SourceRow } from './types.ts';

/**
 * What restricts an exclusive row: the residency rule, taken from the unavailable reason when there is one, else
 * the zones it may use ("may use only: a, b").
 */
export function exclusiveText(row: SourceRow): string {
  const m = row.unavailableReason !== undefined ? /residency \(from [^)]*\) allows .* only/.exec(row.unavailableReason) : null;
  return m ? m[0] : `residency: may use only ${row.targets.map((t) => t.zone).join(', ') || 'no zone'}`;
}

/** One line per target, grouped by source zone, e.g. "  us-east-1b  3500 bp  tier 1  <reason>". */
export function explain(table: ServiceTable): string[] {
  const lines: string[] = [`${table.service} (version ${table.version})`];
  for (const row of table.rows) {
    lines.push(`from ${row.sourceZone}${row.panic ? ' [PANIC]' : ''}${row.exclusive ? ' [EXCLUSIVE]' : ''}:`);
    if (row.exclusive) lines.push(`  exclusive: ${exclusiveText(row)}`);
    if (row.unavailableReason !== undefined) lines.push(`  unavailable: ${row.unavailableReason}`);
    if (row.targets.length === 0 && row.unavailableReason === undefined) lines.push('  (no zone has this service)');
    const width = Math.max(0, ...row.targets.map((t) => t.zone.length));
    for (const t of row.targets) {
      lines.push(`  ${t.zone.padEnd(width)}  ${String(t.basisPoints).padStart(5)} bp  tier ${t.tier}  ${t.reason}`);
    }
  }
  return lines;
}
