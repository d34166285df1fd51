// Process faults: SIGKILL (kept down by a supervisor hold), SIGSTOP/SIGCONT, and restart of any component, chosen by name, zone and service, or role at run time.
import { readFileSync } from 'node:fs';
import type { ComponentTarget, ProcessFaultSpec } from '../../api/scenario.ts';
import { holdsDir, matchComponents, readHolds, removeHold, writeHold, type Hold } from '../../local/holds.ts';
import { isAlive } from '../../local/supervisor.ts';
import { upAdminToken, type UpState } from '../../local/state.ts';
import { upEtcdClient } from '../../local/etcd-client.ts';
import type { ActiveFault, Check, FaultContext } from './fault.ts';
import { callJson, isReady, pollUntil } from './http.ts';

/** The component names a target stands for now. Roles are looked up at run time (who leads now). */
export async function resolveComponents(ctx: FaultContext, target: ComponentTarget): Promise<string[]> {
  const state = ctx.state();
  const names = state.components.map((c) => c.name);
  if (typeof target === 'string') return matchComponents([target], names).matched;
  if ('zone' in target) return matchComponents([`app-${target.zone}-${target.service.replace(/^shop\//, '')}-*`], names).matched;
  const lbs = names.filter((n) => n.startsWith('global-lb-'));
  switch (target.role) {
    case 'global-lb-leader':
    case 'global-lb-follower': {
      const want = target.role === 'global-lb-leader';
      const roles = await Promise.all(lbs.map(async (n) => ({ n, leader: (await callJson('GET', `${adminOf(state, n)}/v1/status`, undefined, 5000, upAdminToken(state))).json as { leader?: boolean } | undefined })));
      return roles.filter((r) => r.leader?.leader === want).map((r) => r.n).slice(0, 1);
    }
    case 'etcd-all':
      return names.filter((n) => /^etcd(-\d+)?$/.test(n));
    case 'etcd-member': {
      const members = names.filter((n) => /^etcd(-\d+)?$/.test(n));
      const leader = await etcdLeader(ctx, members);
      return [leader ?? members[0]].filter((n): n is string => n !== undefined);
    }
  }
}

/** The etcd member that leads now (the harder one to lose), by asking each member for its own status. */
async function etcdLeader(ctx: FaultContext, members: readonly string[]): Promise<string | undefined> {
  const state = ctx.state();
  const endpoints = state.etcdEndpoints ?? [];
  for (let i = 0; i < endpoints.length && i < members.length; i++) {
    const client = upEtcdClient(state, [endpoints[i]!]);
    try {
      const s = await client.maintenance.status();
      if (s.leader === s.header.member_id) return members[i];
    } catch {
      // this member does not answer: it cannot be the leader to kill
    } finally {
      client.close();
    }
  }
  return undefined;
}

function adminOf(state: UpState, lb: string): string {
  const i = Number(lb.replace('global-lb-', '')) - 1;
  return state.adminUrls[i] ?? state.adminUrl;
}

/** A component's admin port (every one serves /metrics) and the path that says it is ready; undefined for etcd members. */
export function componentAdmin(state: UpState, name: string): { readonly url: string; readonly readyPath: string } | undefined {
  if (name.startsWith('global-lb-')) return { url: adminOf(state, name), readyPath: '/readyz' };
  for (const z of state.zones) {
    if (name === `agent-${z.name}`) return { url: z.agentAdminUrl, readyPath: '/healthz' };
    if (name === `gateway-${z.name}`) return z.gatewayAdminUrl !== undefined ? { url: z.gatewayAdminUrl, readyPath: '/ready' } : undefined;
    const sc = z.sidecars.find((s) => s.component === name);
    if (sc) return { url: sc.adminUrl, readyPath: '/ready' };
  }
  return undefined;
}

