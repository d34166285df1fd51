// The agent's own zone certificate rotates at half-life against the real global-lb over mTLS, and each rotation moves
// the Federation stream to a new connection without a gap in reports or the zone ever leaving /v1/zones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../common/logger.ts';
import { globalLbId } from '../../api/identity.ts';
import { MemoryStore } from '../../global-lb/store/index.ts';
import { startGlobalLb } from '../../global-lb/index.ts';
import { createTestPki } from '../../trust/testing.ts';
import { writePluginCaDir } from '../../trust/files.ts';
import { startZoneAgent } from '../../zone-agent/agent.ts';
import { until } from './agent-support.ts';

const quiet = (component: string) => createLogger({ component, level: process.env['MESHFED_TEST_LOG'] ?? 'silent' });
const TD = 'example.org';
const LEASE_TTL_S = 2;
const REPORT_KEY = '/meshfed/v1/zones/z1/report';

interface ZoneRow { zone: string; alive: boolean; eligible: boolean }

test('a 3 s agent identity rotates repeatedly with no report gap, no ineligible moment, and new connections', async (t) => {
  const pki = await createTestPki({ trustDomain: TD });
  const serverCert = await pki.issue(globalLbId(TD), { usages: ['server'] });
  const store = new MemoryStore();
  const lb = await startGlobalLb({
    store, replicaId: 'r1', grpcListen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 },
    heartbeatMs: 200, leaseTtlSeconds: LEASE_TTL_S, processMetrics: false, debounceMinMs: 20, debounceMaxMs: 200,
    tls: { certPem: serverCert.chainPem, keyPem: serverCert.keyPem, bundlePem: pki.root.certPem, trustDomain: TD },
    logger: quiet('global-lb'),
  });
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-agent-identity-'));
  t.after(async () => {
    await lb.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // Every store write of the zone's report, as the balancer makes them; a delete would be the zone flapping.
  const puts: number[] = [];
  const deletes: number[] = [];
  const watch = await store.watchPrefix(REPORT_KEY, (events) => {
    for (const e of events) if (e.key === REPORT_KEY) (e.type === 'put' ? puts : deletes).push(Date.now());
  });
  t.after(() => watch.cancel());

  // Every connection the zone's streams came over, sampled from before the agent starts.
  const peers = new Set<string>();
  let maxOpenStreams = 0;
  const sampler = setInterval(() => {
    const open = lb.federation.streams().filter((s) => s.zone === 'z1');
    maxOpenStreams = Math.max(maxOpenStreams, open.length);
    for (const s of open) peers.add(s.peer);
  }, 10);
  t.after(() => clearInterval(sampler));

  writePluginCaDir(join(dir, 'ca'), pki.east);
  writeFileSync(join(dir, 's.yaml'), 'services:\n  - namespace: shop\n    name: cart\n    capacityRps: 100\n    endpoints: ["10.0.0.1:8080"]\n');
  const agent = await startZoneAgent({
    locality: { cloud: 'sim', region: 'r1', zone: 'z1' }, cluster: 'east', network: 'n1', trustDomain: TD,
    globalLb: [lb.grpcAddress], insecure: false, caDir: join(dir, 'ca'), identityTtlMs: 3000,
    discovery: { kind: 'static', file: join(dir, 's.yaml') }, stateDir: join(dir, 'state'),
    relayListen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 },
    reportIntervalMs: 200, heartbeatMs: 200, rttIntervalMs: 0, random: () => 0.5,
    backoff: { initialMs: 50, maxMs: 200, multiplier: 2, jitter: 0.5 }, logger: quiet('zone-agent'), processMetrics: false,
  });
  t.after(() => agent.stop());

  const first = agent.status().identity;
  assert.ok(first, 'an mTLS agent shows its identity');
  assert.equal(first.spiffeId, `spiffe://${TD}/meshfed/zone/z1`);
  const firstNotAfter = Date.parse(first.notAfter);
  assert.ok(firstNotAfter - Date.now() <= 3000 && firstNotAfter - Date.now() > 1000, `3 s TTL, got ${first.notAfter}`);

  const zones = async (): Promise<ZoneRow[]> => ((await (await fetch(`${lb.adminUrl}/v1/zones`)).json()) as { zones: ZoneRow[] }).zones;
  await until('z1 alive and eligible', async () => (await zones()).some((z) => z.zone === 'z1' && z.alive && z.eligible), 15_000);

  // From here on, poll the balancer until two more rotations happened and the first certificate is past its expiry
  // (on a loaded machine the first rotation may already be behind us).
  const problems: string[] = [];
  let samples = 0;
  const handoversBefore = agent.status().balancer.handovers;
  const monitorStart = Date.now();
  const putsBefore = puts.length;
  for (;;) {
    const row = (await zones()).find((z) => z.zone === 'z1');
    samples += 1;
    if (!row || !row.alive || !row.eligible) problems.push(`${Date.now() - monitorStart} ms: ${JSON.stringify(row ?? 'z1 missing')}`);
    const st = agent.status();
    if (st.balancer.handovers >= handoversBefore + 2 && Date.now() > firstNotAfter + 300) break;
    if (Date.now() - monitorStart > 12_000) throw new Error(`not two rotations in 12 s (rotations ${st.identity!.rotations}, handovers ${st.balancer.handovers}, ${handoversBefore} before watching)`);
    await new Promise((r) => setTimeout(r, 25));
  }
  const monitorEnd = Date.now();

  assert.deepEqual(problems, [], `z1 left /v1/zones or went ineligible (${samples} samples)`);
  assert.deepEqual(deletes, [], 'the zone report key was never deleted (no lease revoked under it)');
  const window = puts.filter((at) => at >= monitorStart);
  const gaps = [monitorStart, ...window, monitorEnd].slice(1).map((at, i, all) => at - (i === 0 ? monitorStart : all[i - 1]!));
  const maxGap = Math.max(...gaps);
  assert.ok(puts.length - putsBefore >= 10, `reports kept arriving: ${puts.length - putsBefore}`);
  assert.ok(maxGap < LEASE_TTL_S * 1000, `longest gap between stored reports ${maxGap} ms must stay under the lease TTL`);
  t.diagnostic(`rotations ${agent.status().identity!.rotations}, longest report gap ${maxGap} ms over ${monitorEnd - monitorStart} ms, ${samples} /v1/zones samples`);

  // Each rotation opened a new connection (a new client port), overlapping the old stream for a moment.
  const { handovers } = agent.status().balancer;
  assert.ok(agent.status().identity!.rotations >= handovers && handovers >= 2);
  await until('the sampler saw the initial connection plus one per handover', () => peers.size >= handovers + 1, 2000)
    .catch(() => assert.fail(`${handovers} handovers but connections seen: ${[...peers].join(', ')}`));
  assert.ok(maxOpenStreams <= 2, `at most the old and the new stream at once, saw ${maxOpenStreams}`);

  const now = agent.status().identity!;
  assert.ok(Date.parse(now.notAfter) > firstNotAfter, 'the identity in use expires later than the first');
  assert.ok(now.expiresInSeconds > 0);
  assert.ok(agent.status().balancer.connected, 'still connected after the first certificate expired');
  const metrics = await (await fetch(`http://127.0.0.1:${agent.adminPort}/metrics`)).text();
  const expiry = Number(/^meshfed_agent_identity_expiry_seconds (\S+)$/m.exec(metrics)?.[1]);
  assert.ok(expiry > 0 && expiry <= 3, `meshfed_agent_identity_expiry_seconds ${expiry}`);
  assert.match(metrics, /^meshfed_agent_identity_rotations_total [2-9]/m);

  // A fresh handshake now must present a current certificate: the first one is expired and the balancer's TLS
  // would refuse it. Drop the agent's stream and see it come back.
  assert.ok(Date.now() > firstNotAfter);
  const before = new Set(lb.federation.streams().map((s) => s.peer));
  await lb.federation.closeAll();
  const back = await until('the agent reconnected with its current certificate', () =>
    lb.federation.streams().find((s) => s.zone === 'z1' && !before.has(s.peer) && s.reports > 0), 10_000);
  assert.ok(back);
  await until('reported as connected again', () => agent.status().balancer.connected);
});
