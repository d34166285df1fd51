// Tests of the ClientHello SNI parser (real and synthetic hellos, split records, fuzzed bytes) and of the SNI routing form.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { parseClientHello, parseGatewaySni, gatewaySni, type SniResult } from './sni.ts';
import { seededRandom as mulberry32 } from '../../common/random.ts';

/** Builds a ClientHello handshake message (without record framing) carrying the given extensions. */
function helloBody(extensions: Uint8Array | null, sessionId = 32): Uint8Array {
  const parts: number[] = [0x03, 0x03, ...new Array<number>(32).fill(7), sessionId, ...new Array<number>(sessionId).fill(1)];
  parts.push(0x00, 0x04, 0x13, 0x01, 0x13, 0x02); // two cipher suites
  parts.push(0x01, 0x00); // null compression
  const body = extensions === null ? parts : [...parts, (extensions.length >> 8) & 0xff, extensions.length & 0xff, ...extensions];
  const len = body.length;
  return new Uint8Array([0x01, (len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff, ...body]);
}

function sniExtension(name: string): Uint8Array {
  const n = Buffer.from(name, 'latin1');
  const entry = [0x00, (n.length >> 8) & 0xff, n.length & 0xff, ...n];
  const list = [(entry.length >> 8) & 0xff, entry.length & 0xff, ...entry];
  return new Uint8Array([0x00, 0x00, (list.length >> 8) & 0xff, list.length & 0xff, ...list]);
}

function otherExtension(type: number, len: number): Uint8Array {
  return new Uint8Array([(type >> 8) & 0xff, type & 0xff, (len >> 8) & 0xff, len & 0xff, ...new Array<number>(len).fill(9)]);
}

/** Frames handshake bytes into TLS records of at most `size` bytes each. */
function records(handshake: Uint8Array, size = 16384): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < handshake.length; i += size) {
    const chunk = handshake.subarray(i, i + size);
    out.push(0x16, 0x03, 0x01, (chunk.length >> 8) & 0xff, chunk.length & 0xff, ...chunk);
  }
  return new Uint8Array(out);
}

function cat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

const FINAL_KINDS = new Set(['incomplete', 'sni', 'no-sni', 'not-tls', 'malformed']);

test('reads the server name of a synthetic ClientHello among other extensions', () => {
  const hello = records(helloBody(cat(otherExtension(0x000a, 8), sniExtension('outbound_.8080_.v1_.catalog.shop.svc.meshfed'), otherExtension(0x002b, 3))));
  assert.deepEqual(parseClientHello(hello), { kind: 'sni', serverName: 'outbound_.8080_.v1_.catalog.shop.svc.meshfed' });
});

test('every strict prefix of a ClientHello is incomplete, and the whole is final', () => {
  const hello = records(helloBody(sniExtension('a.example')));
  for (let n = 1; n < hello.length; n++) assert.equal(parseClientHello(hello.subarray(0, n)).kind, 'incomplete', `prefix ${n}`);
  assert.equal(parseClientHello(hello).kind, 'sni');
});

test('a ClientHello split across several TLS records is reassembled', () => {
  const body = helloBody(cat(otherExtension(0x0033, 1500), sniExtension('big.example')));
  const split = records(body, 100);
  assert.deepEqual(parseClientHello(split), { kind: 'sni', serverName: 'big.example' });
  for (let n = 1; n < split.length; n += 37) assert.equal(parseClientHello(split.subarray(0, n)).kind, 'incomplete');
});

test('a ClientHello without extensions or without server_name has no SNI', () => {
  assert.deepEqual(parseClientHello(records(helloBody(null))), { kind: 'no-sni' });
  assert.deepEqual(parseClientHello(records(helloBody(otherExtension(0x000a, 4)))), { kind: 'no-sni' });
});

