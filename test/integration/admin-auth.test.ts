// Every admin API on real sockets with --admin-tokens: global-lb, zone agent, sidecar and gateway each refuse a
// write without a token (401) and with the read role (403), take it with the write role, refuse a form or
// cross-origin POST, answer reads only with a token, and keep /healthz, /ready(z) and /metrics open.
import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { startGlobalLb } from '../../global-lb/index.ts';
import { openStore } from '../../global-lb/store/index.ts';
import { startZoneAgent } from '../../zone-agent/agent.ts';
import { startSidecar } from '../../sidecar/server/sidecar.ts';
import { startGatewayProcess } from '../../sidecar/gateway/process.ts';
import { parseSidecarConfig } from '../../api/sidecar-config.ts';
import { hashToken, loadAdminAuth } from '../../common/admin-auth.ts';
import { bareStack, diskPki, quietLogger, tempDir } from './sidecar-support.ts';

interface Route { readonly method: string; readonly path: string; readonly body?: unknown }

/** What each admin API exposes: its writes, a read that needs a token, and the paths open by choice. */
interface Surface { readonly name: string; readonly url: string; readonly writes: readonly Route[]; readonly read: string; readonly open: readonly string[] }

async function call(url: string, r: Route, headers: Record<string, string> = {}): Promise<number> {
  const body = r.body === undefined ? undefined : JSON.stringify(r.body);
  const res = await fetch(`${url}${r.path}`, { method: r.method, headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers }, ...(body !== undefined ? { body } : {}) });
  await res.arrayBuffer();
  return res.status;
}

test('every admin API with --admin-tokens: 401 without a token, 403 for the read role, accepted for the write role, forms and other origins refused', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t, 'meshfed-admin-auth-');
  const file = join(dir, 'tokens.json');
  writeFileSync(file, JSON.stringify({ tokens: [{ name: 'viewer', role: 'read', sha256: hashToken('READ') }, { name: 'ops', role: 'write', sha256: hashToken('WRITE') }] }));
  const adminAuth = loadAdminAuth(file);
  const logger = quietLogger();
  const store = await openStore({ kind: 'memory' });
  const lb = await startGlobalLb({ store, replicaId: 'r1', insecure: true, grpcListen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 }, heartbeatMs: 300, leaseTtlSeconds: 3, processMetrics: false, logger, adminAuth });
  t.after(async () => { await lb.close(); await store.close(); });
  const staticFile = join(dir, 'static.json');
  writeFileSync(staticFile, JSON.stringify({ services: [{ namespace: 'shop', name: 'web', endpoints: [{ address: '127.0.0.1:1' }] }] }));
  const agent = await startZoneAgent({
    locality: { cloud: 'sim', region: 'r1', zone: 'a' }, cluster: 'c', network: 'n', trustDomain: 'mesh.test', globalLb: [`127.0.0.1:${lb.grpcPort}`], insecure: true,
    discovery: { kind: 'static', file: staticFile }, stateDir: join(dir, 'agent'), relayListen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 },
    rttIntervalMs: 0, logger, processMetrics: false, adminAuth,
  });
  t.after(() => agent.stop());
  const certs = await (await diskPki()).workload(dir, 'shop', 'web');
  const config = parseSidecarConfig(JSON.stringify({ zones: { a: { network: 'n' } }, trustDomain: 'mesh.test', certificates: certs.files }), 'sidecar.json');
  const sidecar = await startSidecar({ service: 'shop/web', zone: 'a', appPort: 1, logger, stack: bareStack, config, adminAuth });
  t.after(() => sidecar.close());
  const gateway = await startGatewayProcess({ zone: 'a', host: '127.0.0.1', port: 0, config, logger, adminAuth });
  t.after(() => gateway.close());

  const faults: Route[] = [{ method: 'PUT', path: '/faults', body: { rules: [] } }, { method: 'PATCH', path: '/faults', body: { l4: { latencyMs: 0 } } }, { method: 'DELETE', path: '/faults' }];
  const surfaces: Surface[] = [
    {
      name: 'global-lb', url: lb.adminUrl, read: '/v1/weights', open: ['/healthz', '/readyz', '/metrics', '/ui/'],
      writes: [{ method: 'POST', path: '/v1/zones/a/drain' }, { method: 'POST', path: '/v1/zones/a/undrain' }, { method: 'PUT', path: '/v1/policies/shop/web', body: { holdDown: '1s' } }, { method: 'DELETE', path: '/v1/policies/shop/web' }, { method: 'PUT', path: '/v1/trust/bundle', body: {} }],
    },
    { name: 'zone agent', url: `http://127.0.0.1:${agent.adminPort}`, read: '/v1/status', open: ['/healthz', '/metrics'], writes: [{ method: 'POST', path: '/v1/status' }] },
    { name: 'sidecar', url: `http://127.0.0.1:${sidecar.adminPort}`, read: '/stats', open: ['/ready', '/metrics'], writes: faults },
    { name: 'gateway', url: `http://127.0.0.1:${gateway.adminPort}`, read: '/config_dump', open: ['/ready', '/metrics'], writes: faults },
  ];
  for (const s of surfaces) {
    for (const w of s.writes) {
      const what = `${s.name} ${w.method} ${w.path}`;
      assert.equal(await call(s.url, w), 401, `${what} without a token`);
      assert.equal(await call(s.url, w, { authorization: 'Bearer READ' }), 403, `${what} with the read role`);
      const accepted = await call(s.url, w, { authorization: 'Bearer WRITE' });
      assert.ok(accepted !== 401 && accepted !== 403, `${what} with the write role reaches the route (got ${accepted})`);
      // A form on any web page: cross-origin and not JSON. Refused before the token is even looked at.
      const form = await fetch(`${s.url}${w.path}`, { method: w.method, headers: { authorization: 'Bearer WRITE', origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' }, body: 'zone=a' });
      assert.equal(form.status, 403, `${what} from another origin`);
      const plain = await fetch(`${s.url}${w.path}`, { method: w.method, headers: { authorization: 'Bearer WRITE', 'content-type': 'text/plain' }, body: '{}' });
      assert.equal(plain.status, 415, `${what} with a text/plain body`);
      assert.equal(((await plain.json()) as { error: { code: string } }).error.code, 'MESHFED_E_ADMIN_CONTENT_TYPE');
    }
    const anonymous = await fetch(`${s.url}${s.read}`);
    assert.equal(anonymous.status, 401, `${s.name} GET ${s.read} without a token`);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.equal(((await anonymous.json()) as { error: { code: string } }).error.code, 'MESHFED_E_ADMIN_UNAUTHENTICATED');
    assert.equal((await fetch(`${s.url}${s.read}`, { headers: { authorization: 'Bearer READ' } })).status, 200, `${s.name} GET ${s.read} with the read role`);
    for (const p of s.open) assert.notEqual((await fetch(`${s.url}${p}`)).status, 401, `${s.name} ${p} stays open`);
  }
});
