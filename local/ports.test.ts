// Tests of the port pool of `meshfed up`: held ports are distinct and bound until released, and a client that dials a held port cannot keep it from being released.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import { holdPorts } from './ports.ts';

/** Binds `port` on loopback and closes again; rejects with EADDRINUSE while something holds it. */
function bindOnce(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => s.close(() => resolve()));
  });
}

test('held ports are distinct and bound until released', async () => {
  const pool = await holdPorts(4);
  assert.equal(new Set(pool.ports).size, 4);
  await assert.rejects(bindOnce(pool.ports[0]!), /EADDRINUSE/);
  await pool.release([pool.ports[0]!]);
  await bindOnce(pool.ports[0]!);
  await assert.rejects(bindOnce(pool.ports[1]!), /EADDRINUSE/, 'the others stay held');
  await pool.releaseAll();
  for (const p of pool.ports) await bindOnce(p);
});

test('a client that dials a held port is reset, and release() still returns at once (it used to wait for that connection forever)', { timeout: 10_000 }, async () => {
  const pool = await holdPorts(1);
  const port = pool.ports[0]!;
  // Connect and stay connected, as a poller of the port's previous owner would.
  const client = connect(port, '127.0.0.1');
  const ended = new Promise<string>((resolve) => {
    client.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    client.once('close', () => resolve('closed'));
  });
  assert.match(await ended, /ECONNRESET|closed/);
  const released = await Promise.race([pool.release([port]).then(() => 'released'), new Promise((r) => setTimeout(() => r('stuck'), 5000).unref())]);
  assert.equal(released, 'released');
  await bindOnce(port);
  client.destroy();
});
