// A full control-plane outage and a staggered restart, on real processes: two `meshfed global-lb` replicas (real
// etcd, mTLS) are SIGKILLed while two zone agents serve relayed sidecars; they come back one after the other while
// traffic flows from zone a to a service that only zone b hosts. No request may fail, and no relayed state may ever
// lack b's endpoints (the old behaviour handed the first agent back a Directory without b).
import 'reflect-metadata';
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { skipWithoutEtcd, startEtcd, type EtcdServer } from '../support/etcd.ts';
import { freePorts } from '../support/ports.ts';
import { openStore } from '../../global-lb/store/index.ts';
import { KEYS } from '../../global-lb/store/store.ts';
import { globalLbId } from '../../api/identity.ts';
import { createTestPki } from '../../trust/testing.ts';
import { writePluginCaDir } from '../../trust/index.ts';
import { startZoneAgent, type ZoneAgent } from '../../zone-agent/agent.ts';
import { tempDir } from './sidecar-support.ts';
import { TestSidecar, until } from './agent-support.ts';
import { cartWeights, quiet, relayedSidecar, TD, Traffic } from './relay-support.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const LEASE_TTL_S = 2;

interface Replica {
  readonly child: ChildProcess;
  readonly admin: string;
  readonly stderr: string[];
}

const children: ChildProcess[] = [];
after(async () => {
  await Promise.all(children.map((c) => new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGKILL');
  })));
});

/** Starts `meshfed global-lb` on fixed ports (agents dial the same address after the restart). */
function startReplica(o: { id: string; etcd: EtcdServer; grpcPort: number; adminPort: number; tls: { cert: string; key: string; bundle: string } }): Promise<Replica> {
  const child = spawn(join(ROOT, 'node_modules/.bin/node'), [
    join(ROOT, 'cli/meshfed.ts'), 'global-lb', '--etcd', o.etcd.endpoints.join(','),
    '--tls-cert', o.tls.cert, '--tls-key', o.tls.key, '--tls-bundle', o.tls.bundle, '--trust-domain', TD,
    '--grpc-listen', `127.0.0.1:${o.grpcPort}`, '--admin-listen', `127.0.0.1:${o.adminPort}`,
    '--lease-ttl', `${LEASE_TTL_S}s`, '--heartbeat', '500ms', '--replica-id', o.id, '--cold-start-grace', '10s',
  ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MESHFED_LOG_LEVEL: 'info' } });
  children.push(child);
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => stderr.push(l));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica ${o.id} did not start: ${stderr.join('\n')}`)), 30_000);
    child.once('exit', (code) => reject(new Error(`replica ${o.id} exited with ${code}: ${stderr.join('\n')}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const m = JSON.parse(line) as { event?: string; admin?: string };
        if (m.event === 'listening' && m.admin) {
          clearTimeout(timer);
          resolve({ child, admin: m.admin, stderr });
        }
      } catch {
        // not the announcement
      }
    });
  });
}

function kill(r: Replica): Promise<void> {
  return new Promise((resolve) => {
    if (r.child.exitCode !== null || r.child.signalCode !== null) return resolve();
    r.child.once('exit', () => resolve());
    r.child.kill('SIGKILL');
  });
}

async function readyz(r: Replica): Promise<{ status: number; synced: boolean } | undefined> {
  try {
    const res = await fetch(`${r.admin}/readyz`, { signal: AbortSignal.timeout(2000) });
    return { status: res.status, synced: ((await res.json()) as { synced: boolean }).synced };
  } catch {
    return undefined;
  }
}

const SKIP = skipWithoutEtcd();

