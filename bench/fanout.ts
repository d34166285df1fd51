// Benchmark: one zone agent, N subscribed sidecar streams; time from a weight change pushed by the balancer until
// every sidecar holds it. Compares encode-once fan-out with per-stream encoding, and 100 vs 1000 streams.
import { Worker } from 'node:worker_threads';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { federationProto } from '../api/proto.ts';
import type { AgentMessage__Output } from '../api/generated/meshfed/v1/AgentMessage.ts';
import type { BalancerMessage } from '../api/generated/meshfed/v1/BalancerMessage.ts';
import type { WeightTable } from '../api/generated/meshfed/v1/WeightTable.ts';
import { createLogger } from '../common/logger.ts';
import { startZoneAgent } from '../zone-agent/agent.ts';

/** A minimal balancer speaking the real Federation protocol: acks reports and pushes weights on demand. */
async function fakeBalancer(): Promise<{ port: number; push(tables: WeightTable[]): number; close(): void }> {
  const server = new grpc.Server();
  const calls = new Set<grpc.ServerDuplexStream<AgentMessage__Output, BalancerMessage>>();
  server.addService(federationProto().meshfed.v1.Federation.service, {
    Connect: (call: grpc.ServerDuplexStream<AgentMessage__Output, BalancerMessage>) => {
      calls.add(call);
      call.on('data', (m: AgentMessage__Output) => {
        if (m.msg === 'report' && m.report) call.write({ ack: { sequence: m.report.sequence, replica_id: 'bench' } });
      });
      call.on('error', () => calls.delete(call));
      call.on('end', () => { calls.delete(call); call.end(); });
    },
  });
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  return {
    port,
    push(tables) {
      const t0 = performance.timeOrigin + performance.now();
      for (const c of calls) c.write({ weights: { tables, full: true, removed: [] } });
      return t0;
    },
    close: () => server.forceShutdown(),
  };
}

const ZONES = ['a1', 'a2', 'b1'];
function tables(round: number, services: number): WeightTable[] {
  return Array.from({ length: services }, (_, i) => {
    const local = 4000 + ((round * 37 + i) % 2000);
    return {
      namespace: 'shop', name: `svc-${i}`, version: `r${round}-${i}`, computed_at_unix_ms: String(Date.now()),
      sources: ZONES.map((z) => ({ source_zone: z, panic: false, targets: [
        { zone: 'a1', basis_points: local, tier: 0, reason: 'bench' },
        { zone: 'a2', basis_points: 10000 - local, tier: 1, reason: 'bench' },
      ] })),
    };
  });
}

