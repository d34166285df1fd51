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
