// The fault board: faults on one admin port compose (rules joined, L4 per-field maximum) and removing one leaves the others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { FaultBoard, describeL4 } from './sidecar-faults.ts';

test('two faults on one port are sent together, and removing one keeps the other', async () => {
  const bodies: unknown[] = [];
  const server = http.createServer(async (req, res) => {
    let text = '';
    for await (const c of req) text += String(c);
    bodies.push(JSON.parse(text));
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const board = new FaultBoard();
    const l4 = { latencyMs: 200, bandwidthBytesPerSec: 0, resetPercent: 30, blackholePercent: 0 };
    assert.equal((await board.add(url, 'abort', { rules: [{ abort: 503 }] })).ok, true);
    await board.add(url, 'slow', { l4 });
    await board.add(url, 'cut', { l4: { latencyMs: 0, bandwidthBytesPerSec: 1000, resetPercent: 0, blackholePercent: 100 } });
    assert.deepEqual(bodies[2], { rules: [{ abort: 503 }], l4: { latencyMs: 200, bandwidthBytesPerSec: 1000, resetPercent: 30, blackholePercent: 70 } }, 'reset + blackhole never exceed 100%');
    await board.remove(url, 'cut');
    await board.remove(url, 'abort');
    assert.deepEqual(bodies[4], { rules: [], l4 });
    await board.remove(url, 'slow');
    assert.deepEqual(bodies[5], { rules: [], l4: { latencyMs: 0, bandwidthBytesPerSec: 0, resetPercent: 0, blackholePercent: 0 } });
    assert.deepEqual(board.urls(), [url]);
  } finally {
    server.close();
  }
});

test('a port that does not answer is a failed check, not a throw', async () => {
  const r = await new FaultBoard().add('http://127.0.0.1:1', 'x', { rules: [] });
  assert.equal(r.ok, false);
  assert.match(r.detail, /unreachable/);
  assert.equal(describeL4({ latencyMs: 5, bandwidthBytesPerSec: 0, resetPercent: 0, blackholePercent: 10 }), 'latency 5ms, blackhole 10%');
});
