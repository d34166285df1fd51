// mTLS over real node:tls sockets with trust/tls.ts: cross-cluster identity, refusals, root rotation, hot reload.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type TLSSocket } from 'node:tls';
import { createServer as createHttpServer } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestPki, type TestPki } from '../../trust/testing.ts';
import { createIntermediateCa, createRootCa, issueWorkload, type WorkloadCert } from '../../trust/ca.ts';
import { addRoots, makeBundle, removeRoot, revokeSerial, rootFingerprint, type TrustBundle } from '../../trust/bundle.ts';
import { TlsCredentialSource, createMtlsServer, mtlsClientOptions, peerIdentity, serveHttp, watchCredentialFiles, type MtlsServer } from '../../trust/tls.ts';
import type { PeerExpectations } from '../../trust/verify.ts';
import { x509 } from '../../trust/x509.ts';

const TD = 'example.org';
const FRONT = `spiffe://${TD}/ns/shop/sa/frontend`;
const CART = `spiffe://${TD}/ns/shop/sa/cart`;
let pki: TestPki;
let front: WorkloadCert; // cluster east
let cart: WorkloadCert; // cluster west
const cleanups: (() => void | Promise<void>)[] = [];

before(async () => {
  pki = await createTestPki({ trustDomain: TD });
  front = await pki.issue(FRONT, { ca: pki.east });
  cart = await pki.issue(CART, { ca: pki.west });
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function creds(w: WorkloadCert, bundle: TrustBundle = pki.bundle): TlsCredentialSource {
  return new TlsCredentialSource({ certChainPem: w.chainPem, keyPem: w.keyPem, bundle });
}

interface EchoServer {
  readonly port: number;
  readonly mtls: MtlsServer;
  readonly seen: string[];
  readonly open: Set<TLSSocket>;
}

/** A TLS server that answers each line with "<its view of the client ID>|<line>". */
async function startEcho(source: TlsCredentialSource, expectations: PeerExpectations = {}): Promise<EchoServer> {
  const seen: string[] = [];
  const open = new Set<TLSSocket>();
  const mtls = createMtlsServer(source, expectations, (socket) => {
    const id = peerIdentity(socket) ?? 'none';
    seen.push(id);
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => {});
    socket.on('data', (d) => socket.write(`${id}|${String(d)}`));
  });
  const port = await mtls.listen(0, '127.0.0.1');
  cleanups.push(() => mtls.close());
  return { port, mtls, seen, open };
}

interface Reply {
  readonly serverId: string | undefined;
  readonly serverSerial: string;
  readonly text: string;
}

/** One request on a fresh connection: connect, send a line, read the answer. Rejects with the connect/verify error. */
function request(port: number, source: TlsCredentialSource, expectations: PeerExpectations = {}, line = 'ping'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port, ...mtlsClientOptions(source, expectations) });
    let text = '';
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('request timed out')); }, 20_000);
    sock.on('secureConnect', () => sock.write(line));
    sock.on('data', (d) => {
      text += String(d);
      if (text.endsWith(line)) {
        clearTimeout(timer);
        const reply = { serverId: peerIdentity(sock), serverSerial: sock.getPeerCertificate().serialNumber.toLowerCase(), text };
        sock.end();
        resolve(reply);
      }
    });
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.on('close', () => { clearTimeout(timer); reject(new Error(`closed before a reply (got "${text}")`)); });
  });
}

