// Runs one chaos scenario end to end: federation up, load, steady state, fault timeline, rollback (always), steady state again, journal and HTML report.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { etcdMembers, type Scenario } from '../../api/scenario.ts';
import { startFederation, type Federation } from '../../local/up.ts';
import { startLoad, type Load } from '../../local/load.ts';
import { readUpStateQuiet, upAdminToken, type UpState } from '../../local/state.ts';
import type { ExpectationResult, Journal, PhaseSpan, RollbackCheck } from '../report/journal.ts';
import { renderReport } from '../report/html.ts';
import { createInjector, FaultBoard, type FaultContext } from '../faults/index.ts';
import { evaluateExpectations } from './expect.ts';
import type { RequestRecord } from './measure.ts';
import { stopTracker } from './probes.ts';
import { rollback, noProcessLeft } from './rollback.ts';
import { startSampler, type ProbeRound, type Sampler } from './sampler.ts';
import { faultRecord, runTimeline, sleepAbortable, type LiveFault } from './timeline.ts';

export interface RunOptions {
  readonly scenario: Scenario;
  readonly quick: boolean;
  /** Where journal.json and report.html go. */
  readonly reportDir: string;
  readonly print: (line: string) => void;
  /** Ctrl-C or SIGTERM of the runner: the run stops waiting, and rollback and teardown still run. */
  readonly signal: AbortSignal;
}

export interface RunOutcome {
  readonly journal: Journal;
  readonly reportFile: string;
}

/** How long the steady state may take to appear before the faults, beyond `steady.before`. */
const STEADY_BEFORE_GRACE_MS = 30_000;

/** What the run shares between its steps. */
interface Run {
  readonly o: RunOptions;
  readonly t0: number;
  readonly phases: PhaseSpan[];
  phase: PhaseSpan['name'];
  phaseStart: number;
  readonly records: RequestRecord[];
  readonly live: LiveFault[];
  latest: ProbeRound | undefined;
  aborted: { atMs: number; reason: string } | undefined;
  readonly abort: AbortController;
}

const rel = (r: Run) => Date.now() - r.t0;

function enter(r: Run, name: PhaseSpan['name']): void {
  r.phases.push({ name: r.phase, startMs: r.phaseStart, endMs: rel(r) });
  r.phase = name;
  r.phaseStart = rel(r);
  r.o.print(`[${(r.phaseStart / 1000).toFixed(1)}s] phase ${name}`);
}

function abortRun(r: Run, reason: string): void {
  if (r.aborted) return;
  r.aborted = { atMs: rel(r), reason };
  r.o.print(`[${(rel(r) / 1000).toFixed(1)}s] ABORT: ${reason}`);
  r.abort.abort(reason);
}

