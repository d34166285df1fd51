// Leader handover on real processes: three `meshfed global-lb` replicas on a real etcd; a zone is drained and undrained,
// the leader is SIGKILLed during the zone's hold-down and the next one during its slow start; every written table
// version moves no share by more than maxStep, and the hold-down and ramp continue on their old timing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { skipWithoutEtcd, startEtcd, type EtcdServer } from '../support/etcd.ts';
import { startGlobalLbProcess, type GlobalLbProcess } from '../support/global-lb-process.ts';
import { SimAgent, serviceReport } from '../support/agent-client.ts';
import { KEYS, openStore, type Store, type Watch } from '../../global-lb/store/index.ts';
import type { ServiceTable } from '../../global-lb/weights/index.ts';

const LEASE_TTL_S = 2;
const HOLD_DOWN_MS = 8000;
const SLOW_START_MS = 16000;
const MAX_STEP = 1000;

type Replica = GlobalLbProcess;

let etcd: EtcdServer;
let store: Store;
let watch: Watch | undefined;
const replicas: Replica[] = [];
const agents: { agent: SimAgent; timer: NodeJS.Timeout }[] = [];
/** Every written version of shop/cart, in order, with when the test saw it. */
const written: { seenAt: number; table: ServiceTable }[] = [];
const records: string[] = [];

function startReplica(id: string): Promise<Replica> {
  return startGlobalLbProcess(etcd.endpoints, id, { leaseTtlS: LEASE_TTL_S, logLevel: 'info' });
}

async function status(r: Replica): Promise<{ leader: boolean; leaderId: string | null; synced: boolean } | undefined> {
  try {
    const res = await fetch(`${r.admin}/v1/status`, { signal: AbortSignal.timeout(2000) });
    return (await res.json()) as { leader: boolean; leaderId: string | null; synced: boolean };
  } catch {
    return undefined;
  }
}

