// East-west through a gateway on real sockets: another network is reached by SNI passthrough, mTLS stays end to end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { request } from 'undici';
import { parseSidecarConfig, type SidecarConfig } from '../../api/sidecar-config.ts';
import { startSidecar, type Sidecar } from '../../sidecar/server/sidecar.ts';
import { startGateway, type Gateway } from '../../sidecar/gateway/gateway.ts';
import { gatewayResolver } from '../../sidecar/gateway/routes.ts';
import { createRegistry, type Registry } from '../../common/metrics.ts';
import { diskPki, quietLogger, startEchoApp, tempDir, type EchoReply } from './sidecar-support.ts';

const cleanups: (() => unknown)[] = [];
const hooks = { after: (fn: () => unknown) => { cleanups.push(fn); } };
after(async () => { for (const fn of cleanups.reverse()) await Promise.resolve().then(fn).catch(() => {}); });

let client: Sidecar;
let gateway: Gateway;
let gwRegistry: Registry;
let tapped: Buffer[] = [];
let destination: Sidecar;
let clientRaw: Record<string, unknown> = {};

before(async () => {
  const dir = tempDir(hooks);
  const pki = await diskPki();
  const app = await startEchoApp(hooks, 'orders-c0', 'c');
  // The destination's certificate comes from the other cluster's intermediate: one root, two clusters.
  const ordersCerts = await pki.workload(dir, 'shop', 'orders', { west: true });
  const webCerts = await pki.workload(dir, 'shop', 'web');
  destination = await startSidecar({
    service: 'shop/orders', zone: 'c', appPort: app.port, logger: quietLogger(),
    config: parseSidecarConfig(JSON.stringify({ trustDomain: 'mesh.test', zones: { c: { network: 'n2' } }, certificates: ordersCerts.files }), 'orders.json'),
  });
  hooks.after(() => destination.close());
  // A tap between gateway and destination records the bytes the gateway forwards.
  const tap = net.createServer((s) => {
    const up = net.connect(destination.inboundPort, '127.0.0.1');
    s.on('data', (d: Buffer) => tapped.push(d));
    s.pipe(up).pipe(s);
    s.on('error', () => up.destroy());
    up.on('error', () => s.destroy());
  });
  tap.listen(0, '127.0.0.1');
  await once(tap, 'listening');
  hooks.after(() => new Promise((r) => tap.close(r)));
  const tapPort = (tap.address() as net.AddressInfo).port;

  const shared = (gw: number) => ({
    trustDomain: 'mesh.test',
    zones: { a: { network: 'n1' }, c: { network: 'n2', gateway: `127.0.0.1:${gw}` } },
    services: { 'shop/orders': { port: 9090, identity: ordersCerts.spiffeId, endpoints: { c: [`127.0.0.1:${tapPort}`] } } },
  });
  // The gateway reads the same config shape, but no certificates: it holds no workload key.
  let cfg: SidecarConfig = parseSidecarConfig(JSON.stringify(shared(1)), 'gateway.json');
  gwRegistry = createRegistry({ processMetrics: false });
  gateway = await startGateway({ host: '127.0.0.1', port: 0, logger: quietLogger(), registry: gwRegistry, resolve: gatewayResolver(cfg, 'c') });
  hooks.after(() => gateway.close());
  clientRaw = { ...shared(gateway.port), certificates: webCerts.files };
  cfg = parseSidecarConfig(JSON.stringify(clientRaw), 'client.json');
  client = await startSidecar({ service: 'shop/web', zone: 'a', appPort: 1, logger: quietLogger(), config: cfg });
  hooks.after(() => client.close());
});

test('a request to another network goes through its gateway and the destination sees the caller identity', async () => {
  tapped = [];
  const res = await request(`http://127.0.0.1:${client.outboundPort}/orders/1`, { headers: { host: 'orders.shop' } });
  assert.equal(res.statusCode, 200, `${String(res.headers['x-meshfed-reason'])}`);
  const body = (await res.body.json()) as EchoReply;
  assert.equal(body.name, 'orders-c0');
  assert.equal(body.headers['x-forwarded-client-cert'], 'URI=spiffe://mesh.test/ns/shop/sa/web');
  const metrics = await gwRegistry.metrics();
  assert.match(metrics, /meshfed_gateway_connections_total\{host="orders.shop.svc.meshfed"\} [1-9]/);
  // What crossed the gateway is TLS from the first byte, and the request path never appears in clear.
  const bytes = Buffer.concat(tapped);
  assert.equal(bytes[0], 0x16, 'first forwarded byte is a TLS handshake record');
  assert.equal(bytes.includes(Buffer.from('/orders/1')), false, 'the request line must not be visible to the gateway');
  assert.equal(bytes.includes(Buffer.from('outbound_.9090_._.orders.shop.svc.meshfed')), true, 'the SNI names the target');
});

test('the gateway closes and counts an unknown SNI and a connection that is not TLS, and keeps serving', async () => {
  const unknown = tls.connect({ port: gateway.port, host: '127.0.0.1', servername: 'outbound_.9090_._.nope.shop.svc.meshfed', rejectUnauthorized: false });
  unknown.on('error', () => {});
  await closed(unknown);
  assert.equal(unknown.authorized, false);
  const notRouted = tls.connect({ port: gateway.port, host: '127.0.0.1', servername: 'orders.shop.example', rejectUnauthorized: false });
  notRouted.on('error', () => {});
  await closed(notRouted);
  const plain = net.connect(gateway.port, '127.0.0.1');
  plain.on('error', () => {});
  plain.write('GET / HTTP/1.1\r\nhost: orders.shop\r\n\r\n');
  await closed(plain);
  const metrics = await gwRegistry.metrics();
  assert.match(metrics, /meshfed_gateway_connections_refused_total\{reason="unknown-sni"\} 2/);
  assert.match(metrics, /meshfed_gateway_connections_refused_total\{reason="not-tls"\} 1/);
  const again = await request(`http://127.0.0.1:${client.outboundPort}/`, { headers: { host: 'orders.shop' } });
  assert.equal(again.statusCode, 200);
  await again.body.dump();
});

test('through the gateway the client still checks the destination identity: a wrong expectation fails closed', async (t) => {
  const raw = structuredClone(clientRaw) as { services: Record<string, { identity: string }> };
  raw.services['shop/orders']!.identity = 'spiffe://mesh.test/ns/shop/sa/not-orders';
  client.applyConfig(parseSidecarConfig(JSON.stringify(raw), 'wrong.json'));
  t.after(() => client.applyConfig(parseSidecarConfig(JSON.stringify(clientRaw), 'client.json')));
  const res = await request(`http://127.0.0.1:${client.outboundPort}/`, { headers: { host: 'orders.shop' } });
  assert.equal(res.statusCode, 503, await res.body.text());
});

/** Resolves when the socket closes (events.once would reject on the 'error' that precedes it). */
function closed(sock: net.Socket): Promise<void> {
  return new Promise((resolve) => sock.once('close', () => resolve()));
}