/** The one-letter state of a process from /proc (R, S, T, Z, …), undefined when it is gone. */
function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** Every named component is running, not held, and ready where it has a readiness URL. */
export async function componentsBack(ctx: FaultContext, names: readonly string[]): Promise<Check> {
  const state = ctx.state();
  const problems: string[] = [];
  for (const n of names) {
    const c = state.components.find((x) => x.name === n);
    if (!c) problems.push(`${n}: not in up.json`);
    else if (c.hold !== undefined) problems.push(`${n}: still held`);
    else if (!isAlive(c.pid) || procState(c.pid) === 'T') problems.push(`${n}: pid ${c.pid} ${isAlive(c.pid) ? 'stopped' : 'not running'}`);
    else {
      const admin = componentAdmin(state, n);
      if (admin !== undefined && !(await isReady(`${admin.url}${admin.readyPath}`))) problems.push(`${n}: not ready (${admin.url}${admin.readyPath})`);
    }
  }
  return problems.length === 0 ? { ok: true, detail: `${names.join(', ')} running and ready` } : { ok: false, detail: problems.join('; ') };
}

/** How long a process fault's cleared() waits for its components to come back. */
const BACK_TIMEOUT_MS = 60_000;

/** Injects a process fault. */
export async function injectProcessFault(ctx: FaultContext, f: ProcessFaultSpec & { id: string }): Promise<ActiveFault> {
  const names = await resolveComponents(ctx, f.target);
  if (names.length === 0) throw new Error(`${f.id}: ${JSON.stringify(f.target)} matches no running component`);
  const before = new Map(ctx.state().components.map((c) => [c.name, c.pid]));
  const target = names.join(', ');
  const dir = holdsDir(ctx.state().runDir);
  let holds: Hold[] = [];
  let mechanism: string;
  if (f.action === 'kill') {
    // The hold outlives the window a little so the supervisor never restarts early; revert removes it, and if the
    // runner itself dies the hold still ends by itself.
    holds = names.map((n) => writeHold(dir, n, Date.now(), f.duration + 5000, true));
    mechanism = 'SIGKILL, kept down by a supervisor hold for the duration';
  } else if (f.action === 'pause') {
    for (const n of names) process.kill(before.get(n)!, 'SIGSTOP');
    mechanism = 'SIGSTOP, SIGCONT at the end';
  } else {
    for (const n of names) process.kill(before.get(n)!, 'SIGTERM');
    mechanism = 'SIGTERM, restarted by the supervisor';
  }
  ctx.log(`    ${f.id}: ${mechanism}: ${target}`);
  const down = (): Check => {
    const state = ctx.state();
    const bad = names.filter((n) => {
      const c = state.components.find((x) => x.name === n);
      if (f.action === 'kill') return !(c?.hold?.down === true && !isAlive(before.get(n)!));
      if (f.action === 'pause') return procState(before.get(n)!) !== 'T';
      return c === undefined || c.pid === before.get(n) || !isAlive(c.pid);
    });
    const want = f.action === 'kill' ? 'killed and kept down' : f.action === 'pause' ? 'stopped (state T)' : 'restarted with a new pid';
    return bad.length === 0 ? { ok: true, detail: `${target}: ${want}` } : { ok: false, detail: `not ${want}: ${bad.join(', ')}` };
  };
  let reverted = false;
  return {
    mechanism, target,
    async applied() {
      let last: Check = down();
      await pollUntil(async () => (last = down()).ok, 10_000, 100);
      return last;
    },
    async effect() {
      // A restart is over by now; that the pid changed is its effect. A lost leader's effect is a new one elsewhere.
      const d = down();
      if (!d.ok || typeof f.target !== 'object' || !('role' in f.target) || f.target.role !== 'global-lb-leader') return d;
      let leader: string[] = [];
      await pollUntil(async () => (leader = (await resolveComponents(ctx, { role: 'global-lb-leader' })).filter((n) => !names.includes(n))).length > 0, 5000, 250);
      return leader.length > 0 ? { ok: true, detail: `${d.detail}; ${leader[0]} leads now` } : { ok: false, detail: `${d.detail}; but no other replica took over the lead` };
    },
    async revert() {
      if (reverted) return;
      reverted = true;
      if (f.action === 'kill') {
        const mine = new Set(holds.map((h) => h.id));
        for (const h of readHolds(dir)) if (mine.has(h.id)) removeHold(dir, h);
      } else if (f.action === 'pause') {
        for (const n of names) {
          try {
            process.kill(before.get(n)!, 'SIGCONT');
          } catch {
            // gone: the supervisor restarts it
          }
        }
      }
    },
    async cleared() {
      let last: Check = await componentsBack(ctx, names);
      await pollUntil(async () => (last = await componentsBack(ctx, names)).ok, BACK_TIMEOUT_MS, 250);
      return last;
    },
  };
}