async function pollUntil(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

test('workloads in two clusters under one root complete mTLS and each sees the other\'s SPIFFE ID', async () => {
  const server = await startEcho(creds(cart), { spiffeId: FRONT });
  const reply = await request(server.port, creds(front), { spiffeId: CART });
  assert.equal(reply.serverId, CART);
  assert.equal(reply.text, `${FRONT}|ping`);
  assert.deepEqual(server.seen, [FRONT]);
  assert.equal(server.mtls.stats.accepted, 1);
});

test('the server refuses a client with the wrong identity and counts it by code', async () => {
  const server = await startEcho(creds(cart), { spiffeId: `spiffe://${TD}/ns/shop/sa/checkout` });
  await assert.rejects(request(server.port, creds(front)));
  await pollUntil('the refusal to be counted', () => server.mtls.stats.rejected === 1);
  assert.equal(server.mtls.stats.rejectedByCode.get('MESHFED_E_CERT_IDENTITY_MISMATCH'), 1);
  assert.deepEqual(server.seen, []);
});

test('the server refuses a client under a revoked intermediate; the client refuses a server it did not expect', async () => {
  const serial = new x509.X509Certificate(pki.east.certPem).serialNumber;
  const server = await startEcho(creds(cart, revokeSerial(pki.bundle, serial)));
  await assert.rejects(request(server.port, creds(front)));
  await pollUntil('the refusal to be counted', () => server.mtls.stats.rejectedByCode.get('MESHFED_E_CERT_REVOKED') === 1);
  const open = await startEcho(creds(cart));
  await assert.rejects(request(open.port, creds(front), { spiffeId: `spiffe://${TD}/ns/db/sa/postgres` }), (e: Error & { code?: string }) => e.code === 'MESHFED_E_CERT_IDENTITY_MISMATCH');
});

test('a client-only certificate cannot serve, and a client from an unrelated root is refused as an unknown root', async () => {
  const clientOnly = await pki.issue(CART, { ca: pki.west, usages: ['client'] });
  const server = await startEcho(creds(clientOnly));
  // OpenSSL's own purpose check fires before verifyPeer's identical WRONG_USAGE check can.
  await assert.rejects(request(server.port, creds(front)), (e: Error & { code?: string }) => /PURPOSE|WRONG_USAGE/.test(e.code ?? ''));
  const stranger = await createTestPki({ trustDomain: TD });
  const outsider = await stranger.issue(FRONT);
  const good = await startEcho(creds(cart));
  await assert.rejects(request(good.port, new TlsCredentialSource({ certChainPem: outsider.chainPem, keyPem: outsider.keyPem, bundle: makeBundle({ trustDomain: TD, roots: [stranger.root.certPem, pki.root.certPem] }) })));
  await pollUntil('the refusal to be counted', () => good.mtls.stats.rejected === 1);
  assert.equal(good.mtls.stats.rejectedByCode.get('MESHFED_E_CERT_UNKNOWN_ROOT'), 1);
  assert.deepEqual(good.seen, []);
});

test('root rotation by overlap: old and new roots interoperate both ways, old leaves refused after removal', async () => {
  const newRoot = await createRootCa({ trustDomain: TD });
  const newWest = await createIntermediateCa({ root: newRoot, cluster: 'west', trustDomain: TD, nameConstraints: true });
  const newCart = await issueWorkload(newWest, CART);
  const both = addRoots(pki.bundle, newRoot.certPem);
  // old-root client -> new-root server, and new-root client -> old-root server
  const newServer = await startEcho(creds(newCart, both));
  assert.equal((await request(newServer.port, creds(front, both))).serverId, CART);
  const oldServer = await startEcho(creds(front, both));
  assert.equal((await request(oldServer.port, creds(newCart, both))).serverId, FRONT);
  // the old root leaves the bundle: old leaves are refused in both directions
  const onlyNew = removeRoot(both, rootFingerprint(pki.root.certPem));
  assert.equal(onlyNew.roots.length, 1);
  const strict = await startEcho(creds(newCart, onlyNew));
  await assert.rejects(request(strict.port, creds(front, both)));
  await assert.rejects(request(oldServer.port, creds(newCart, onlyNew)));
});

test('hot reload: rotating the server certificate drops no request and keeps open connections', async () => {
  const source = creds(cart);
  const server = await startEcho(source, { spiffeId: FRONT });
  const client = creds(front);
  const oldSerial = new x509.X509Certificate(cart.certPem).serialNumber.toLowerCase();
  // A long-lived connection opened before the rotation must keep working after it.
  const longLived = connect({ host: '127.0.0.1', port: server.port, ...mtlsClientOptions(client, { spiffeId: CART }) });
  cleanups.push(() => { longLived.destroy(); });
  await new Promise<void>((r, j) => { longLived.once('secureConnect', () => r()); longLived.once('error', j); });

  let failures = 0;
  let sent = 0;
  const serials = new Set<string>();
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      sent++;
      try {
        const r = await request(server.port, client, { spiffeId: CART }, `req${sent}`);
        assert.equal(r.serverId, CART);
        serials.add(r.serverSerial);
      } catch {
        failures++;
      }
    }
  })();
  await pollUntil('traffic before the swap', () => sent >= 20);
  const rotated = await pki.issue(CART, { ca: pki.west });
  const newSerial = new x509.X509Certificate(rotated.certPem).serialNumber.toLowerCase();
  source.update({ certChainPem: rotated.chainPem, keyPem: rotated.keyPem, bundle: pki.bundle });
  const atSwap = sent;
  await pollUntil('traffic after the swap to see the new certificate', () => serials.has(newSerial) && sent >= atSwap + 20);
  stop = true;
  await loop;
  assert.equal(failures, 0, `${failures} of ${sent} requests failed`);
  assert.ok(serials.has(oldSerial) && serials.has(newSerial), 'requests were served by both certificates');
  // the pre-rotation connection still answers, on the old certificate
  const echoed = new Promise<string>((r) => longLived.once('data', (d) => r(String(d))));
  longLived.write('still-here');
  assert.equal(await echoed, `${FRONT}|still-here`);
  assert.equal(longLived.getPeerCertificate().serialNumber.toLowerCase(), oldSerial);
});