/** Runs the scenario. Never throws for a failure of the federation or a fault: that is a failed (or aborted) journal. */
export async function runScenario(o: RunOptions): Promise<RunOutcome> {
  const s = o.scenario;
  const r: Run = { o, t0: Date.now(), phases: [], phase: 'start', phaseStart: 0, records: [], live: [], latest: undefined, aborted: undefined, abort: new AbortController() };
  const onSignal = () => abortRun(r, `the runner was signalled (${String(o.signal.reason ?? 'abort')})`);
  o.signal.addEventListener('abort', onSignal, { once: true });
  if (o.signal.aborted) onSignal();
  const stateDir = mkdtempSync(join(tmpdir(), `meshfed-chaos-${s.name}-`));
  const members = etcdMembers(s);
  let fed: Federation | undefined;
  let load: Load | undefined;
  let sampler: Sampler | undefined;
  let ctx: FaultContext | undefined;
  let steadyBeforeOk = false;
  let error: string | undefined;
  const metrics = new Map<number, { start: number | undefined; end: number | undefined }>();
  const checks: RollbackCheck[] = [];
  let steadyAgainMs: number | null = null;
  let lastState: UpState | undefined;
  o.print(`chaos run ${s.name}${o.quick ? ' (--quick)' : ''}: ${s.federationSource} federation, ${members} etcd member(s), load ${s.load.rps} rps`);
  try {
    fed = await startFederation({
      stateDir, topology: s.federation.topology, layout: s.federation.layout, policies: s.federation.policies, store: 'etcd', etcdMembers: members, signal: r.abort.signal,
      print: (l) => o.print(`  ${l.trimStart()}`),
    });
    const f = fed;
    ctx = {
      stateDir, topology: s.federation.topology, log: o.print,
      state: () => (lastState = readUpStateQuiet(stateDir) ?? lastState ?? f.current()),
    };
    load = startRunLoad(r, ctx.state(), s);
    sampler = startRunSampler(r, ctx, s);
    enter(r, 'steady-before');
    steadyBeforeOk = await waitSteadyBefore(r, s);
    if (steadyBeforeOk && !r.aborted) {
      enter(r, 'faults');
      await runTimeline({ ctx, faults: s.faults, expectations: s.expect, inject: createInjector(new FaultBoard(() => upAdminToken(ctx!.state()))), t0: r.t0, quick: o.quick, signal: r.abort.signal, print: o.print, metrics }, r.live);
    }
  } catch (e) {
    error = (e as Error).message;
    o.print(`ERROR: ${error}`);
  } finally {
    enter(r, 'rollback');
    if (ctx) checks.push(...(await rollback(ctx, r.live, o.print, r.t0)));
    if (ctx && load) {
      enter(r, 'steady-after');
      steadyAgainMs = await waitSteadyAgain(r, s);
    }
    r.phases.push({ name: r.phase, startMs: r.phaseStart, endMs: rel(r) });
    await sampler?.stop();
    await load?.stop();
    const pids = (lastState ?? fed?.current())?.components.map((c) => ({ name: c.name, pid: c.pid })) ?? [];
    await fed?.stop({ keepLogs: false });
    if (fed) checks.push(await noProcessLeft(pids));
    rmSync(stateDir, { recursive: true, force: true });
    o.signal.removeEventListener('abort', onSignal);
  }
  const expectations: ExpectationResult[] = [
    { name: 'steady state before faults', goal: 'every steady-state probe holds before the first fault', ok: steadyBeforeOk, measured: steadyBeforeOk ? 'held' : error ?? 'did not hold', value: null },
    ...evaluateExpectations(s.expect, { records: r.records, series: sampler?.series ?? [], faults: r.live.map(faultRecord), steadyAgainMs, steadyWaitMs: s.steady.after, metrics }),
    ...r.live.map((lf) => {
      const e = lf.record.events.find((x) => x.what === 'effect');
      const applied = lf.record.events.find((x) => x.what === 'applied');
      const ok = e?.ok === true && applied?.ok === true;
      return { name: `fault ${lf.spec.id} took effect`, goal: `${lf.spec.kind} fault applied and seen to act`, ok, measured: !applied?.ok ? `not applied: ${applied?.detail ?? lf.record.events[0]?.detail ?? '?'}` : (e?.detail ?? 'not checked'), value: null };
    }),
  ];
  const rollbackOk = checks.length > 0 && checks.every((c) => c.ok);
  expectations.push({ name: 'rollback verified', goal: 'every fault reverted and cleared, nothing left behind', ok: rollbackOk, measured: rollbackOk ? `${checks.length} checks passed` : checks.filter((c) => !c.ok).map((c) => c.what).join('; ') || 'no check ran', value: null });
  const journal = buildJournal(r, s, o, sampler, expectations, { ok: rollbackOk, checks });
  return { journal, reportFile: writeReport(o.reportDir, journal) };
}


/** The load: every target zone's frontend, recording each request relative to t0. */
function startRunLoad(r: Run, state: UpState, s: Scenario): Load {
  const zones = state.zones.filter((z) => z.frontendUrl !== undefined && (s.load.targets === undefined || s.load.targets.includes(z.name)));
  const targets = zones.map((z) => z.frontendUrl!);
  return startLoad(targets, { rps: s.load.rps, maxDurationMs: s.load.duration, maxRequests: Math.ceil((s.load.rps * s.load.duration) / 1000) }, () => {}, 3_600_000, {
    headers: s.load.headers, idempotentPercent: s.load.idempotentPercent, timeoutMs: s.load.timeout,
    onResult: (x) => r.records.push({ sentMs: x.sentAt - r.t0, doneMs: x.doneAt - r.t0, ok: x.ok, status: x.status, idempotent: x.idempotent, hops: x.hops, ...(x.error !== undefined ? { error: x.error } : {}) }),
  });
}

