// The Federation listener with real mTLS: an agent must present a certificate for its own zone's SPIFFE ID.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { MemoryStore } from '../../global-lb/store/index.ts';
import { startGlobalLb, type GlobalLb } from '../../global-lb/index.ts';
import { createLogger } from '../../common/logger.ts';
import { globalLbId, workloadId, zoneAgentId } from '../../api/identity.ts';
import { createTestPki, type TestPki } from '../../trust/testing.ts';
import { SimAgent, serviceReport } from '../support/agent-client.ts';

let pki: TestPki;
let lb: GlobalLb;
let store: MemoryStore;
const agents: SimAgent[] = [];

/** An agent for `zone` claiming `cluster` in its Hello, with a certificate from that cluster's intermediate (or `issuer`'s). */
async function agentWith(spiffeId: string | undefined, zone: string, cluster: 'east' | 'west' = 'east', issuer: 'east' | 'west' = cluster): Promise<SimAgent> {
  let key: Buffer | null = null, chain: Buffer | null = null;
  if (spiffeId) {
    const cert = await pki.issue(spiffeId, { usages: ['client'], ca: pki[issuer] });
    key = Buffer.from(cert.keyPem);
    chain = Buffer.from(cert.chainPem);
  }
  // The balancer's certificate carries a SPIFFE ID, not a DNS name: skip hostname checks (the chain is still verified).
  const credentials = grpc.credentials.createSsl(Buffer.from(pki.root.certPem), key, chain, { checkServerIdentity: () => undefined });
  const a = new SimAgent({ address: lb.grpcAddress, zone, cluster, credentials });
  agents.push(a);
  return a;
}

before(async () => {
  pki = await createTestPki({ trustDomain: 'example.org' });
  const server = await pki.issue(globalLbId('example.org'), { usages: ['server'] });
  store = new MemoryStore();
  lb = await startGlobalLb({
    store, replicaId: 'tls', grpcListen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 },
    heartbeatMs: 500, leaseTtlSeconds: 2, processMetrics: false,
    tls: { certPem: server.chainPem, keyPem: server.keyPem, bundlePem: pki.root.certPem, trustDomain: 'example.org' },
    logger: createLogger({ component: 'global-lb', level: 'silent' }),
  });
});

after(async () => {
  for (const a of agents) a.close();
  await lb.close();
  await store.close();
});

test('an agent with its own zone\'s certificate is served', async () => {
  const a = await agentWith(zoneAgentId('example.org', 'z1'), 'z1');
  const seq = a.report([serviceReport('shop', 'cart')]);
  await a.waitFor(() => a.acks.includes(String(seq)), 15_000, 'the ack');
  assert.ok(await store.get('/meshfed/v1/zones/z1/report'));
});

test('an agent whose certificate is for another zone is refused at Hello', async () => {
  const a = await agentWith(zoneAgentId('example.org', 'z1'), 'z2');
  a.report([serviceReport('shop', 'cart')]);
  await a.waitFor(() => a.error !== undefined, 15_000, 'a StreamError');
  assert.equal(a.error?.code, 'MESHFED_E_STREAM_BAD_HELLO');
  assert.match(a.error!.message, /"z2".*"z1"/);
  assert.equal(await store.get('/meshfed/v1/zones/z2/report'), undefined);
});

test('a zone stays with its cluster: another cluster\'s intermediate cannot claim it, nor can an agent claiming its cluster with another\'s certificate', async () => {
  // The real z5 agent, from cluster east, reports.
  const real = await agentWith(zoneAgentId('example.org', 'z5'), 'z5', 'east');
  const seq = real.report([serviceReport('shop', 'cart')]);
  await real.waitFor(() => real.acks.includes(String(seq)), 15_000, 'the real agent\'s ack');
  // West's intermediate mints a zone-agent certificate for z5 (nothing in X.509 stops it) and claims west.
  const forged = await agentWith(zoneAgentId('example.org', 'z5'), 'z5', 'west');
  forged.report([serviceReport('shop', 'cart')]);
  await forged.waitFor(() => forged.error !== undefined, 15_000, 'a StreamError');
  assert.equal(forged.error?.code, 'MESHFED_E_STREAM_ZONE_CLUSTER');
  assert.match(forged.error!.message, /zone z5 belongs to cluster east/);
  // The same certificate claiming east in its Hello: its issuer says west.
  const lying = await agentWith(zoneAgentId('example.org', 'z5'), 'z5', 'east', 'west');
  await lying.waitFor(() => lying.error !== undefined, 15_000, 'a StreamError');
  assert.equal(lying.error?.code, 'MESHFED_E_STREAM_ZONE_CLUSTER');
  assert.match(lying.error!.message, /issued by cluster west's intermediate/);
  // A restarted agent of the right cluster is still served.
  const again = await agentWith(zoneAgentId('example.org', 'z5'), 'z5', 'east');
  const seq2 = again.report([serviceReport('shop', 'cart')]);
  await again.waitFor(() => again.acks.includes(String(seq2)), 15_000, 'the restarted agent\'s ack');
});

test('a workload certificate is not an agent identity', async () => {
  const a = await agentWith(workloadId('example.org', 'shop', 'cart'), 'z3');
  await a.waitFor(() => a.error !== undefined, 15_000, 'a StreamError');
  assert.equal(a.error?.code, 'MESHFED_E_STREAM_BAD_HELLO');
});

test('a client without a certificate cannot open a stream', async () => {
  const a = await agentWith(undefined, 'z4');
  const status = await a.ended;
  assert.equal(status.code, grpc.status.UNAVAILABLE);
  assert.equal(await store.get('/meshfed/v1/zones/z4/report'), undefined);
});