// Each sidecar keeps the raw bytes and looks for the weight version in them: in production every sidecar decodes in its
// own process, so decoding 1000 states on the one bench thread would measure the bench, not the agent's fan-out.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const grpc = require(workerData.grpcPath);
const clients = [];
let subscribed = 0;
let want = null;
let times = [];
const pending = new Set();
function subscribeBytes(i) {
  // SidecarMessage{subscribe(1): SubscribeRequest{namespace(1)="shop", service(2)="web", service_account(3)="web", zone(4)="a1", sidecar_id(5)}}
  const id = Buffer.from('s' + i);
  const inner = Buffer.concat([Buffer.from([0x0a, 4]), Buffer.from('shop'), Buffer.from([0x12, 3]), Buffer.from('web'), Buffer.from([0x1a, 3]), Buffer.from('web'), Buffer.from([0x22, 2]), Buffer.from('a1'), Buffer.from([0x2a, id.length]), id]);
  return Buffer.concat([Buffer.from([0x0a, inner.length]), inner]);
}
for (let i = 0; i < workerData.n; i++) {
  // One channel per sidecar, as in production (each sidecar is its own process).
  const c = new grpc.Client('127.0.0.1:' + workerData.port, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const call = c.makeBidiStreamRequest('/meshfed.v1.Relay/Subscribe', (b) => b, (b) => b);
  let first = true;
  call.on('data', (bytes) => {
    if (first) { first = false; if (++subscribed === workerData.n) parentPort.postMessage({ type: 'ready' }); }
    if (want !== null && pending.has(i) && bytes.indexOf(want) >= 0) {
      pending.delete(i);
      times.push(performance.timeOrigin + performance.now());
      // One message per round, not per sidecar, so reporting does not load the agent's thread during the fan-out.
      if (pending.size === 0) parentPort.postMessage({ type: 'round', version: want.toString(), times });
    }
  });
  call.on('error', () => {});
  call.write(subscribeBytes(i));
  clients.push({ c, call });
}
parentPort.on('message', (m) => {
  if (m === 'close') { for (const x of clients) { x.call.cancel(); x.c.close(); } parentPort.postMessage({ type: 'closed' }); return; }
  if (m.want) { want = Buffer.from(m.want); times = []; pending.clear(); for (let i = 0; i < workerData.n; i++) pending.add(i); parentPort.postMessage({ type: 'armed' }); }
});
`;

function pct(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
}

async function runCase(n: number, encodeOnce: boolean, rounds: number, services: number): Promise<{ completion: number[]; each: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-bench-fanout-'));
  writeFileSync(join(dir, 's.yaml'), `services:\n${Array.from({ length: services }, (_, i) => `  - namespace: shop\n    name: svc-${i}\n    endpoints: [${Array.from({ length: 10 }, (_, j) => `"10.0.${i}.${j}:8080"`).join(', ')}]\n`).join('')}`);
  const lb = await fakeBalancer();
  const agent = await startZoneAgent({
    locality: { cloud: 'sim', region: 'r1', zone: 'a1' }, cluster: 'c1', network: 'n1', trustDomain: 'meshfed.local',
    globalLb: [`127.0.0.1:${lb.port}`], insecure: true, discovery: { kind: 'static', file: join(dir, 's.yaml') },
    stateDir: join(dir, 'state'), relayListen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 },
    rttIntervalMs: 0, logger: createLogger({ component: 'zone-agent', level: 'silent' }), processMetrics: false, relayEncodeOnce: encodeOnce,
  });
  const root = join(import.meta.dirname, '..');
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: {
      n, port: agent.relayPort, grpcPath: join(root, 'node_modules', '@grpc', 'grpc-js'),
    },
  });
  const waiters = new Map<string, { left: Set<number>; times: number[]; done: () => void }>();
  let ready: () => void = () => undefined;
  const readyP = new Promise<void>((r) => (ready = r));
  let armed: () => void = () => undefined;
  worker.on('message', (m: { type: string; version: string; times: number[] }) => {
    if (m.type === 'ready') ready();
    if (m.type === 'armed') armed();
    if (m.type !== 'round') return;
    const w = waiters.get(m.version);
    if (!w) return;
    w.times.push(...m.times);
    w.left.clear();
    w.done();
  });
  await readyP;
  const completion: number[] = [];
  const each: number[] = [];
  const WARMUP = 3;
  for (let r = 1; r <= rounds + WARMUP; r++) {
    const version = `r${r}-0`;
    const waiter = { left: new Set(Array.from({ length: n }, (_, i) => i)), times: [] as number[], done: () => undefined as void };
    const doneP = new Promise<void>((res) => (waiter.done = res));
    waiters.set(version, waiter);
    await new Promise<void>((res) => {
      armed = res;
      worker.postMessage({ want: version });
    });
    const t0 = lb.push(tables(r, services));
    const timeout = new Promise<void>((_, rej) => setTimeout(() => rej(new Error(`round ${r}: not all ${n} sidecars got the weights within 30 s`)), 30_000).unref());
    await Promise.race([doneP, timeout]);
    waiters.delete(version);
    if (waiter.times.length !== n) throw new Error(`round ${r}: ${waiter.times.length} receipts for ${n} sidecars`);
    const lat = waiter.times.map((t) => t - t0);
    // The first rounds warm up the JIT and grpc-js buffers; they are not counted.
    if (r > WARMUP) {
      completion.push(Math.max(...lat));
      each.push(...lat);
    }
    await new Promise((res) => setTimeout(res, 50));
  }
  const closed = new Promise<void>((res) => worker.on('message', (m: { type: string }) => { if (m.type === 'closed') res(); }));
  worker.postMessage('close');
  await closed;
  await worker.terminate();
  await agent.stop();
  lb.close();
  rmSync(dir, { recursive: true, force: true });
  return { completion: completion.sort((a, b) => a - b), each: each.sort((a, b) => a - b) };
}

/** `npm run bench -- fanout [--streams N] [--rounds R] [--services S]` */
export async function main(args: string[]): Promise<void> {
  const opt = (name: string, def: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  const n = opt('streams', 1000);
  const rounds = opt('rounds', 30);
  const services = opt('services', 20);
  console.log(`fanout: ${n} relay streams, ${rounds} weight changes (after 3 warm-up), load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}, ${services} services x ${ZONES.length} source rows; ${cpus().length} cpus (${cpus()[0]?.model ?? '?'})`);
  console.log('case                         | all-hold p50 | all-hold p99 | per-sidecar p50 | per-sidecar p99');
  const results: Record<string, { completion: number[]; each: number[] }> = {};
  for (const [label, streams, once] of [[`encode-once, ${n} streams`, n, true], [`per-stream encode, ${n} streams`, n, false], [`encode-once, ${Math.round(n / 10)} streams`, Math.round(n / 10), true]] as const) {
    const r = await runCase(streams, once, rounds, services);
    results[label] = r;
    const f = (x: number) => `${x.toFixed(1)} ms`.padStart(12);
    console.log(`${label.padEnd(28)} | ${f(pct(r.completion, 0.5))} | ${f(pct(r.completion, 0.99))} | ${f(pct(r.each, 0.5)).padStart(15)} | ${f(pct(r.each, 0.99)).padStart(15)}`);
  }
  const a = results[`encode-once, ${n} streams`]!;
  const b = results[`per-stream encode, ${n} streams`]!;
  const c = results[`encode-once, ${Math.round(n / 10)} streams`]!;
  console.log(`ratio per-stream/encode-once (all-hold p99): ${(pct(b.completion, 0.99) / pct(a.completion, 0.99)).toFixed(2)}x`);
  console.log(`ratio ${n}/${Math.round(n / 10)} streams (all-hold p99): ${(pct(a.completion, 0.99) / pct(c.completion, 0.99)).toFixed(2)}x`);
  console.log(`goal all-hold p99 <= 200 ms: ${pct(a.completion, 0.99) <= 200 ? 'MET' : 'NOT MET'}`);
}