test('watchCredentialFiles: a half-written rotation is held back, the completed one reaches new handshakes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-trust-watch-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const put = (name: string, text: string) => {
    writeFileSync(join(dir, `${name}.tmp`), text, { mode: 0o600 });
    renameSync(join(dir, `${name}.tmp`), join(dir, name)); // how rotators replace files
  };
  put('chain.pem', cart.chainPem);
  put('key.pem', cart.keyPem);
  put('root-cert.pem', pki.root.certPem);
  const errors: Error[] = [];
  const watcher = watchCredentialFiles({ cert: join(dir, 'chain.pem'), key: join(dir, 'key.pem'), root: join(dir, 'root-cert.pem') }, { onError: (e) => errors.push(e) });
  cleanups.push(() => watcher.close());
  const server = await startEcho(watcher.source);
  const client = creds(front);
  const serialOf = (pem: string) => new x509.X509Certificate(pem).serialNumber.toLowerCase();
  assert.equal((await request(server.port, client, { spiffeId: CART })).serverSerial, serialOf(cart.certPem));

  const rotated = await pki.issue(CART, { ca: pki.west });
  put('chain.pem', rotated.chainPem); // the key is still the old one: inconsistent, must not be applied
  await pollUntil('the watcher to report the mismatch', () => errors.length > 0);
  assert.equal(watcher.source.generation, 0);
  assert.equal((await request(server.port, client, { spiffeId: CART })).serverSerial, serialOf(cart.certPem));
  put('key.pem', rotated.keyPem);
  await pollUntil('the rotation to be applied', () => watcher.source.generation === 1);
  assert.equal((await request(server.port, client, { spiffeId: CART })).serverSerial, serialOf(rotated.certPem));
});

test('serveHttp: HTTP/1.1 over the mTLS server sees the caller identity; a client without a certificate is refused', async () => {
  const mtls = createMtlsServer(creds(cart), { spiffeId: FRONT });
  const http = createHttpServer((req, res) => res.end(`hello ${peerIdentity(req.socket as TLSSocket) ?? 'nobody'}`));
  serveHttp(mtls, http);
  const port = await mtls.listen(0, '127.0.0.1');
  cleanups.push(() => mtls.close());
  const get = (options: object) => new Promise<string>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path: '/', agent: false, ...options }, (res) => {
      let body = '';
      res.on('data', (d) => { body += String(d); });
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(await get(mtlsClientOptions(creds(front), { spiffeId: CART })), `hello ${FRONT}`);
  // No client certificate at all: the server refuses it before HTTP sees the socket.
  await assert.rejects(get({ ca: [pki.root.certPem], checkServerIdentity: () => undefined }));
  await pollUntil('the refusal to be counted', () => mtls.stats.rejected === 1);
  assert.equal(mtls.stats.rejectedByCode.get('MESHFED_E_CERT_MALFORMED'), 1);
  assert.equal(mtls.stats.accepted, 1);
});
