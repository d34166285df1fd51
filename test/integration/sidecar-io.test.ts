// The sidecar's I/O on real sockets and real mTLS: app -> sidecar -> sidecar -> app, identity, traces, admin, bad input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Readable } from 'node:stream';
import tls from 'node:tls';
import { once } from 'node:events';
import { request, Client } from 'undici';
import { createTestPki } from '../../trust/testing.ts';
import { parseSidecarConfig } from '../../api/sidecar-config.ts';
import { startSidecar, type Sidecar } from '../../sidecar/server/sidecar.ts';
import { bareStack, diskPki, quietLogger, startEchoApp, tempDir, type EchoReply } from './sidecar-support.ts';

const cleanups: (() => unknown)[] = [];
const hooks = { after: (fn: () => unknown) => { cleanups.push(fn); } };
after(async () => { for (const fn of cleanups.reverse()) await Promise.resolve().then(fn).catch(() => {}); });
let client: Sidecar;
let server: Sidecar;
let serverIdentity = '';
let clientRaw: Record<string, unknown> = {};

before(async () => {
  const dir = tempDir(hooks);
  const pki = await diskPki();
  const app = await startEchoApp(hooks, 'catalog-1', 'a');
  const serverCerts = await pki.workload(dir, 'shop', 'catalog');
  const clientCerts = await pki.workload(dir, 'shop', 'web');
  serverIdentity = serverCerts.spiffeId;
  const base = { zones: { a: { network: 'n1' } }, trustDomain: 'mesh.test' };
  server = await startSidecar({
    service: 'shop/catalog', zone: 'a', appPort: app.port, logger: quietLogger(), stack: bareStack,
    config: parseSidecarConfig(JSON.stringify({ ...base, certificates: serverCerts.files }), 'server.json'),
  });
  hooks.after(() => server.close());
  const clientCfg = {
    ...base, certificates: clientCerts.files,
    services: { 'shop/catalog': { port: 8080, identity: serverCerts.spiffeId, endpoints: { a: [`127.0.0.1:${server.inboundPort}`] } } },
  };
  clientRaw = clientCfg;
  client = await startSidecar({
    service: 'shop/web', zone: 'a', appPort: 1, logger: quietLogger(), stack: bareStack,
    config: parseSidecarConfig(JSON.stringify(clientCfg), 'client.json'),
  });
  hooks.after(() => client.close());
});

test('a request crosses two sidecars over mTLS and the destination sees the caller identity', async () => {
  const res = await request(`http://127.0.0.1:${client.outboundPort}/hello`, { headers: { host: 'catalog.shop' } });
  assert.equal(res.statusCode, 200);
  const body = (await res.body.json()) as EchoReply;
  assert.equal(body.name, 'catalog-1');
  assert.equal(body.headers['x-forwarded-client-cert'], 'URI=spiffe://mesh.test/ns/shop/sa/web');
  assert.match(String(body.headers['traceparent']), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  assert.ok(res.headers['x-request-id']);
});

const admin = (sc: Sidecar, path: string, init: { method?: string; body?: string } = {}) =>
  request(`http://127.0.0.1:${sc.adminPort}${path}`, { method: (init.method ?? 'GET') as 'GET', ...(init.body !== undefined ? { body: init.body, headers: { 'content-type': 'application/json' } } : {}) });

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const res = await request(`http://127.0.0.1:${client.outboundPort}${path}`, { headers: { host: 'catalog.shop', ...headers } });
  return { status: res.statusCode, body: await res.body.text() };
}

test('HTTP/2 cleartext from the app is proxied (HTTP/2 between sidecars, HTTP/1.1 to a non-gRPC app)', async (t) => {
  const h2 = new Client(`http://127.0.0.1:${client.outboundPort}`, { allowH2: true, h2Options: { useH2c: true } });
  t.after(() => h2.close());
  const res = await h2.request({ method: 'GET', path: '/h2', headers: { host: 'catalog.shop.svc.meshfed' } });
  assert.equal(res.statusCode, 200);
  const body = (await res.body.json()) as EchoReply;
  assert.equal(body.version, '1.1', 'non-gRPC requests reach the app over HTTP/1.1');
  assert.match(String(body.headers['x-forwarded-client-cert']), /sa\/web$/);
});

