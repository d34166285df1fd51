// The sidecar's I/O on real sockets and real mTLS: app -> sidecar -> sidecar -> app, identity, traces, admin, bad input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { parseSidecarConfig } from '../../api/sidecar-config.ts';
import { startSidecar, type Sidecar } from '../../sidecar/server/sidecar.ts';
import { bareStack, diskPki, quietLogger, startEchoApp, tempDir, type EchoReply } from './sidecar-support.ts';

const cleanups: (() => unknown)[] = [];
const hooks = { after: (fn: () => unknown) => { cleanups.push(fn); } };
after(async () => { for (const fn of cleanups.reverse()) await fn(); });
let client: Sidecar;
let server: Sidecar;

before(async () => {
  const dir = tempDir(hooks);
  const pki = await diskPki();
  const app = await startEchoApp(hooks, 'catalog-1', 'a');
  const serverCerts = await pki.workload(dir, 'shop', 'catalog');
  const clientCerts = await pki.workload(dir, 'shop', 'web');
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
