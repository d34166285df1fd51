// The Federation client against minimal balancers speaking the real protocol: Hello first, reports with increasing
// sequence, heartbeats between reports, and failover to the next address when a balancer dies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { federationProto } from '../../api/proto.ts';
import type { AgentMessage__Output } from '../../api/generated/meshfed/v1/AgentMessage.ts';
import type { BalancerMessage } from '../../api/generated/meshfed/v1/BalancerMessage.ts';
import { createLogger } from '../../common/logger.ts';
import { FederationReporter } from '../../zone-agent/report/client.ts';
import { until } from './agent-support.ts';

interface Fake {
  readonly address: string;
  readonly received: AgentMessage__Output['msg'][];
  readonly sequences: string[];
  kill(): void;
}

async function fake(t: import('node:test').TestContext): Promise<Fake> {
  const server = new grpc.Server();
  const received: AgentMessage__Output['msg'][] = [];
  const sequences: string[] = [];
  server.addService(federationProto().meshfed.v1.Federation.service, {
    Connect: (call: grpc.ServerDuplexStream<AgentMessage__Output, BalancerMessage>) => {
      call.on('data', (m: AgentMessage__Output) => {
        received.push(m.msg);
        if (m.msg === 'report' && m.report) {
          sequences.push(m.report.sequence);
          call.write({ ack: { sequence: m.report.sequence, replica_id: 'fake' } });
        }
      });
      call.on('error', () => undefined);
    },
  });
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  t.after(() => server.forceShutdown());
  return { address: `127.0.0.1:${port}`, received, sequences, kill: () => server.forceShutdown() };
}

test('Hello first, numbered reports, heartbeats between them, failover when the balancer dies', async (t) => {
  const a = await fake(t);
  const b = await fake(t);
  const events: string[] = [];
  const r = new FederationReporter({
    addresses: [a.address, b.address], credentials: grpc.credentials.createInsecure(),
    hello: { locality: { cloud: 'sim', region: 'r1', zone: 'a1' }, cluster: 'c', network: 'n', agent_id: 'x', agent_version: 't' },
    reportIntervalMs: 600, heartbeatMs: 100,
    buildReport: (sequence, now) => ({ zone: 'a1', sequence: String(sequence), sent_at_unix_ms: String(now), window_ms: 600, services: [], rtts: [] }),
    onMessage: () => undefined,
    onConnected: (up, address) => events.push(`${up ? 'up' : 'down'} ${address}`),
    logger: createLogger({ component: 'zone-agent', level: 'silent' }),
    backoff: { initialMs: 50, maxMs: 200, multiplier: 2, jitter: 0.5 }, random: () => 0.5,
  });
  t.after(() => r.stop());
  r.start();
  await until('three reports on a', () => a.sequences.length >= 3);
  assert.equal(a.received[0], 'hello');
  assert.deepEqual(a.sequences.slice(0, 3), ['1', '2', '3']);
  assert.ok(a.received.filter((m) => m === 'heartbeat').length >= 2, `heartbeats between reports: ${a.received.join(',')}`);
  assert.equal(r.connectedTo, a.address);

  a.kill();
  await until('moved to b', () => b.sequences.length >= 1 && r.connectedTo === b.address);
  assert.equal(b.received[0], 'hello', 'a new stream says Hello again');
  assert.equal(b.sequences[0], '1', 'sequence restarts per stream');
  assert.deepEqual(events.slice(0, 3), [`up ${a.address}`, `down ${a.address}`, `up ${b.address}`]);
});

test('a refused handover keeps the old stream reporting, and the retry moves to the new credentials', async (t) => {
  // Per stream: the report sequences it carried and whether it is still open.
  const streams: { sequences: string[]; open: boolean }[] = [];
  let refuse = false;
  const server = new grpc.Server();
  server.addService(federationProto().meshfed.v1.Federation.service, {
    Connect: (call: grpc.ServerDuplexStream<AgentMessage__Output, BalancerMessage>) => {
      const s = { sequences: [] as string[], open: true };
      streams.push(s);
      const refused = refuse;
      call.on('data', (m: AgentMessage__Output) => {
        if (m.msg === 'hello' && refused) {
          call.write({ error: { code: 'MESHFED_E_TEST_REFUSED', message: 'not now' } });
          call.end();
        } else if (m.msg === 'report' && m.report) {
          s.sequences.push(m.report.sequence);
          call.write({ ack: { sequence: m.report.sequence, replica_id: 'fake' } });
        }
      });
      call.on('cancelled', () => { s.open = false; });
      call.on('close', () => { s.open = false; });
      call.on('error', () => undefined);
    },
  });
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  t.after(() => server.forceShutdown());
  const ups: string[] = [];
  const r = new FederationReporter({
    addresses: [`127.0.0.1:${port}`], credentials: grpc.credentials.createInsecure(),
    hello: { locality: { cloud: 'sim', region: 'r1', zone: 'a1' }, cluster: 'c', network: 'n', agent_id: 'x', agent_version: 't' },
    reportIntervalMs: 50, heartbeatMs: 50,
    buildReport: (sequence, now) => ({ zone: 'a1', sequence: String(sequence), sent_at_unix_ms: String(now), window_ms: 50, services: [], rtts: [] }),
    onMessage: () => undefined,
    onConnected: (up) => ups.push(up ? 'up' : 'down'),
    logger: createLogger({ component: 'zone-agent', level: 'silent' }),
    backoff: { initialMs: 300, maxMs: 300, multiplier: 1, jitter: 0 }, random: () => 0,
  });
  t.after(() => r.stop());
  r.start();
  await until('the first stream reports', () => (streams[0]?.sequences.length ?? 0) >= 2);

  refuse = true;
  r.setCredentials(grpc.credentials.createInsecure());
  await until('the successor was refused', () => r.lastRefusal?.code === 'MESHFED_E_TEST_REFUSED');
  assert.equal(r.handovers, 0);
  const carried = streams[0]!.sequences.length;
  await until('the old stream reports again', () => streams[0]!.sequences.length >= carried + 2, 5000);
  assert.ok(streams[0]!.open, 'the old stream was kept');

  refuse = false;
  await until('the retried handover completed', () => r.handovers === 1, 10_000);
  const successor = streams.at(-1)!;
  assert.ok(streams.length >= 3, `initial, refused, successor: ${streams.length}`);
  await until('the old stream is closed', () => !streams[0]!.open, 5000);
  assert.ok(successor.open && successor.sequences[0] === '1', 'the successor reports from sequence 1');
  const oldCount = streams[0]!.sequences.length;
  await until('the successor keeps reporting', () => successor.sequences.length >= 3);
  assert.equal(streams[0]!.sequences.length, oldCount, 'nothing more on the old stream');
  assert.deepEqual(ups, ['up'], 'connected throughout: no down/up around the handovers');
});