test('after every balancer replica was killed, a staggered restart under traffic fails no request and never drops a zone', { skip: SKIP, timeout: 120_000 }, async (t) => {
  const started = Date.now();
  const dir = tempDir(t, 'meshfed-cold-start-');
  const etcd = await startEtcd();
  t.after(() => etcd.stop());
  const pki = await createTestPki({ trustDomain: TD });
  const caDir = join(dir, 'ca');
  writePluginCaDir(caDir, pki.east);
  const server = await pki.issue(globalLbId(TD), { usages: ['server'] });
  const tls = { cert: join(dir, 'lb.pem'), key: join(dir, 'lb-key.pem'), bundle: join(dir, 'roots.pem') };
  writeFileSync(tls.cert, server.chainPem);
  writeFileSync(tls.key, server.keyPem, { mode: 0o600 });
  writeFileSync(tls.bundle, pki.root.certPem);

  const [g1, a1, g2, a2, cartB] = await freePorts(5);
  const spec = [{ id: 'r1', etcd, grpcPort: g1!, adminPort: a1!, tls }, { id: 'r2', etcd, grpcPort: g2!, adminPort: a2!, tls }];
  let replicas = await Promise.all(spec.map(startReplica));

  // Zone a hosts only the client (shop/web); shop/cart lives in zone b alone, so a's sidecar needs b's endpoints.
  for (const z of ['a', 'b']) mkdirSync(join(dir, z), { recursive: true });
  writeFileSync(join(dir, 'a', 'static.json'), JSON.stringify({ services: [] }));
  writeFileSync(join(dir, 'b', 'static.json'), JSON.stringify({
    services: [{ namespace: 'shop', name: 'cart', capacityRps: 1000, endpoints: [{ address: `127.0.0.1:${cartB}` }] }],
  }));
  const agents: ZoneAgent[] = [];
  t.after(async () => {
    for (const a of agents) await a.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  // Each agent is pinned to one replica, so the restart order decides who reconnects first.
  for (const [zone, grpcPort] of [['a', g1!], ['b', g2!]] as const) {
    agents.push(await startZoneAgent({
      // Both zones belong to the cluster whose intermediate signs their identities (the balancer checks it).
      locality: { cloud: 'sim', region: 'r1', zone }, cluster: 'east', network: 'n1', trustDomain: TD,
      globalLb: [`127.0.0.1:${grpcPort}`], insecure: false, caDir,
      discovery: { kind: 'static', file: join(dir, zone, 'static.json') },
      stateDir: join(dir, zone, 'state'), relayListen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 },
      reportIntervalMs: 250, heartbeatMs: 250, rttIntervalMs: 0, backoff: { initialMs: 50, maxMs: 300, multiplier: 2, jitter: 0.5 },
      logger: quiet(`zone-agent-${zone}`), processMetrics: false,
    }));
  }
  const [agentA, agentB] = agents as [ZoneAgent, ZoneAgent];
  await relayedSidecar(t, { service: 'shop/cart', zone: 'b', relayPort: agentB.relayPort, inboundPort: cartB! });
  const web = await relayedSidecar(t, { service: 'shop/web', zone: 'a', relayPort: agentA.relayPort });
  // A relay subscriber that records every state zone a's agent relays.
  const watcher = new TestSidecar(agentA.relayPort, { namespace: 'shop', service: 'web', serviceAccount: 'web', zone: 'a', id: 'watcher' });
  t.after(() => watcher.close());

  await until('zone a routes shop/cart to b by the balancer weights', async () => (await cartWeights(web))?.['b'] === 10000, 30_000);
  const traffic = new Traffic(web.sidecar.outboundPort, 'cart.shop');
  t.after(() => traffic.stop());
  await until('300 requests before the outage', () => traffic.count() >= 300, 30_000);
  const watchFrom = watcher.states.length;

  // Every replica dies at once, with no chance to revoke a lease; the zones' reports expire from etcd.
  await Promise.all(replicas.map(kill));
  const killedAt = Date.now();
  await until('both agents to serve fail-static', () => agents.every((a) => a.status().weights.stale), 20_000);
  const store = await openStore({ kind: 'etcd', endpoints: etcd.endpoints });
  t.after(() => store.close());
  await until('the zones\' reports to expire from etcd', async () => (await store.list(KEYS.zones)).items.length === 0, 20_000);
  await until('300 requests during the outage', () => traffic.count() >= 600, 30_000);

  // r1 comes back first: zone a reconnects and reports, but r1 knew b too, so it publishes nothing yet.
  const r1 = await startReplica(spec[0]!);
  await until('zone a reconnected to r1', () => agentA.status().balancer.connected, 20_000);
  await until('zone a\'s report stored again', async () => (await store.list(KEYS.zones)).items.some((kv) => kv.key === KEYS.zoneReport('a')), 10_000);
  const gated = await readyz(r1);
  assert.deepEqual(gated, { status: 503, synced: false }, 'r1 waits for b before computing or publishing');
  // r2 returns 1.5 s (and at least 300 requests, whatever their outcome) later.
  const partialFrom = traffic.total;
  const partialAt = Date.now();
  await until('r2\'s turn to restart', () => traffic.total >= partialFrom + 300 && Date.now() >= partialAt + 1500, 30_000);

  // r2 comes back: b reports, both replicas open their gates and fresh weights flow with no restart of anything.
  const r2 = await startReplica(spec[1]!);
  replicas = [r1, r2];
  const restartedAt = Date.now();
  await until('both replicas ready', async () => (await Promise.all(replicas.map(readyz))).every((r) => r?.status === 200), 20_000);
  const reopenedMs = Date.now() - restartedAt;
  await until('zone a gets fresh weights again', () => {
    const s = agentA.status();
    return s.balancer.connected && s.weights.receivedAtUnixMs > killedAt && !web.intake().stale;
  }, 20_000);
  await until('zone a routes shop/cart to b by the fresh weights', async () => (await cartWeights(web))?.['b'] === 10000, 20_000);
  const freshFrom = traffic.total;
  await until('300 requests after the restart', () => traffic.total >= freshFrom + 300, 30_000);
  await traffic.stop();

  const relayed = watcher.states.slice(watchFrom);
  const lacking = relayed.filter(({ state }) => {
    const b = state.zones.find((z) => z.locality?.zone === 'b');
    return !b?.services.some((s) => s.name === 'cart' && s.namespace === 'shop' && s.endpoints.length > 0);
  });
  t.diagnostic(`${traffic.total} requests, ${traffic.failures.length} failed; ${relayed.length} relayed states from the outage on; r1 and r2 ready ${reopenedMs} ms after r2 restarted; ${Date.now() - started} ms in all`);
  assert.deepEqual(traffic.failures, [], 'no request failed');
  assert.deepEqual(lacking.map((s) => s.at - killedAt), [], 'no relayed state lacked b\'s shop/cart endpoints (ms after the kill)');
  assert.ok(relayed.length >= 2, 'the watcher saw the stale state and the fresh one');
  assert.ok(r1.stderr.some((l) => l.includes('cold start: waiting')), 'r1 logged that it waited for the known zones');
});
