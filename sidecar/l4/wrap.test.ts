// Tests of L4 fault wrapping on real loopback sockets: added latency, reset and blackhole.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { wrapConnection } from './wrap.ts';
import { NO_L4_FAULTS, type L4Faults } from './l4-faults.ts';

async function echoServer(t: { after(fn: () => void): void }, faults: L4Faults): Promise<number> {
  const server = net.createServer((sock) => {
    const { stream } = wrapConnection(sock, faults, () => 0.999);
    if (stream) stream.pipe(stream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

async function roundTrip(port: number): Promise<number> {
  const c = net.connect(port, '127.0.0.1');
  await once(c, 'connect');
  const t0 = performance.now();
  c.write('ping');
  await once(c, 'data');
  const dt = performance.now() - t0;
  c.destroy();
  return dt;
}

test('latency adds its delay in each direction', async (t) => {
  const plain = await echoServer(t, NO_L4_FAULTS);
  const slow = await echoServer(t, { ...NO_L4_FAULTS, latencyMs: 40 });
  const base = await roundTrip(plain);
  const delayed = await roundTrip(slow);
  assert.ok(delayed >= 80, `round trip ${delayed} ms should include 2 x 40 ms`);
  assert.ok(delayed - base < 1000, `round trip ${delayed} ms unexpectedly large`);
});

test('reset closes the connection with an error at once', async (t) => {
  const port = await echoServer(t, { ...NO_L4_FAULTS, resetPercent: 100 });
  const c = net.connect(port, '127.0.0.1');
  const [e] = (await once(c, 'error')) as [NodeJS.ErrnoException];
  assert.equal(e.code, 'ECONNRESET');
});

test('blackhole accepts bytes and never answers', async (t) => {
  const port = await echoServer(t, { ...NO_L4_FAULTS, blackholePercent: 100 });
  const c = net.connect(port, '127.0.0.1');
  t.after(() => c.destroy());
  await once(c, 'connect');
  c.write('ping');
  let got = false;
  c.on('data', () => { got = true; });
  // A short bounded wait is the assertion itself here: nothing may arrive within it.
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(got, false);
  assert.equal(c.destroyed, false);
});