/** The sampler, with the stop conditions armed during the fault phase and a progress line every 2 s. */
function startRunSampler(r: Run, ctx: FaultContext, s: Scenario): Sampler {
  const trackers = s.stop.map((x) => stopTracker(x.for));
  let rounds = 0;
  return startSampler({
    t0: r.t0, records: r.records, state: ctx.state, probes: s.steady.probes, stops: s.stop.map((x) => x.probe), windowMs: s.steady.window, phase: () => r.phase,
    onRound: (steady, stops) => {
      r.latest = steady;
      if (r.phase === 'faults') {
        stops.verdicts.forEach((v, i) => {
          if (trackers[i]!.update(v.verdict.ok, steady.atMs)) abortRun(r, `stop condition ${v.name} failed for ${s.stop[i]!.for / 1000} s (${v.verdict.detail})`);
        });
        if (s.steady.during && !steady.allOk) r.o.print(`  probes failing during faults: ${steady.verdicts.filter((v) => !v.verdict.ok).map((v) => `${v.name} ${v.verdict.detail}`).join('; ')}`);
      }
      if (rounds++ % 4 === 0) r.o.print(`  [${(steady.atMs / 1000).toFixed(1)}s] ${r.phase}: ${steady.verdicts.map((v) => `${v.name} ${v.verdict.ok ? 'ok' : 'FAIL'} (${v.verdict.detail})`).join(' | ')}`);
    },
  });
}

/** Waits `steady.before` (4 s at most with --quick), then until every probe holds; false when it never does. */
async function waitSteadyBefore(r: Run, s: Scenario): Promise<boolean> {
  const before = r.o.quick ? Math.min(s.steady.before, 4000) : s.steady.before;
  await sleepAbortable(Math.max(before, s.steady.window), r.abort.signal);
  const deadline = Date.now() + STEADY_BEFORE_GRACE_MS;
  while (!r.abort.signal.aborted && Date.now() < deadline) {
    if (r.latest?.allOk && r.latest.atMs >= rel(r) - 1000) return true;
    await sleepAbortable(250, r.abort.signal);
  }
  if (!r.abort.signal.aborted) r.o.print(`  steady state did not hold before the faults: ${r.latest?.verdicts.filter((v) => !v.verdict.ok).map((v) => v.verdict.detail).join('; ') ?? 'no probe round'}`);
  return false;
}

/**
 * After rollback: how long until every probe holds and keeps holding for one probe window; null when not within
 * `steady.after`. Only rounds evaluated after the rollback ended count.
 */
async function waitSteadyAgain(r: Run, s: Scenario): Promise<number | null> {
  const start = rel(r);
  let firstOk: number | undefined;
  const deadline = Date.now() + s.steady.after + s.steady.window;
  let seen = -1;
  // A signalled runner stops waiting (a stop condition does not: the steady state is still worth measuring).
  while (Date.now() < deadline && !r.o.signal.aborted) {
    const l = r.latest;
    if (l && l.atMs !== seen && l.atMs >= start) {
      seen = l.atMs;
      if (!l.allOk) firstOk = undefined;
      else {
        firstOk ??= l.atMs;
        if (l.atMs - firstOk >= s.steady.window) return Math.max(0, firstOk - start);
      }
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  return null;
}

function buildJournal(r: Run, s: Scenario, o: RunOptions, sampler: Sampler | undefined, expectations: ExpectationResult[], rollbackResult: Journal['rollback']): Journal {
  const failed = r.records.filter((x) => !x.ok);
  const allOk = expectations.every((e) => e.ok) && rollbackResult.ok;
  const cpu = cpus();
  return {
    version: 1,
    scenario: { name: s.name, description: s.description, file: s.file },
    startedAt: new Date(r.t0).toISOString(), t0: r.t0, quick: o.quick,
    machine: { cpus: cpu.length, cpuModel: cpu[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform} ${process.arch}` },
    zones: s.federation.topology.clouds.flatMap((c) => c.regions.flatMap((g) => g.zones.map((z) => ({ name: z.name, locality: `${c.name}/${g.name}/${z.name}` })))),
    load: { rps: s.load.rps, durationMs: r.records.length > 0 ? r.records[r.records.length - 1]!.doneMs - r.records[0]!.sentMs : 0, targets: s.load.targets ?? ['every zone with a frontend'] },
    phases: r.phases.filter((p) => p.endMs > p.startMs || p.name !== 'start'),
    faults: r.live.map(faultRecord),
    series: sampler?.series ?? [],
    probes: sampler?.samples ?? [],
    expectations,
    ...(r.aborted ? { aborted: r.aborted } : {}),
    rollback: rollbackResult,
    result: r.aborted ? 'aborted' : allOk ? 'passed' : 'failed',
    totals: { sent: r.records.length, ok: r.records.length - failed.length, failed: failed.length, failedIdempotent: failed.filter((x) => x.idempotent).length },
  };
}

/** Writes journal.json and report.html into `dir`; returns the report's path. */
function writeReport(dir: string, journal: Journal): string {
  const abs = resolve(dir);
  mkdirSync(abs, { recursive: true });
  writeFileSync(join(abs, 'journal.json'), JSON.stringify(journal, null, 1) + '\n');
  const file = join(abs, 'report.html');
  writeFileSync(file, renderReport(journal));
  return file;
}
