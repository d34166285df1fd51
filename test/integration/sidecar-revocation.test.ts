// Inbound mTLS runs trust/'s verifyPeer: a caller under a revoked intermediate is refused (HTTP/1.1 and HTTP/2), the same caller is let in once it is not revoked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { request } from 'undici';
import { X509Certificate } from 'node:crypto';
import { createTestPki, type TestPki } from '../../trust/testing.ts';
import { TlsCredentialSource } from '../../trust/tls.ts';
import { revokeSerial } from '../../trust/bundle.ts';
import { parseSidecarConfig } from '../../api/sidecar-config.ts';
import { startSidecar, type Sidecar } from '../../sidecar/server/sidecar.ts';
import { bareStack, quietLogger, startEchoApp, type EchoReply } from './sidecar-support.ts';

const cleanups: (() => unknown)[] = [];
const hooks = { after: (fn: () => unknown) => { cleanups.push(fn); } };
after(async () => { for (const fn of cleanups.reverse()) await Promise.resolve().then(fn).catch(() => {}); });

const WEB = 'spiffe://mesh.test/ns/shop/sa/web';
const CATALOG = 'spiffe://mesh.test/ns/shop/sa/catalog';
let pki: TestPki;
let server: Sidecar;
let client: Sidecar;
let serverSource: TlsCredentialSource;
let app: Awaited<ReturnType<typeof startEchoApp>>;
let caller: { chainPem: string; keyPem: string };

before(async () => {
  pki = await createTestPki({ trustDomain: 'mesh.test' });
  // The caller is under the east intermediate (the one revoked below); the server under west, so only the caller's chain is affected.
  caller = await pki.issue(WEB, { usages: ['server', 'client'] });
  const catalog = await pki.issue(CATALOG, { ca: pki.west, usages: ['server', 'client'] });
  const eastSerial = new X509Certificate(pki.east.certPem).serialNumber;
  serverSource = new TlsCredentialSource({ certChainPem: catalog.chainPem, keyPem: catalog.keyPem, bundle: revokeSerial(pki.bundle, eastSerial) });
  app = await startEchoApp(hooks, 'catalog-1', 'a');
  const base = { zones: { a: { network: 'n1' } }, trustDomain: 'mesh.test' };
  server = await startSidecar({
    service: 'shop/catalog', zone: 'a', appPort: app.port, logger: quietLogger(), stack: bareStack, tls: serverSource,
    config: parseSidecarConfig(JSON.stringify(base), 'server.json'),
  });
  hooks.after(() => server.close());
  client = await startSidecar({
    service: 'shop/web', zone: 'a', appPort: 1, logger: quietLogger(), stack: bareStack,
    tls: new TlsCredentialSource({ certChainPem: caller.chainPem, keyPem: caller.keyPem, bundle: pki.bundle }),
    config: parseSidecarConfig(JSON.stringify({
      ...base, services: { 'shop/catalog': { port: 8080, identity: CATALOG, endpoints: { a: [`127.0.0.1:${server.inboundPort}`] } } },
    }), 'client.json'),
  });
  hooks.after(() => client.close());
});

/** One GET straight to the inbound port over TLS with ALPN h2, presenting the caller's chain. */
async function h2Get(path: string): Promise<{ status: number; body: string; alpn: string | false } | { error: string }> {
  const session = http2.connect(`https://127.0.0.1:${server.inboundPort}`, {
    cert: caller.chainPem, key: caller.keyPem, ca: pki.root.certPem, servername: 'catalog.shop', checkServerIdentity: () => undefined,
  });
  try {
    return await new Promise((resolve) => {
      session.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
      session.on('close', () => resolve({ error: 'session closed' }));
      const req = session.request({ ':path': path, ':authority': 'catalog.shop' });
      req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
      let status = 0;
      let body = '';
      req.on('response', (h) => { status = Number(h[':status']); });
      req.setEncoding('utf8');
      req.on('data', (d: string) => { body += d; });
      // A refused connection ends the stream without any response headers.
      req.on('end', () => resolve(status === 0 ? { error: 'ended without a response' } : { status, body, alpn: session.alpnProtocol ?? false }));
    });
  } finally {
    session.destroy();
  }
}

async function metricsText(): Promise<string> {
  return (await request(`http://127.0.0.1:${server.adminPort}/metrics`)).body.text();
}

test('a caller whose intermediate is revoked in the bundle is refused on inbound, HTTP/1.1 and HTTP/2', async () => {
  const viaSidecar = await request(`http://127.0.0.1:${client.outboundPort}/revoked`, { headers: { host: 'catalog.shop' } });
  await viaSidecar.body.dump();
  assert.ok(viaSidecar.statusCode === 502 || viaSidecar.statusCode === 503, `a revoked caller got ${viaSidecar.statusCode}`);
  const direct = await h2Get('/revoked-h2');
  assert.ok('error' in direct, `a revoked caller over HTTP/2 got ${JSON.stringify(direct)}`);
  assert.equal(app.requests(), 0, 'no request of a revoked caller reached the app');
  const metrics = await metricsText();
  assert.match(metrics, /meshfed_trust_peer_rejected_total\{code="MESHFED_E_CERT_REVOKED"\} [2-9]/);
  assert.match(metrics, /meshfed_connections_refused_total\{listener="inbound",reason="bad-client-certificate"\} [2-9]/);
});

test('the same caller is accepted once the bundle no longer revokes it, and its identity reaches the app', async () => {
  serverSource.updateBundle(pki.bundle);
  const viaSidecar = await request(`http://127.0.0.1:${client.outboundPort}/ok`, { headers: { host: 'catalog.shop' } });
  assert.equal(viaSidecar.statusCode, 200);
  const body = (await viaSidecar.body.json()) as EchoReply;
  assert.equal(body.headers['x-forwarded-client-cert'], `URI=${WEB}`);
  // Several streams on one HTTP/2 connection: the session must keep serving after the first.
  const session = http2.connect(`https://127.0.0.1:${server.inboundPort}`, {
    cert: caller.chainPem, key: caller.keyPem, ca: pki.root.certPem, servername: 'catalog.shop', checkServerIdentity: () => undefined,
  });
  hooks.after(() => session.destroy());
  for (let i = 0; i < 3; i++) {
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = session.request({ ':path': `/ok-h2-${i}`, ':authority': 'catalog.shop' });
      let status = 0;
      let text = '';
      req.on('response', (h) => { status = Number(h[':status']); });
      req.setEncoding('utf8');
      req.on('data', (d: string) => { text += d; });
      req.on('end', () => resolve({ status, body: text }));
      req.on('error', reject);
    });
    assert.equal(reply.status, 200);
    const echo = JSON.parse(reply.body) as EchoReply;
    assert.equal(echo.path, `/ok-h2-${i}`);
    assert.equal(echo.headers['x-forwarded-client-cert'], `URI=${WEB}`);
  }
  assert.equal(session.alpnProtocol, 'h2');
  const one = await h2Get('/ok-h2-fresh');
  assert.ok(!('error' in one) && one.status === 200 && one.alpn === 'h2', JSON.stringify(one));
  assert.match(await metricsText(), /meshfed_trust_peer_accepted_total [1-9]/);
});
