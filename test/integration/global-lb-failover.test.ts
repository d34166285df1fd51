// Leader failover across processes: three `meshfed global-lb` child processes on a real etcd; SIGKILL the leader's
// process and check another replica leads and weights keep flowing to agents within 2x the lease TTL, and that the
// zone whose agent was connected to the dead replica ages out after the TTL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { skipWithoutEtcd, startEtcd, type EtcdServer } from '../support/etcd.ts';
import { startGlobalLbProcess, type GlobalLbProcess } from '../support/global-lb-process.ts';
import { SimAgent, serviceReport } from '../support/agent-client.ts';
import type { ZoneView } from '../../global-lb/index.ts';
import type { ServiceReport } from '../../api/generated/meshfed/v1/ServiceReport.ts';

const LEASE_TTL_S = 2;

type Replica = GlobalLbProcess;

let etcd: EtcdServer;
const replicas: Replica[] = [];
const agents: { agent: SimAgent; timer: NodeJS.Timeout }[] = [];

function startReplica(id: string): Promise<Replica> {
  return startGlobalLbProcess(etcd.endpoints, id, { leaseTtlS: LEASE_TTL_S, logLevel: 'warn' });
}

async function status(r: Replica): Promise<{ leader: boolean; leaderId: string | null } | undefined> {
  try {
    const res = await fetch(`${r.admin}/v1/status`, { signal: AbortSignal.timeout(2000) });
    return (await res.json()) as { leader: boolean; leaderId: string | null };
  } catch {
    return undefined;
  }
}

async function poll<T>(what: string, deadlineMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const SERVICES: Record<string, () => ServiceReport[]> = {
  a1: () => [serviceReport('shop', 'cart', { healthy: 2, capacityRps: 1000, rps: 50 })],
  a2: () => [serviceReport('shop', 'cart', { healthy: 0, total: 0, capacityRps: 0, rps: 100 })],
  b1: () => [serviceReport('shop', 'cart', { healthy: 2, capacityRps: 1000, rps: 50 })],
  c1: () => [serviceReport('shop', 'cart', { healthy: 2, capacityRps: 1000, rps: 50 })],
};
const REGION: Record<string, string> = { a1: 'r1', a2: 'r1', b1: 'r2', c1: 'r3' };

function connect(zone: string, r: Replica): SimAgent {
  const agent = new SimAgent({ address: r.grpc, zone, region: REGION[zone]!, cloud: 'sim' });
  agent.report(SERVICES[zone]!());
  const timer = setInterval(() => {
    if (agent.status === undefined) agent.report(SERVICES[zone]!());
  }, 300);
  agents.push({ agent, timer });
  return agent;
}

/** Without etcd (outside CI only) every test here is skipped, with the reason. */
const SKIP = skipWithoutEtcd();

before(async () => {
  if (SKIP) return;
  etcd = await startEtcd();
  replicas.push(...(await Promise.all(['p0', 'p1', 'p2'].map(startReplica))));
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
  await etcd?.stop();
});

test('killing the leader\'s process: another replica leads and weights keep flowing within 2x the lease TTL', { skip: SKIP }, async () => {
  const leaderId = await poll('a leader', 30_000, async () => {
    const all = await Promise.all(replicas.map(status));
    return all.find((s) => s?.leader)?.leaderId ?? undefined;
  });
  const leader = replicas.find((r) => r.id === leaderId)!;
  const others = replicas.filter((r) => r !== leader);
  const put = await fetch(`${others[0]!.admin}/v1/policies/shop/cart`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ holdDown: '0s', slowStart: '0s', maxStep: 10000, deadband: 0 }) });
  assert.equal(put.status, 200);

  connect('a1', others[0]!);
  const a2 = connect('a2', others[1]!);
  connect('b1', others[0]!);
  const c1 = connect('c1', leader);
  await a2.waitFor(() => a2.shares('shop/cart')?.['a1'] === 10000, 30_000, 'a2 -> a1 at 10000 before the kill');
  await c1.waitFor(() => c1.shares('shop/cart') !== undefined, 30_000, 'c1 gets weights from the leader');

  // The leader dies without a chance to resign or revoke anything; at the same moment an operator drains a1.
  const killedAt = Date.now();
  leader.child.kill('SIGKILL');
  const drain = await fetch(`${others[1]!.admin}/v1/zones/a1/drain`, { method: 'POST' });
  assert.equal(drain.status, 200);

  await a2.waitFor(() => (a2.shares('shop/cart')?.['a1'] ?? 0) === 0 && (a2.shares('shop/cart')?.['b1'] ?? 0) > 0, 30_000, 'a2 leaving drained a1');
  const flowedMs = Date.now() - killedAt;
  const newLeader = await poll('a new leader', 10_000, async () => {
    const all = await Promise.all(others.map(status));
    return all.find((s) => s?.leader)?.leaderId ?? undefined;
  });
  assert.notEqual(newLeader, leaderId);
  assert.ok(others.some((r) => r.id === newLeader));
  process.stdout.write(`# new leader ${newLeader}; weights flowed again ${flowedMs} ms after the kill (bound ${2 * LEASE_TTL_S * 1000} ms)\n`);
  assert.ok(flowedMs <= 2 * LEASE_TTL_S * 1000, `weights flowed only after ${flowedMs} ms; the bound is 2x the lease TTL`);

  // c1's agent was connected to the dead replica, which could not revoke its lease: the zone ages out after the TTL.
  const agedMs = await poll('c1 aged out', 30_000, async () => {
    const zones = (await (await fetch(`${others[0]!.admin}/v1/zones`)).json()) as { zones: ZoneView[] };
    const c = zones.zones.find((z) => z.zone === 'c1');
    return c && !c.alive ? Date.now() - killedAt : undefined;
  });
  process.stdout.write(`# c1 (agent on the dead replica) aged out ${agedMs} ms after the kill\n`);
  assert.ok(agedMs >= (LEASE_TTL_S - 1) * 1000, `c1 went out after ${agedMs} ms, before its lease could have expired`);
});
