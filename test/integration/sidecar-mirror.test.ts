// Mirroring request bodies through real sidecars with mTLS, and the one shape of locally produced error answers on the wire.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { parseSidecarConfig } from '../../api/sidecar-config.ts';
import { startSidecar, type Sidecar } from '../../sidecar/server/sidecar.ts';
import { diskPki, quietLogger, startEchoApp, tempDir, waitFor, type DiskPki } from './sidecar-support.ts';

const cleanups: (() => unknown)[] = [];
const hooks = { after: (fn: () => unknown) => { cleanups.push(fn); } };
after(async () => { for (const fn of cleanups.reverse()) await Promise.resolve().then(fn).catch(() => {}); });

/** What reached the shadow app: one entry per request, with its body digest once it ended, or how it broke. */
interface Received { path: string; mirrorHeader: string | undefined; bytes: number; sha256?: string; error?: string }

let pki: DiskPki;
let dir = '';
let client: Sidecar;
const received: Received[] = [];
/** Requests to /stall the shadow app is not reading yet (a mirror target that cannot keep up). */
const stalled = new Set<http.IncomingMessage>();
const abandonedEvents: string[] = [];

/** The mirror target's app: records each request body's digest; requests to /stall are left unread until resumed. */
async function startShadowApp(): Promise<number> {
  const server = http.createServer((req, res) => {
    const r: Received = { path: req.url ?? '', mirrorHeader: req.headers['x-meshfed-mirror'] as string | undefined, bytes: 0 };
    received.push(r);
    const hash = createHash('sha256');
    req.on('data', (c: Buffer) => { r.bytes += c.length; hash.update(c); });
    req.on('end', () => { r.sha256 = hash.digest('hex'); res.writeHead(204).end(); });
    req.on('error', (e) => { r.error = e.message; });
    req.on('close', () => { stalled.delete(req); if (r.sha256 === undefined) r.error ??= 'closed before the end'; });
    if (req.url?.startsWith('/stall')) {
      req.pause();
      stalled.add(req);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hooks.after(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return (server.address() as { port: number }).port;
}

async function startServer(service: string, appPort: number): Promise<Sidecar> {
  const sa = service.split('/')[1]!;
  const certs = await pki.workload(dir, 'shop', sa);
  const sc = await startSidecar({
    service, zone: 'a', appPort, logger: quietLogger(),
    config: parseSidecarConfig(JSON.stringify({ trustDomain: 'mesh.test', zones: { a: { network: 'n1' } }, certificates: certs.files }), `${sa}.json`),
  });
  hooks.after(() => sc.close());
  return sc;
}

before(async () => {
  dir = tempDir(hooks);
  pki = await diskPki();
  const echo = await startEchoApp(hooks, 'catalog', 'a');
  const catalog = await startServer('shop/catalog', echo.port);
  const shadow = await startServer('shop/shadow', await startShadowApp());
  const web = await pki.workload(dir, 'shop', 'web');
  const noRetry = { retry: { attempts: 1 } };
  client = await startSidecar({
    service: 'shop/web', zone: 'a', appPort: 1, logger: quietLogger(),
    onEvent: (e) => { if (e.kind === 'mirror-abandoned') abandonedEvents.push(e.reason); },
    config: parseSidecarConfig(JSON.stringify({
      trustDomain: 'mesh.test',
      zones: { a: { network: 'n1' } },
      certificates: web.files,
      services: {
        'shop/catalog': {
          port: 8080, identity: 'spiffe://mesh.test/ns/shop/sa/catalog',
          endpoints: { a: [`127.0.0.1:${catalog.inboundPort}`] },
          routes: [{ name: 'shadow-all', mirror: { service: 'shop/shadow', percent: 100 } }],
          policy: noRetry,
        },
        'shop/shadow': { port: 8080, identity: 'spiffe://mesh.test/ns/shop/sa/shadow', endpoints: { a: [`127.0.0.1:${shadow.inboundPort}`] } },
        'shop/empty': { port: 8080 },
        'shop/dead': { port: 8080, endpoints: { a: ['127.0.0.1:1'] }, policy: noRetry },
      },
    }), 'client.json'),
  });
  hooks.after(() => client.close());
});

/** POSTs `body` through the client sidecar to catalog in 64 KiB chunks (chunked, streamed) and returns what echoed back. */
async function post(path: string, body: Buffer): Promise<{ status: number; echoed: Buffer }> {
  const chunks = function* () { for (let at = 0; at < body.length; at += 65536) yield body.subarray(at, at + 65536); };
  const res = await request(`http://127.0.0.1:${client.outboundPort}${path}`, {
    method: 'POST', headers: { host: 'catalog.shop', 'content-type': 'application/octet-stream' }, body: Readable.from(chunks()),
  });
  return { status: res.statusCode, echoed: Buffer.from(await res.body.arrayBuffer()) };
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

test('a mirrored POST body arrives intact at the mirror target, and the primary still echoes it whole', async () => {
  const body = randomBytes(512 * 1024 + 123); // under the 1 MiB mirror backlog, so the copy cannot be cut off
  const res = await post('/orders?n=1', body);
  assert.equal(res.status, 200);
  assert.equal(sha(res.echoed), sha(body), 'primary body intact');
  const got = await waitFor('the mirror to arrive whole', () => {
    const r = received.find((x) => x.path === '/orders?n=1');
    if (r?.error !== undefined) throw new Error(`mirror broke: ${r.error}`);
    return r?.sha256 !== undefined ? r : undefined;
  });
  assert.equal(got.bytes, body.length);
  assert.equal(got.sha256, sha(body), 'mirror body intact');
  assert.equal(got.mirrorHeader, '1');
});

test('a mirror target that stops reading does not slow or fail the primary; its copy is cut off, never delivered whole', async () => {
  const body = randomBytes(24 * 1024 * 1024); // far beyond the 1 MiB backlog plus every socket buffer on the way
  const before = abandonedEvents.length;
  const res = await post('/stall', body);
  assert.equal(res.status, 200);
  assert.equal(sha(res.echoed), sha(body), 'primary body intact while the mirror target read nothing');
  await waitFor('the mirror to be abandoned', () => (abandonedEvents.length > before ? true : undefined));
  assert.match(abandonedEvents.at(-1)!, /fell more than 1048576 bytes behind/);
  // The target reads again: it gets what was already in flight, then the copy breaks off (a paused socket cannot see
  // the close before that, so this also proves the cut-off reaches the target rather than a truncated "complete" body).
  for (const req of stalled) req.resume();
  const r = await waitFor('the mirror copy to break off', () => {
    const x = received.find((y) => y.path === '/stall');
    return x?.error !== undefined || x?.sha256 !== undefined ? x : undefined;
  });
  assert.equal(r.sha256, undefined, `the mirror copy must not complete (got ${r.bytes} bytes)`);
  assert.ok(r.bytes < body.length, `${r.bytes} bytes`);
});

test('local answers from the layers and from the I/O side carry the same headers', async () => {
  const answers: { status: number; headers: Record<string, string | string[] | undefined>; text: string }[] = [];
  for (const host of ['nope.shop', 'empty.shop', 'dead.shop']) {
    const res = await request(`http://127.0.0.1:${client.outboundPort}/x`, { headers: { host } });
    answers.push({ status: res.statusCode, headers: res.headers, text: await res.body.text() });
  }
  // nope: unknown authority (I/O side, failure()); empty: no endpoints (balance layer); dead: connect failure (upstream).
  assert.deepEqual(answers.map((a) => a.status), [404, 503, 503]);
  assert.deepEqual(answers.map((a) => a.headers['x-meshfed-code']), ['MESHFED_E_SIDECAR_NO_ROUTE', 'MESHFED_E_SIDECAR_NO_HEALTHY_UPSTREAM', 'MESHFED_E_SIDECAR_UPSTREAM_CONNECT']);
  for (const a of answers) {
    assert.equal(a.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(a.text, `meshfed: ${String(a.headers['x-meshfed-reason'])}\n`, 'the reason header is the body, minus the prefix');
  }
});
