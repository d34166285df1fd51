// Tests of the trust faults' parts: which root a chain verifies to, stored bundle parsing, metric sums, and the mTLS probe against trust/'s server on loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { addRoots, bundleToJson, createIntermediateCa, createMtlsServer, createRootCa, issueWorkload, makeBundle, revokeSerial, serveHttp, splitPem, TlsCredentialSource } from '../../trust/index.ts';
import { X509Certificate } from 'node:crypto';
import { parseStored, probeSidecar, rootOfChain, sumSamples, type SidecarTarget } from './trust.ts';

const TD = 'meshfed.local';

test('rootOfChain names the root a leaf chains to, among several, and none for an unrelated root', async () => {
  const oldRoot = await createRootCa({ trustDomain: TD });
  const newRoot = await createRootCa({ trustDomain: TD });
  const other = await createRootCa({ trustDomain: TD });
  const inter = await createIntermediateCa({ root: newRoot, cluster: 'east', trustDomain: TD });
  const leaf = await issueWorkload(inter, `spiffe://${TD}/ns/shop/sa/web`);
  const presented = splitPem(leaf.chainPem);
  assert.equal(rootOfChain(presented, [oldRoot.certPem, newRoot.certPem], TD), newRoot.certPem);
  assert.equal(rootOfChain(presented, [oldRoot.certPem, other.certPem], TD), undefined);
  // A handshake that showed only the leaf still resolves when the intermediate is known.
  assert.equal(rootOfChain(presented.slice(0, 1), [newRoot.certPem], TD), undefined);
  assert.equal(rootOfChain(presented.slice(0, 1), [newRoot.certPem], TD, [inter.certPem]), newRoot.certPem);
  assert.equal(rootOfChain([], [newRoot.certPem], TD), undefined);
});

test('parseStored reads a stored bundle file and gives undefined for none or garbage', async () => {
  const root = await createRootCa({ trustDomain: TD });
  const b = addRoots(makeBundle({ trustDomain: TD }), root.certPem);
  assert.deepEqual(parseStored(bundleToJson(b))?.roots, b.roots);
  assert.equal(parseStored(undefined), undefined);
  assert.equal(parseStored('{"not": "a bundle"}'), undefined);
  assert.equal(parseStored('nope'), undefined);
});

test('sumSamples adds the samples of one metric whose labels pass, ignoring other metrics with the same prefix', () => {
  const text = [
    '# HELP meshfed_upstream_tries_total Outbound tries',
    '# TYPE meshfed_upstream_tries_total counter',
    'meshfed_upstream_tries_total{dest_service="shop/catalog",dest_zone="europe-west1-b",outcome="success"} 40',
    'meshfed_upstream_tries_total{dest_service="shop/catalog",dest_zone="europe-west1-b",outcome="connect_failure"} 3',
    'meshfed_upstream_tries_total{dest_service="shop/catalog",dest_zone="us-east-1a",outcome="reset"} 5',
    'meshfed_upstream_tries_total_other{dest_zone="europe-west1-b",outcome="reset"} 100',
    'meshfed_upstream_tries_total{dest_service="shop/pricing",dest_zone="europe-west1-b",outcome="reset"} 2',
  ].join('\n');
  const failedToGcp = (l: Record<string, string>) => l['dest_zone'] === 'europe-west1-b' && l['outcome'] !== 'success';
  assert.equal(sumSamples(text, 'meshfed_upstream_tries_total', failedToGcp), 5);
  assert.equal(sumSamples(text, 'meshfed_upstream_tries_total', () => true), 50);
  assert.equal(sumSamples('', 'meshfed_upstream_tries_total', () => true), 0);
});

test('probeSidecar: the server\'s chain is shown, a trusted client is answered, an untrusted or revoked one is cut off, a closed port is down', async (t) => {
  const root = await createRootCa({ trustDomain: TD });
  const other = await createRootCa({ trustDomain: TD });
  const east = await createIntermediateCa({ root, cluster: 'east', trustDomain: TD });
  const west = await createIntermediateCa({ root, cluster: 'west', trustDomain: TD });
  const server = await issueWorkload(east, `spiffe://${TD}/ns/shop/sa/catalog`);
  const bundle = revokeSerial(makeBundle({ trustDomain: TD, roots: [root.certPem] }), new X509Certificate(west.certPem).serialNumber);
  const mtls = createMtlsServer(new TlsCredentialSource({ certChainPem: server.chainPem, keyPem: server.keyPem, bundle }), {}, undefined, { alpnProtocols: ['http/1.1'] });
  // The sidecar's own HTTP server: the probe's request line is refused by its parser, never handed to the app.
  let reachedApp = 0;
  serveHttp(mtls, http.createServer(() => void reachedApp++));
  const port = await mtls.listen(0, '127.0.0.1');
  t.after(() => mtls.close());
  const target: SidecarTarget = { name: 'east/catalog-0', zone: 'east-1', cluster: 'east', adminUrl: 'http://127.0.0.1:1', inbound: { host: '127.0.0.1', port } };
  const client = async (ca: Awaited<ReturnType<typeof createIntermediateCa>>) => {
    const w = await issueWorkload(ca, `spiffe://${TD}/ns/meshfed-chaos/sa/trust-probe`, { usages: ['client'] });
    return { certChainPem: w.chainPem, keyPem: w.keyPem };
  };

  const ok = await probeSidecar(target, await client(east));
  assert.equal(ok.verdict, 'accepted', ok.detail);
  assert.match(ok.detail, /^HTTP\/1\.1 400/);
  assert.equal(reachedApp, 0);
  assert.equal(ok.presented.length >= 2, true, 'the leaf and its intermediate');
  assert.equal(new X509Certificate(ok.presented[1]!).serialNumber, new X509Certificate(east.certPem).serialNumber);
  assert.equal(rootOfChain(ok.presented, [other.certPem, root.certPem], TD), root.certPem);

  const untrusted = await probeSidecar(target, await client(await createIntermediateCa({ root: other, cluster: 'x', trustDomain: TD })));
  assert.equal(untrusted.verdict, 'refused', untrusted.detail);
  const revoked = await probeSidecar(target, await client(west));
  assert.equal(revoked.verdict, 'refused', revoked.detail);
  assert.equal(mtls.stats.rejectedByCode.get('MESHFED_E_CERT_REVOKED'), 1);

  await mtls.close();
  const down = await probeSidecar(target, await client(east));
  assert.equal(down.verdict, 'down', down.detail);
});
