// L7 (abort, delay) and L4 (latency, bandwidth, reset, blackhole) faults through the admin API of sidecars and gateways.
import type { L4FaultSpec, L7FaultSpec } from '../../api/scenario.ts';
import type { ActiveFault, Check, FaultContext } from './fault.ts';
import { callJson, metricOn } from './http.ts';
import { qualifiedService } from '../../local/plan.ts';
import { upAdminToken } from '../../local/state.ts';

/** The L4 part of a sidecar's fault state, as PUT /faults takes it. */
export interface L4Settings {
  readonly latencyMs: number;
  readonly bandwidthBytesPerSec: number;
  readonly resetPercent: number;
  readonly blackholePercent: number;
}

const NO_L4: L4Settings = { latencyMs: 0, bandwidthBytesPerSec: 0, resetPercent: 0, blackholePercent: 0 };

/** What one fault adds to one admin port. */
interface Part {
  readonly rules?: readonly unknown[];
  readonly l4?: L4Settings;
}

/**
 * The fault state of every admin port, composed from the faults active on it. PUT /faults replaces a port's whole
 * state, so two faults on one sidecar (an L7 abort and an L4 delay) must be sent together. Invariant: each port's
 * state is the union of the rules and the per-field maximum of the L4 settings of the faults active on it.
 */
export class FaultBoard {
  private readonly parts = new Map<string, Map<string, Part>>();
  /** The bearer token of the admin ports (the federation's write token), when they require one. */
  private readonly token: () => string | undefined;

  constructor(token: () => string | undefined = () => undefined) {
    this.token = token;
  }

  /** The body to PUT on `url` now. */
  body(url: string): { rules: unknown[]; l4: L4Settings } {
    const rules: unknown[] = [];
    let l4 = NO_L4;
    for (const p of this.parts.get(url)?.values() ?? []) {
      rules.push(...(p.rules ?? []));
      if (p.l4) l4 = {
        latencyMs: Math.max(l4.latencyMs, p.l4.latencyMs), bandwidthBytesPerSec: minPositive(l4.bandwidthBytesPerSec, p.l4.bandwidthBytesPerSec),
        resetPercent: Math.max(l4.resetPercent, p.l4.resetPercent), blackholePercent: Math.max(l4.blackholePercent, p.l4.blackholePercent),
      };
    }
    if (l4.resetPercent + l4.blackholePercent > 100) l4 = { ...l4, blackholePercent: 100 - l4.resetPercent };
    return { rules, l4 };
  }

  async add(url: string, id: string, part: Part): Promise<Check> {
    const m = this.parts.get(url) ?? new Map<string, Part>();
    m.set(id, part);
    this.parts.set(url, m);
    return this.put(url);
  }

  async remove(url: string, id: string): Promise<Check> {
    this.parts.get(url)?.delete(id);
    return this.put(url);
  }

  /** Every admin URL a fault was ever put on. */
  urls(): string[] {
    return [...this.parts.keys()];
  }

  private async put(url: string): Promise<Check> {
    const r = await callJson('PUT', `${url}/faults`, this.body(url), 5000, this.token());
    return { ok: r.ok, detail: r.ok ? `${url}: set` : `${url}: ${r.text.slice(0, 200)}` };
  }
}

function minPositive(a: number, b: number): number {
  if (a <= 0) return b;
  if (b <= 0) return a;
  return Math.min(a, b);
}

/** The admin URLs of every sidecar of `service` in `zone`, from up.json. */
export function sidecarUrls(ctx: FaultContext, zone: string, service: string): string[] {
  const full = qualifiedService(service);
  return ctx.state().zones.find((z) => z.name === zone)?.sidecars.filter((s) => s.service === full).map((s) => s.adminUrl) ?? [];
}

