// Integration: the adapter's Runtime API commands against a real HAProxy: weights, maintenance, add and del server apply without a reload; a bad config names HAProxy's error line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSidecarConfig } from '../../api/sidecar-config.ts';
import { createLogger } from '../../common/logger.ts';
import { createTestPki } from '../../trust/testing.ts';
import { buildProxyModel, haproxyBinary, parseShowStat, planChange, renderHaproxyConfig, RuntimeApi, startHaproxy, type KnownEndpoints } from '../../proxy/index.ts';

const BIN = haproxyBinary();
const skip = spawnSync(BIN, ['-v']).status !== 0 ? `${BIN} does not run (apt-get install -y haproxy)` : false;

async function freePort(): Promise<number> {
  const s: Server = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return p;
}

function config(endpoints: Record<string, string[]>, weights: Record<string, number>) {
  return parseSidecarConfig(JSON.stringify({
    zone: 'a', zones: { a: { network: 'n1' }, b: { network: 'n1' } },
    services: { 'shop/catalog': { endpoints: Object.fromEntries(Object.entries(endpoints).map(([z, l]) => [z, l.map((address) => ({ address }))])), weights, tiers: { a: 0, b: 1 } } },
  }), 'test');
}

test('weights, maintenance, add server and del server go through the Runtime API of HAProxy 2.6 with no reload', { skip, timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-haproxy-rt-'));
  const pki = await createTestPki({ trustDomain: 'it.test' });
  const w = await pki.issue('spiffe://it.test/ns/shop/sa/web', { usages: ['server', 'client'] });
  const files = {
    host: '127.0.0.1', outboundPort: await freePort(), inboundPort: await freePort(), adminPort: await freePort(), appPort: await freePort(),
    adminSocket: join(dir, 'admin.sock'), certFile: join(dir, 'workload.pem'), caFile: join(dir, 'bundle.pem'),
  };
  writeFileSync(files.certFile, `${w.chainPem.trim()}\n${w.keyPem.trim()}\n`);
  writeFileSync(files.caFile, pki.root.certPem);
  const [p1, p2, p3, p4] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const eps = { a: [`127.0.0.1:${p1}`, `127.0.0.1:${p2}`], b: [`127.0.0.1:${p3}`] };
  const m0 = buildProxyModel(config(eps, { a: 7000, b: 3000 }), 'a');
  writeFileSync(join(dir, 'haproxy.cfg'), renderHaproxyConfig(m0, files));
  const h = await startHaproxy({ bin: BIN, configFile: join(dir, 'haproxy.cfg'), adminSocket: files.adminSocket, masterSocket: join(dir, 'master.sock'), logger: createLogger({ component: 'test', level: 'error' }) });
  t.after(async () => {
    await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const api = new RuntimeApi(files.adminSocket);
  const pid = await h.workerPid();
  const apply = async (from: typeof m0, to: typeof m0) => {
    const c = planChange(from, to, files);
    assert.equal(c.kind, 'runtime', JSON.stringify(c));
    for (const cmd of c.kind === 'runtime' ? c.commands : []) await api.exec(cmd);
  };
  const servers = async (backend: string) => Object.fromEntries(parseShowStat(await api.show('show stat')).filter((r) => r['pxname'] === backend && r['svname'] !== 'BACKEND').map((r) => [r['svname'], `${r['status']?.split(' ')[0]}/${r['weight']}`]));

  // Weights move.
  const m1 = buildProxyModel(config(eps, { a: 2000, b: 8000 }), 'a');
  await apply(m0, m1);
  const s1 = await servers('shop.catalog');
  assert.equal(s1[`a_127.0.0.1_${p1}`]?.split('/')[1], '32', '2000 bp over 2 servers against 8000 on 1: 1000/8000 × 256');
  assert.equal(s1[`b_127.0.0.1_${p3}`]?.split('/')[1], '256');

  // An endpoint the agent marks unhealthy goes to maintenance, in every backend.
  const known: KnownEndpoints = { 'shop/catalog': { a: [{ host: '127.0.0.1', port: p1, healthy: true }, { host: '127.0.0.1', port: p2, healthy: false }] } };
  const m2 = buildProxyModel(config({ ...eps, a: [`127.0.0.1:${p1}`] }, { a: 2000, b: 8000 }), 'a', known);
  await apply(m1, m2);
  assert.match((await servers('shop.catalog'))[`a_127.0.0.1_${p2}`] ?? '', /^MAINT/);
  assert.match((await servers('shop.catalog.tier0'))[`a_127.0.0.1_${p2}`] ?? '', /^MAINT/);

  // A new endpoint is added (with the full TLS and check parameters), then removed again.
  const grown = buildProxyModel(config({ ...eps, b: [`127.0.0.1:${p3}`, `127.0.0.1:${p4}`] }, { a: 2000, b: 8000 }), 'a');
  await apply(m1, grown);
  for (const b of ['shop.catalog', 'shop.catalog.tier0', 'shop.catalog.tier1']) assert.ok((await servers(b))[`b_127.0.0.1_${p4}`], `${b} has the added server`);
  // b's 8000 bp now over two servers (4000 each, the largest: 256), a's 1000 each: 64.
  const sg = await servers('shop.catalog');
  assert.deepEqual([sg[`b_127.0.0.1_${p4}`]?.split('/')[1], sg[`b_127.0.0.1_${p3}`]?.split('/')[1], sg[`a_127.0.0.1_${p1}`]?.split('/')[1]], ['256', '256', '64']);
  await apply(grown, m1);
  for (const b of ['shop.catalog', 'shop.catalog.tier0', 'shop.catalog.tier1']) assert.equal((await servers(b))[`b_127.0.0.1_${p4}`], undefined, `${b} lost the server`);

  assert.equal(await h.workerPid(), pid, 'same worker: nothing reloaded');
  assert.equal(await h.reloads(), 0);

  // A structure change is a seamless reload: a new worker, the master counts it.
  const m3 = buildProxyModel({ ...config(eps, { a: 5000, b: 5000 }), zones: { a: { network: 'n1' }, b: { network: 'n1' }, c: { network: 'n1' } } }, 'a');
  assert.equal(planChange(m1, m3, files).kind, 'reload');
  writeFileSync(join(dir, 'haproxy.cfg'), renderHaproxyConfig(m3, files));
  await h.reload();
  assert.notEqual(await h.workerPid(), pid);
  assert.equal(await h.reloads(), 1);
});

test('HAProxy refusing to start is reported with its own error line', { skip, timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-haproxy-bad-'));
  try {
    writeFileSync(join(dir, 'haproxy.cfg'), 'global\n  frobnicate yes\n');
    await assert.rejects(
      startHaproxy({ bin: BIN, configFile: join(dir, 'haproxy.cfg'), adminSocket: join(dir, 'a.sock'), masterSocket: join(dir, 'm.sock'), logger: createLogger({ component: 'test', level: 'error' }) }),
      (e: Error & { code?: string }) => e.code === 'MESHFED_E_PROXY_START_FAILED' && /\[ALERT\].*unknown keyword 'frobnicate'/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