test('plain text and HTTP are not TLS', () => {
  assert.equal(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n')).kind, 'not-tls');
  assert.equal(parseClientHello(Buffer.from('PRI * HTTP/2.0\r\n')).kind, 'not-tls');
  assert.equal(parseClientHello(new Uint8Array([0x16, 0x02])).kind, 'not-tls');
  assert.equal(parseClientHello(new Uint8Array([])).kind, 'incomplete');
});

test('lengths that overrun their container are malformed, not read past', () => {
  const good = helloBody(sniExtension('x.example'));
  const lying = new Uint8Array(good);
  lying[lying.length - 'x.example'.length - 2] = 0xff; // name length far beyond the list
  assert.equal(parseClientHello(records(lying)).kind, 'malformed');
  const notHello = new Uint8Array(good);
  notHello[0] = 0x02;
  assert.equal(parseClientHello(records(notHello)).kind, 'malformed');
  assert.equal(parseClientHello(new Uint8Array([0x16, 0x03, 0x01, 0x00, 0x00])).kind, 'malformed');
  assert.equal(parseClientHello(cat(records(good.subarray(0, 10)), new Uint8Array([0x17, 0x03, 0x03, 0, 1, 0]))).kind, 'malformed');
});

test('server names with bytes a DNS name cannot hold are malformed', () => {
  assert.equal(parseClientHello(records(helloBody(sniExtension('evil\u0000name')))).kind, 'malformed');
  assert.equal(parseClientHello(records(helloBody(sniExtension('a b')))).kind, 'malformed');
});

test('fuzz: random mutations and truncations never throw and always give a known kind', () => {
  const rand = mulberry32(20261121);
  const base = records(helloBody(cat(otherExtension(0x000a, 20), sniExtension('outbound_.80_._.svc.ns.svc.meshfed'))), 64);
  const counts: Record<string, number> = {};
  for (let i = 0; i < 20000; i++) {
    const buf = new Uint8Array(base.subarray(0, 1 + Math.floor(rand() * base.length)));
    const flips = Math.floor(rand() * 6);
    for (let f = 0; f < flips; f++) buf[Math.floor(rand() * buf.length)] = Math.floor(rand() * 256);
    let r: SniResult;
    try {
      r = parseClientHello(buf);
    } catch (e) {
      assert.fail(`threw on iteration ${i}: ${String(e)} bytes=${Buffer.from(buf).toString('hex')}`);
    }
    assert.ok(FINAL_KINDS.has(r.kind));
    if (r.kind === 'sni') assert.match(r.serverName, /^[a-z0-9._-]+$/);
    counts[r.kind] = (counts[r.kind] ?? 0) + 1;
  }
  // The fuzzer must actually reach the interesting outcomes, or it proves nothing.
  for (const k of ['incomplete', 'sni', 'malformed', 'not-tls']) assert.ok((counts[k] ?? 0) > 0, `never produced ${k}: ${JSON.stringify(counts)}`);
});

test('fuzz: pure random bytes never throw', () => {
  const rand = mulberry32(7);
  for (let i = 0; i < 20000; i++) {
    const buf = new Uint8Array(Math.floor(rand() * 300));
    for (let j = 0; j < buf.length; j++) buf[j] = Math.floor(rand() * 256);
    if (rand() < 0.5 && buf.length > 3) { buf[0] = 0x16; buf[1] = 0x03; }
    assert.ok(FINAL_KINDS.has(parseClientHello(buf).kind));
  }
});

test('reads the SNI of a real ClientHello sent by node:tls', async (t) => {
  const captured = await new Promise<Buffer>((resolve, reject) => {
    const server = net.createServer((sock) => {
      sock.once('data', (d) => { resolve(d); sock.destroy(); server.close(); });
    });
    t.after(() => server.close());
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      const c = tls.connect({ port, host: '127.0.0.1', servername: 'outbound_.9090_._.orders.shop.svc.meshfed', rejectUnauthorized: false });
      c.on('error', () => {});
    });
    server.on('error', reject);
  });
  assert.deepEqual(parseClientHello(captured), { kind: 'sni', serverName: 'outbound_.9090_._.orders.shop.svc.meshfed' });
});

test('parses and builds the outbound_.PORT_.SUBSET_.HOST form', () => {
  assert.deepEqual(parseGatewaySni('outbound_.8080_.v1_.catalog.shop.svc.meshfed'), { port: 8080, subset: 'v1', host: 'catalog.shop.svc.meshfed' });
  assert.deepEqual(parseGatewaySni('outbound_.8080_._.catalog.shop.svc.meshfed'), { port: 8080, subset: '', host: 'catalog.shop.svc.meshfed' });
  assert.equal(gatewaySni({ port: 8080, subset: '', host: 'catalog.shop.svc.meshfed' }), 'outbound_.8080_._.catalog.shop.svc.meshfed');
  assert.equal(gatewaySni({ port: 443, subset: 'canary', host: 'a.b' }), 'outbound_.443_.canary_.a.b');
  for (const bad of ['catalog.shop', 'outbound_.0_._.a', 'outbound_.70000_._.a', 'inbound_.80_._.a', 'outbound_.80_.v1.a', 'outbound_.x_._.a']) {
    assert.equal(parseGatewaySni(bad), undefined, bad);
  }
});