test('an existing trace is continued with a new span per hop and x-request-id is kept', async () => {
  const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const r = await get('/trace', { traceparent: incoming, 'x-request-id': 'req-123' });
  const body = JSON.parse(r.body) as EchoReply;
  const tp = String(body.headers['traceparent']);
  assert.match(tp, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
  assert.notEqual(tp.split('-')[2], '00f067aa0ba902b7');
  assert.equal(body.headers['x-b3-traceid'], '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(body.headers['x-request-id'], 'req-123');
  // Two hops, two spans: the parent seen by the app is the client sidecar's span, not the caller's.
  assert.notEqual(body.headers['x-b3-parentspanid'], '00f067aa0ba902b7');
});

test('large bodies stream both ways: the response starts before the request body has ended', async () => {
  const chunk = Buffer.alloc(256 * 1024, 97);
  let release!: () => void;
  const firstResponseByte = new Promise<void>((r) => { release = r; });
  let sentAfterRelease = 0;
  async function* upload() {
    for (let i = 0; i < 8; i++) yield chunk; // 2 MiB, then wait until the echo comes back through both sidecars
    await firstResponseByte;
    for (let i = 0; i < 120; i++) { sentAfterRelease++; yield chunk; } // 30 MiB more
  }
  const res = await request(`http://127.0.0.1:${client.outboundPort}/upload`, { method: "POST", body: Readable.from(upload()), headers: { host: "catalog.shop" } });
  assert.equal(res.statusCode, 200);
  let received = 0;
  for await (const c of res.body) {
    if (received === 0) release();
    received += (c as Buffer).length;
  }
  assert.equal(sentAfterRelease, 120);
  assert.equal(received, 128 * chunk.length);
});

test('a big download streams through intact', async () => {
  const n = 64 * 1024 * 1024 + 17;
  const res = await request(`http://127.0.0.1:${client.outboundPort}/bytes?n=${n}`, { headers: { host: 'catalog.shop' } });
  let received = 0;
  for await (const c of res.body) received += (c as Buffer).length;
  assert.equal(received, n);
});

test('an unknown destination is a 404 that names the problem', async () => {
  const res = await request(`http://127.0.0.1:${client.outboundPort}/`, { headers: { host: 'nope.shop' } });
  assert.equal(res.statusCode, 404);
  assert.match(await res.body.text(), /no service is named by "nope.shop"/);
});

test('admin: ready, stats, config_dump and metrics with the contract labels', async () => {
  assert.equal((await admin(client, '/ready')).statusCode, 200);
  const stats = (await (await admin(client, '/stats')).body.json()) as { zone: string; config_version: string };
  assert.equal(stats.zone, 'a');
  assert.match(stats.config_version, /^[0-9a-f]{64}$/);
  const dump = (await (await admin(client, '/config_dump')).body.json()) as { config: { services: Record<string, unknown> } };
  assert.ok(dump.config.services['shop/catalog']);
  await get('/metrics-probe');
  const text = await (await admin(client, '/metrics')).body.text();
  assert.match(text, /meshfed_requests_total\{source_zone="a",dest_zone="a",dest_service="shop\/catalog",code="200"\} \d+/);
  assert.match(text, /meshfed_request_duration_seconds_bucket\{/);
  assert.equal((await admin(client, '/nope')).statusCode, 404);
});

test('admin /faults refuses invalid settings with path-named errors and keeps the old ones', async () => {
  const bad = await admin(server, '/faults', { method: 'PUT', body: JSON.stringify({ rules: [{ abort: { percent: 150, httpStatus: 503 } }], l4: { latencyMs: -5 } }) });
  assert.equal(bad.statusCode, 400);
  const errors = ((await bad.body.json()) as { errors: string[] }).errors;
  assert.ok(errors.some((e) => e.includes('rules[0].abort.percent')), errors.join('\n'));
  assert.ok(errors.some((e) => e.includes('l4.latencyMs')), errors.join('\n'));
  assert.equal((await admin(server, '/faults', { method: 'PUT', body: 'not json' })).statusCode, 400);
  const now = (await (await admin(server, '/faults')).body.json()) as { rules: unknown[]; l4: { latencyMs: number } };
  assert.deepEqual(now.rules, []);
  assert.equal(now.l4.latencyMs, 0);
});

test('L4 latency set at runtime measurably adds its delay, and clearing it removes it', async () => {
  const sample = async () => {
    const times: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t0 = performance.now();
      assert.equal((await get('/l4')).status, 200);
      times.push(performance.now() - t0);
    }
    return times.sort((a, b) => a - b)[3]!;
  };
  const base = await sample();
  const put = await admin(server, '/faults', { method: 'PUT', body: JSON.stringify({ l4: { latencyMs: 60 } }) });
  assert.equal(put.statusCode, 200);
  await put.body.dump();
  const slow = await sample();
  // Each request crosses the faulty connection once each way: at least 2 x 60 ms more.
  assert.ok(slow - base >= 110, `median ${base.toFixed(1)} ms -> ${slow.toFixed(1)} ms`);
  await (await admin(server, '/faults', { method: 'DELETE' })).body.dump();
  const after = await sample();
  assert.ok(after < base + 60, `after clearing: ${after.toFixed(1)} ms (base ${base.toFixed(1)} ms)`);
});

test('bad input is refused and the process stays up', async () => {
  // Malformed HTTP on the outbound port.
  const raw = net.connect(client.outboundPort, '127.0.0.1');
  raw.write('THIS IS NOT HTTP\r\n\r\n');
  const answer = await readAll(raw);
  assert.match(answer, /^HTTP\/1.1 400/);
  // Oversized headers.
  const big = await request(`http://127.0.0.1:${client.outboundPort}/`, { headers: { host: 'catalog.shop', 'x-big': 'x'.repeat(40_000) } }).then((r) => r.statusCode, () => 'closed');
  assert.ok(big === 431 || big === 'closed', `oversized headers got ${big}`);
  // Plain TCP (cleartext HTTP) on the mTLS port.
  const plain = net.connect(server.inboundPort, '127.0.0.1');
  plain.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
  await readAll(plain);
  // A client certificate from a foreign root.
  const foreign = await createTestPki({ trustDomain: 'mesh.test' });
  const intruder = await foreign.issue('spiffe://mesh.test/ns/shop/sa/web', { usages: ['client'] });
  const tlsSock = tls.connect({ port: server.inboundPort, host: '127.0.0.1', cert: intruder.chainPem, key: intruder.keyPem, rejectUnauthorized: false, servername: 'x.test', ALPNProtocols: ['http/1.1'] });
  tlsSock.on('error', () => {});
  tlsSock.on('secureConnect', () => tlsSock.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n'));
  const foreignAnswer = await readAll(tlsSock);
  assert.doesNotMatch(foreignAnswer, /HTTP\/1.1 200/);
  // Counted, and the data path still works.
  const metrics = await (await admin(server, '/metrics')).body.text();
  assert.match(metrics, /meshfed_connections_refused_total\{listener="inbound",reason="not-tls"\} [1-9]/);
  assert.match(metrics, /meshfed_connections_refused_total\{listener="inbound",reason="bad-client-certificate"\} [1-9]/);
  assert.equal((await get('/still-up')).status, 200);
});

test('the client sidecar refuses a destination presenting the wrong SPIFFE ID', async (t) => {
  const wrong = structuredClone(clientRaw) as { services: Record<string, { identity?: string }> };
  wrong.services['shop/catalog']!.identity = 'spiffe://mesh.test/ns/shop/sa/someone-else';
  client.applyConfig(parseSidecarConfig(JSON.stringify(wrong), 'wrong-id.json'));
  t.after(() => client.applyConfig(parseSidecarConfig(JSON.stringify(clientRaw), 'client.json')));
  const r = await get('/identity');
  assert.equal(r.status, 503);
  assert.match(r.body, /connect to .* failed/);
  assert.ok(serverIdentity.endsWith('/sa/catalog'));
});

async function readAll(sock: net.Socket | tls.TLSSocket): Promise<string> {
  const chunks: Buffer[] = [];
  sock.on('data', (c: Buffer) => chunks.push(c));
  sock.on('error', () => {});
  await once(sock, 'close');
  return Buffer.concat(chunks).toString('latin1');
}