async function poll<T>(what: string, deadlineMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await Promise.resolve().then(probe).catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** a1 and a2 host the service in r1, b1 in r2; s0 (r1) hosts none and asks 150 rps, more than one r1 zone offers. */
function connect(zone: string, region: string, r: Replica): void {
  const agent = new SimAgent({ address: r.grpc, zone, region, cloud: 'sim' });
  const send = () => {
    if (zone === 's0') {
      agent.send({ report: { zone, sequence: Date.now(), sent_at_unix_ms: Date.now(), window_ms: 1000, services: [], rtts: [], asked: [{ namespace: 'shop', name: 'cart', rps: 150, destinations: [] }] } });
    } else agent.report([serviceReport('shop', 'cart', { healthy: 2, capacityRps: 100, rps: 50 })]);
  };
  send();
  const timer = setInterval(() => {
    if (agent.status === undefined) send();
  }, 300);
  agents.push({ agent, timer });
}

const SKIP = skipWithoutEtcd();

before(async () => {
  if (SKIP) return;
  etcd = await startEtcd();
  store = await openStore({ kind: 'etcd', endpoints: etcd.endpoints });
  watch = await store.watchPrefix(KEYS.root, (events) => {
    for (const e of events) {
      if (e.type !== 'put') continue;
      if (e.key === KEYS.weight('shop', 'cart')) written.push({ seenAt: Date.now(), table: JSON.parse(e.value) as ServiceTable });
      if (e.key === KEYS.engineState) records.push(e.value);
    }
  }, { fromRevision: 1 });
  // Started one after another, so the election queue is p0, p1, p2: killing p0 hands over to p1, then to p2.
  for (const id of ['p0', 'p1', 'p2']) {
    const r = await startReplica(id);
    replicas.push(r);
    await poll(`${id} synced`, 30_000, async () => ((await status(r))?.synced ? true : undefined));
  }
});

after(async () => {
  for (const { agent, timer } of agents) {
    clearInterval(timer);
    agent.close();
  }
  await Promise.all(replicas.map((r) => new Promise<void>((resolve) => {
    if (r.child.exitCode !== null || r.child.signalCode !== null) return resolve();
    r.child.once('exit', () => resolve());
    r.child.kill('SIGTERM');
    setTimeout(() => r.child.kill('SIGKILL'), 10_000).unref();
  })));
  await watch?.cancel().catch(() => undefined);
  await store?.close().catch(() => undefined);
  await etcd?.stop();
});

function share(t: ServiceTable, source: string, target: string): number {
  return t.rows.find((r) => r.sourceZone === source)?.targets.find((x) => x.zone === target)?.basisPoints ?? 0;
}

function reason(t: ServiceTable, source: string, target: string): string {
  return t.rows.find((r) => r.sourceZone === source)?.targets.find((x) => x.zone === target)?.reason ?? '';
}

/** The largest change of any share between two versions (zones missing from a row count as 0). */
function maxMove(a: ServiceTable, b: ServiceTable): { bp: number; where: string } {
  let best = { bp: 0, where: '' };
  for (const row of b.rows) {
    const before = a.rows.find((r) => r.sourceZone === row.sourceZone);
    if (before === undefined) continue;
    const zones = new Set([...row.targets.map((t) => t.zone), ...before.targets.map((t) => t.zone)]);
    for (const z of zones) {
      const d = Math.abs(share(b, row.sourceZone, z) - share(a, row.sourceZone, z));
      if (d > best.bp) best = { bp: d, where: `${row.sourceZone}→${z} ${share(a, row.sourceZone, z)}→${share(b, row.sourceZone, z)}` };
    }
  }
  return best;
}

async function leaderOf(): Promise<Replica> {
  return poll('a leader', 15_000, async () => {
    for (const r of replicas) {
      if (r.child.exitCode !== null || r.child.signalCode !== null) continue;
      if ((await status(r))?.leader) return r;
    }
    return undefined;
  });
}

test('SIGKILL of the leader during a hold-down and again during slow start: timers continue and no share moves by more than maxStep', { skip: SKIP, timeout: 120_000 }, async () => {
  const [p0, p1, p2] = replicas as [Replica, Replica, Replica];
  assert.equal((await leaderOf()).id, 'p0');
  const put = await fetch(`${p2.admin}/v1/policies/shop/cart`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ holdDown: `${HOLD_DOWN_MS / 1000}s`, slowStart: `${SLOW_START_MS / 1000}s`, maxStep: MAX_STEP, deadband: 0 }) });
  assert.equal(put.status, 200);
  // Every agent on p2, which is never killed, so no zone's report lease dies with a replica.
  for (const [zone, region] of [['a1', 'r1'], ['a2', 'r1'], ['b1', 'r2'], ['s0', 'r1']] as const) connect(zone, region, p2);
  const last = () => written.at(-1)?.table;
  await poll('s0 splits over a1 and a2', 30_000, () => (last() && share(last()!, 's0', 'a1') > 0 && share(last()!, 's0', 'a2') > 0 ? true : undefined));

  assert.equal((await fetch(`${p2.admin}/v1/zones/a1/drain`, { method: 'POST' })).status, 200);
  await poll('a1 out', 15_000, () => (last() && /out — drained by operator/.test(reason(last()!, 's0', 'a1')) ? true : undefined));
  const undrainAt = Date.now();
  assert.equal((await fetch(`${p2.admin}/v1/zones/a1/undrain`, { method: 'POST' })).status, 200);
  const fromUndrain = written.length;
  await poll('a1 held down', 15_000, () => (last() && /^held down/.test(reason(last()!, 's0', 'a1')) ? true : undefined));

  // First kill: 2.5 s into the hold-down, so a restarted one would show.
  await poll('2.5 s into the hold-down', 10_000, () => (Date.now() - undrainAt >= 2500 ? true : undefined));
  const kill1 = written.length;
  const kill1At = Date.now();
  p0.child.kill('SIGKILL');
  assert.equal((await leaderOf()).id, 'p1');
  const afterKill1 = await poll('a table from p1', 15_000, () => written.slice(kill1).find((w) => w.seenAt > kill1At + 500)?.table);
  const held = /^held down — healthy for (\d+)s of 8s/.exec(reason(afterKill1, 's0', 'a1'));
  const slowAfter1 = /slow start/.test(reason(afterKill1, 's0', 'a1'));
  assert.ok(held || slowAfter1, `p1 continues the hold-down (a fresh leader would admit a1 at once): ${reason(afterKill1, 's0', 'a1')}`);
  if (held) {
    const expected = (afterKill1.computedAt - undrainAt) / 1000;
    assert.ok(Number(held[1]) >= expected - 1.5, `hold-down not restarted: healthy for ${held[1]}s, ~${expected.toFixed(1)}s since the undrain`);
  }

  // Readmission after the hold-down, counted from the undrain; then the second kill, in the slow start.
  const firstRamp = await poll('a1 slow-starting', 30_000, () => written.slice(fromUndrain).find((w) => /slow start/.test(reason(w.table, 's0', 'a1')))?.table);
  const ramp1 = /slow start \d+% \((\d+)(ms|s) of 16s\)/.exec(reason(firstRamp, 's0', 'a1'))!;
  const admittedAt = firstRamp.computedAt - Number(ramp1[1]) * (ramp1[2] === 's' ? 1000 : 1);
  const holdMs = admittedAt - undrainAt;
  assert.ok(holdMs >= HOLD_DOWN_MS - 100 && holdMs <= HOLD_DOWN_MS + 2500, `a1 readmitted ${holdMs} ms after the undrain (hold-down ${HOLD_DOWN_MS} ms)`);
  await poll('3 s into the ramp', 15_000, () => (Date.now() - admittedAt >= 3000 ? true : undefined));
  const kill2 = written.length;
  const kill2At = Date.now();
  p1.child.kill('SIGKILL');
  assert.equal((await leaderOf()).id, 'p2');
  const afterKill2 = await poll('a table from p2', 15_000, () => written.slice(kill2).find((w) => w.seenAt > kill2At + 500)?.table);
  const ramp2 = /slow start (\d+)% \((\d+)s of 16s\)/.exec(reason(afterKill2, 's0', 'a1'));
  assert.ok(ramp2, `p2 continues the ramp: ${reason(afterKill2, 's0', 'a1')}`);
  const elapsed = (afterKill2.computedAt - admittedAt) / 1000;
  assert.ok(Math.abs(Number(ramp2[2]) - elapsed) <= 1.01, `ramp at ${ramp2[2]}s of 16s, ${elapsed.toFixed(1)}s after the readmission`);

  await poll('ramp over', 40_000, () => (Date.now() - admittedAt > SLOW_START_MS + 2000 ? true : undefined));
  assert.doesNotMatch(reason(last()!, 's0', 'a1'), /slow start/, 'the ramp ended');

  // From the undrain on (the drain itself drops a1 at once, by design), no version moves a share by more than maxStep.
  let worst = { bp: 0, where: '' };
  let worstAcross = { bp: 0, where: '' };
  for (let i = Math.max(1, fromUndrain); i < written.length; i++) {
    const m = maxMove(written[i - 1]!.table, written[i]!.table);
    assert.ok(m.bp <= MAX_STEP, `version ${i}: ${m.where} moves by ${m.bp} bp > maxStep ${MAX_STEP}`);
    if (m.bp > worst.bp) worst = m;
    if ((i === kill1 || i === kill2) && m.bp >= worstAcross.bp) worstAcross = m;
  }
  const across = [kill1, kill2].map((k) => written.slice(k).findIndex((w) => w.seenAt > (k === kill1 ? kill1At : kill2At) + 500) + k);
  for (const i of across) {
    const m = maxMove(written[i - 1]!.table, written[i]!.table);
    if (m.bp >= worstAcross.bp) worstAcross = m;
  }
  assert.ok(records.length > 0, 'the leaders wrote the engine record');
  process.stdout.write(`# ${written.length} versions of shop/cart, ${records.length} engine records (largest ${Math.max(...records.map((r) => r.length))} bytes); hold-down ${holdMs} ms; after kill 1: ${reason(afterKill1, 's0', 'a1').split(';')[0]}; after kill 2: ${ramp2[0]} (${elapsed.toFixed(1)} s after readmission); largest move from the undrain on ${worst.bp} bp (${worst.where}), across the handovers ${worstAcross.bp} bp (${worstAcross.where})\n`);
});