/** A fault that lives in the admin fault state of some ports (composed on the board); applied and cleared are read back with GET /faults. */
export async function boardFault(ctx: FaultContext, board: FaultBoard, id: string, urls: readonly string[], part: Part, target: string, mechanism: string): Promise<ActiveFault> {
  if (urls.length === 0) throw new Error(`${id}: ${target} has no admin port in up.json`);
  const before = await metricOn(urls, 'meshfed_fault_injections_total') ?? 0;
  const puts = await Promise.all(urls.map((u) => board.add(u, id, part)));
  ctx.log(`    ${id}: ${mechanism} on ${target} (${urls.length} port(s))`);
  // GET /faults shows rules with their defaults filled in, so a port matches the board by rule count and L4 settings.
  const matchesBoard = async (what: string): Promise<Check> => {
    const token = upAdminToken(ctx.state());
    const seen = await Promise.all(urls.map(async (u) => ({ u, want: board.body(u), r: await callJson('GET', `${u}/faults`, undefined, 5000, token) })));
    const bad = seen.filter(({ want, r }) => {
      const got = r.json as { rules?: unknown[]; l4?: L4Settings } | undefined;
      return !r.ok || got?.rules?.length !== want.rules.length || JSON.stringify(got.l4) !== JSON.stringify(want.l4);
    });
    if (bad.length === 0) return { ok: true, detail: `${what} on all ${urls.length} port(s)` };
    return { ok: false, detail: `${what} not on ${bad.map((b) => `${b.u} (${b.r.ok ? JSON.stringify(b.r.json).slice(0, 160) : b.r.text})`).join(', ')}` };
  };
  let reverted = false;
  return {
    mechanism, target,
    async applied() {
      const failed = puts.filter((p) => !p.ok);
      if (failed.length > 0) return { ok: false, detail: failed.map((p) => p.detail).join('; ') };
      return matchesBoard('fault in place');
    },
    async effect() {
      const after = await metricOn(urls, 'meshfed_fault_injections_total') ?? 0;
      const n = after - before;
      return n > 0 ? { ok: true, detail: `${n} injection(s) counted by meshfed_fault_injections_total` } : { ok: false, detail: `no injection counted on ${target}: no traffic matched the fault, so it proved nothing` };
    },
    async revert() {
      if (reverted) return;
      reverted = true;
      await Promise.all(urls.map((u) => board.remove(u, id)));
    },
    async cleared() {
      return matchesBoard('fault removed');
    },
  };
}

/** An L7 abort and/or delay on the sidecars of a service in a zone. */
export function injectL7(board: FaultBoard) {
  return (ctx: FaultContext, f: L7FaultSpec & { id: string }): Promise<ActiveFault> => {
    const rule = {
      service: f.direction === 'inbound' ? qualifiedService(f.target.service) : f.to !== undefined ? qualifiedService(f.to) : '*',
      direction: f.direction,
      headers: Object.entries(f.headers).map(([name, exact]) => ({ name, exact })),
      ...(f.abort ? { abort: { httpStatus: f.abort.status, percent: f.abort.percent } } : {}),
      ...(f.delay ? { delay: { fixed: `${f.delay.by}ms`, percent: f.delay.percent } } : {}),
    };
    const what = [f.abort ? `abort ${f.abort.status} ${f.abort.percent}%` : '', f.delay ? `delay ${f.delay.by}ms ${f.delay.percent}%` : ''].filter(Boolean).join(' + ');
    return boardFault(ctx, board, f.id, sidecarUrls(ctx, f.target.zone, f.target.service), { rules: [rule] },
      `${f.direction} ${f.target.service} sidecars in ${f.target.zone}${f.to ? ` (calls to ${f.to})` : ''}`, `L7 ${what} via sidecar admin PUT /faults`);
  };
}

/** L4 connection faults on a zone's gateway or on the inbound listeners of a service's sidecars. */
export function injectL4(board: FaultBoard) {
  return (ctx: FaultContext, f: L4FaultSpec & { id: string }): Promise<ActiveFault> => {
    const l4: L4Settings = { latencyMs: f.latency, bandwidthBytesPerSec: f.bandwidthBytesPerSec, resetPercent: f.resetPercent, blackholePercent: f.blackholePercent };
    const { urls, target } = 'gateway' in f.target
      ? { urls: [ctx.state().zones.find((z) => z.name === (f.target as { gateway: string }).gateway)?.gatewayAdminUrl].filter((u): u is string => u !== undefined), target: `east-west gateway of ${f.target.gateway}` }
      : { urls: sidecarUrls(ctx, f.target.zone, f.target.service), target: `inbound of ${f.target.service} sidecars in ${f.target.zone}` };
    return boardFault(ctx, board, f.id, urls, { l4 }, target, `L4 ${describeL4(l4)} via admin PUT /faults (meshfed's L4 fault layer)`);
  };
}

/** "latency 200ms, reset 50%" */
export function describeL4(l4: L4Settings): string {
  const parts = [
    l4.latencyMs > 0 ? `latency ${l4.latencyMs}ms` : '', l4.bandwidthBytesPerSec > 0 ? `bandwidth ${l4.bandwidthBytesPerSec} B/s` : '',
    l4.resetPercent > 0 ? `reset ${l4.resetPercent}%` : '', l4.blackholePercent > 0 ? `blackhole ${l4.blackholePercent}%` : '',
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(', ') : 'nothing';
}
