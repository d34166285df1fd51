// Pure diff of the running proxy model against the desired one: Runtime API commands, or a reload when the structure changed.
import type { ProxyModel, ProxyService } from './model.ts';
import { serverParams, type RenderOptions } from './render.ts';

/** What to do to get from the running model to the desired one. */
export type ProxyChange =
  | { readonly kind: 'none' }
  | { readonly kind: 'runtime'; readonly commands: readonly string[] }
  | { readonly kind: 'reload'; readonly why: string };

/**
 * The structure: what only a new config file can change (frontends, ACLs, backends, their settings). Servers and
 * weights are not in it: the Runtime API changes those.
 */
export function structureOf(m: ProxyModel): string {
  return JSON.stringify({ zone: m.zone, services: m.services.map((s) => ({ service: s.service, hosts: s.hosts, backends: s.backends.map((b) => b.name), policy: s.policy })) });
}

const serverKey = (s: ProxyService['servers'][number]): string => `${s.host}:${s.port}|${s.sni ?? ''}`;

/**
 * The commands that turn service `cur` into `want` (same structure). Order: new servers (weighted backend first,
 * then the tier backends, each checking on its own: a dynamic server cannot be tracked), then health states and
 * weights, then removals (tier backends first: their static servers track the weighted backend's).
 */
function serviceCommands(cur: ProxyService, want: ProxyService, o: Pick<RenderOptions, 'certFile' | 'caFile'>): string[] {
  const had = new Map(cur.servers.map((s) => [s.name, s]));
  const has = new Map(want.servers.map((s) => [s.name, s]));
  // A server whose address changed under the same name is removed and added again.
  const gone = cur.servers.filter((s) => !has.has(s.name) || serverKey(has.get(s.name)!) !== serverKey(s));
  const added = want.servers.filter((s) => !had.has(s.name) || serverKey(had.get(s.name)!) !== serverKey(s));
  const addedNames = new Set(added.map((s) => s.name));
  const adds: string[] = [];
  const updates: string[] = [];
  const removes: string[] = [];
  for (const b of want.backends) {
    const before = cur.backends.find((x) => x.name === b.name);
    for (const s of added) {
      // A dynamic server starts in maintenance with its checks off.
      adds.push(`add server ${b.name}/${s.name} ${serverParams(s, b.weights[s.name] ?? 0, want, o, undefined, true)}`, `enable health ${b.name}/${s.name}`);
      if (s.healthy) adds.push(`set server ${b.name}/${s.name} state ready`);
    }
    for (const s of want.servers) {
      if (addedNames.has(s.name)) continue;
      if (had.get(s.name)!.healthy !== s.healthy) updates.push(`set server ${b.name}/${s.name} state ${s.healthy ? 'ready' : 'maint'}`);
      const w = b.weights[s.name] ?? 0;
      if ((before?.weights[s.name] ?? -1) !== w) updates.push(`set server ${b.name}/${s.name} weight ${w}`);
    }
  }
  for (const b of [...want.backends].reverse()) {
    for (const s of gone) removes.push(`set server ${b.name}/${s.name} state maint`, `shutdown sessions server ${b.name}/${s.name}`, `del server ${b.name}/${s.name}`);
  }
  // Removals go last, once the weights have moved traffic elsewhere.
  return [...adds, ...updates, ...removes];
}

/**
 * The change from `current` (what HAProxy runs) to `desired`. Invariant: a change of weights, of tiers, or of the
 * endpoints of a service is always `runtime` (no reload); only a change of structureOf is a `reload`.
 */
export function planChange(current: ProxyModel, desired: ProxyModel, o: Pick<RenderOptions, 'certFile' | 'caFile'>): ProxyChange {
  const a = structureOf(current);
  const b = structureOf(desired);
  if (a !== b) return { kind: 'reload', why: describeStructureChange(current, desired) };
  const commands = desired.services.flatMap((s, i) => serviceCommands(current.services[i]!, s, o));
  return commands.length === 0 ? { kind: 'none' } : { kind: 'runtime', commands };
}

/** One line saying what changed in the structure, for the log. */
function describeStructureChange(cur: ProxyModel, want: ProxyModel): string {
  const names = (m: ProxyModel) => m.services.map((s) => s.service).join(',');
  if (names(cur) !== names(want)) return `services changed (${names(cur) || 'none'} -> ${names(want) || 'none'})`;
  for (const s of want.services) {
    const c = cur.services.find((x) => x.service === s.service)!;
    if (c.backends.length !== s.backends.length) return `${s.service}: tier backends ${c.backends.length - 1} -> ${s.backends.length - 1} (zones declared changed)`;
    if (JSON.stringify(c.hosts) !== JSON.stringify(s.hosts)) return `${s.service}: hosts changed`;
    if (JSON.stringify(c.policy) !== JSON.stringify(s.policy)) return `${s.service}: policy changed`;
  }
  return 'zone changed';
}
