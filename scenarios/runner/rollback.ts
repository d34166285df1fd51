// The rollback that always runs: revert every fault again, then check that nothing is left (no rule, no hold, no stopped or missing process, no namespace).
import { holdsDir, readHolds, removeHold } from '../../local/holds.ts';
import { isAlive } from '../../local/supervisor.ts';
import { upAdminToken, type UpState } from '../../local/state.ts';
import type { FaultEvent, RollbackCheck } from '../report/journal.ts';
import { componentsBack, leftoverNamespaces, type FaultContext } from '../faults/index.ts';
import { callJson, pollUntil } from '../faults/http.ts';
import { revertAndCheck, type LiveFault } from './timeline.ts';

/** Every admin port that takes PUT /faults: each sidecar and each gateway. */
function faultPorts(state: UpState): string[] {
  return state.zones.flatMap((z) => [...z.sidecars.map((s) => s.adminUrl), ...(z.gatewayAdminUrl !== undefined ? [z.gatewayAdminUrl] : [])]);
}

/** Checks (and, when something is left, clears) the fault state of every port. A leftover is a failed check even once cleared. */
async function noFaultLeft(state: UpState): Promise<RollbackCheck> {
  const ports = faultPorts(state);
  const left: string[] = [];
  const unreachable: string[] = [];
  const token = upAdminToken(state);
  for (const url of ports) {
    const r = await callJson('GET', `${url}/faults`, undefined, 5000, token);
    if (!r.ok) {
      unreachable.push(url);
      continue;
    }
    const f = r.json as { rules?: unknown[]; l4?: Record<string, number> };
    if ((f.rules?.length ?? 0) > 0 || Object.values(f.l4 ?? {}).some((v) => v > 0)) {
      left.push(`${url} (${JSON.stringify(f).slice(0, 120)})`);
      await callJson('DELETE', `${url}/faults`, undefined, 5000, token);
    }
  }
  const ok = left.length === 0 && unreachable.length === 0;
  const detail = ok ? `no rule and no L4 fault on any of ${ports.length} sidecar and gateway ports`
    : [left.length > 0 ? `left behind (now cleared): ${left.join(', ')}` : '', unreachable.length > 0 ? `unreachable: ${unreachable.join(', ')}` : ''].filter(Boolean).join('; ');
  return { what: 'every sidecar and gateway fault list is empty', ok, detail };
}

/**
 * Reverts every started fault that has not cleared, then checks the whole federation. Invariant: it never throws, and
 * every check it could not make is a failed check, so a rollback that did not work fails the run.
 */
export async function rollback(ctx: FaultContext, live: readonly LiveFault[], print: (line: string) => void, t0: number): Promise<RollbackCheck[]> {
  const checks: RollbackCheck[] = [];
  for (const lf of live) {
    const last = lf.record.events.findLast((e) => e.what === 'cleared');
    if (last?.ok === true) continue;
    const event = (what: FaultEvent['what'], ok: boolean, detail: string) => {
      lf.record.events.push({ atMs: Date.now() - t0, what, ok, detail });
      print(`  rollback ${lf.spec.id}: ${what} ${ok ? 'ok' : 'FAILED'}: ${detail}`);
    };
    lf.record.endMs ??= Date.now() - t0;
    const ok = await revertAndCheck(lf, event).catch(() => false);
    checks.push({ what: `fault ${lf.spec.id} reverted and cleared`, ok, detail: lf.record.events.findLast((e) => e.what === 'cleared')?.detail ?? 'not checked' });
  }
  for (const lf of live) {
    if (checks.some((c) => c.what.startsWith(`fault ${lf.spec.id} `))) continue;
    checks.push({ what: `fault ${lf.spec.id} reverted and cleared`, ok: true, detail: lf.record.events.findLast((e) => e.what === 'cleared')?.detail ?? 'never injected' });
  }
  const state = ctx.state();
  checks.push(await noFaultLeft(state));
  const dir = holdsDir(state.runDir);
  const holds = readHolds(dir);
  for (const h of holds) removeHold(dir, h);
  checks.push({ what: 'no supervisor hold left', ok: holds.length === 0, detail: holds.length === 0 ? 'none' : `removed ${holds.map((h) => h.component).join(', ')}` });
  const names = state.components.map((c) => c.name);
  let back = await componentsBack(ctx, names);
  if (!back.ok) await pollUntil(async () => (back = await componentsBack(ctx, names)).ok, 60_000, 250);
  checks.push({ what: `every component (${names.length}) is running and ready`, ok: back.ok, detail: back.ok ? `${names.length} components` : back.detail });
  const ns = leftoverNamespaces();
  checks.push({ what: 'no network namespace of a run is left', ok: ns.length === 0, detail: ns.length === 0 ? 'none' : ns.join(', ') });
  for (const c of checks) print(`  rollback check ${c.ok ? 'ok' : 'FAILED'}: ${c.what}: ${c.detail}`);
  return checks;
}

/** After teardown: no process of the run is left (every pid up.json named has exited). */
export async function noProcessLeft(pids: readonly { name: string; pid: number }[]): Promise<RollbackCheck> {
  const alive = () => pids.filter((p) => isAlive(p.pid));
  await pollUntil(async () => alive().length === 0, 15_000, 100);
  const left = alive();
  return { what: 'no process of the run is left after teardown', ok: left.length === 0, detail: left.length === 0 ? `${pids.length} processes exited` : `still running: ${left.map((p) => `${p.name} (pid ${p.pid})`).join(', ')}` };
}
