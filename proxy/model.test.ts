// Unit tests of the pure HAProxy parts: model (weights, tiers, gateways, health), render, diff (runtime vs reload), stats and refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSidecarConfig } from '../api/sidecar-config.ts';
import { buildProxyModel, backendName, type KnownEndpoints } from './model.ts';
import { renderHaproxyConfig, type RenderOptions } from './render.ts';
import { planChange } from './diff.ts';
import { unsupportedParts, unsupportedOverlayParts } from './unsupported.ts';
import { parseShowStat, totalsFromStat } from './stats.ts';
import { sharesOf } from './weights.ts';

const FILES: RenderOptions = { host: '127.0.0.1', outboundPort: 15001, inboundPort: 15006, adminPort: 15000, appPort: 8080, adminSocket: '/run/x/admin.sock', certFile: '/run/x/workload.pem', caFile: '/run/x/bundle.pem' };

/** A config as the relay translation makes it: three zones, b on another network behind a gateway. */
function config(over: { weights?: Record<string, number>; tiers?: Record<string, number>; endpoints?: Record<string, string[]>; extra?: object } = {}) {
  const endpoints = over.endpoints ?? { a: ['10.0.0.1:80', '10.0.0.2:80'], b: ['10.1.0.1:80'], c: ['10.2.0.1:80'] };
  return parseSidecarConfig(JSON.stringify({
    zone: 'a',
    zones: { a: { network: 'n1' }, b: { network: 'n2', gateway: '192.168.0.9:15443' }, c: { network: 'n1' } },
    services: {
      'shop/catalog': {
        endpoints: Object.fromEntries(Object.entries(endpoints).map(([z, l]) => [z, l.map((address) => ({ address }))])),
        ...(over.weights ? { weights: over.weights } : {}), ...(over.tiers ? { tiers: over.tiers } : {}),
        ...(over.extra ?? {}),
      },
    },
  }), 'test');
}

const weightsOf = (m: ReturnType<typeof buildProxyModel>, backend = 0) => m.services[0]!.backends[backend]!.weights;

test('zone basis points times endpoint shares become server weights', () => {
  const m = buildProxyModel(config({ weights: { a: 7000, b: 3000, c: 0 }, tiers: { a: 0, b: 1, c: 2 } }), 'a');
  const w = weightsOf(m);
  const shares = sharesOf(m.services[0]!.servers.map((s) => w[s.name]!));
  const byZone = (z: string) => m.services[0]!.servers.reduce((sum, s, i) => sum + (s.zone === z ? shares[i]! : 0), 0);
  assert.ok(Math.abs(byZone('a') - 0.7) < 0.004 && Math.abs(byZone('b') - 0.3) < 0.004 && byZone('c') === 0, JSON.stringify(w));
});

test('tier backends follow tier order: rank 0 is the nearest tier, each gives its zones equal shares', () => {
  const m = buildProxyModel(config({ weights: { a: 10000, b: 0, c: 0 }, tiers: { a: 0, b: 2, c: 1 } }), 'a');
  const names = m.services[0]!.backends.map((b) => b.name);
  assert.deepEqual(names, ['shop.catalog', 'shop.catalog.tier0', 'shop.catalog.tier1', 'shop.catalog.tier2']);
  const zonesWithWeight = (i: number) => [...new Set(m.services[0]!.servers.filter((s) => weightsOf(m, i)[s.name]! > 0).map((s) => s.zone))];
  assert.deepEqual([zonesWithWeight(1), zonesWithWeight(2), zonesWithWeight(3)], [['a'], ['c'], ['b']]);
  // The frontend tries them in that order, each only while it has a usable server.
  const cfg = renderHaproxyConfig(m, FILES);
  const order = [...cfg.matchAll(/use_backend (\S+) if mf_svc0 \{ nbsrv/g)].map((x) => x[1]);
  assert.deepEqual(order, names);
});

test('endpoints of a zone on another network go through its gateway with the east-west SNI; direct ones verify the chain', () => {
  const m = buildProxyModel(config(), 'a');
  const b = m.services[0]!.servers.find((s) => s.zone === 'b')!;
  assert.deepEqual([b.host, b.port, b.sni], ['192.168.0.9', 15443, 'outbound_.80_._.catalog.shop.svc.meshfed']);
  const cfg = renderHaproxyConfig(m, FILES);
  assert.match(cfg, /server a_10\.0\.0\.1_80 10\.0\.0\.1:80 .*ca-file \/run\/x\/bundle\.pem verify required/);
  assert.match(cfg, /server b_10\.1\.0\.1_80 192\.168\.0\.9:15443 .*check-sni outbound_\.80_\._\.catalog\.shop\.svc\.meshfed.*verify none sni str\(outbound_/);
  assert.match(cfg, /bind 127\.0\.0\.1:15006 ssl crt \/run\/x\/workload\.pem ca-file \/run\/x\/bundle\.pem verify required/);
  // Only the weighted backend checks; the tier backends track it.
  assert.match(cfg, /backend shop\.catalog\.tier0\n(?:.*\n)*?  server a_10\.0\.0\.1_80 10\.0\.0\.1:80 weight \d+ track shop\.catalog\/a_10\.0\.0\.1_80 /);
});

test('the rendered config is valid for the installed HAProxy', { skip: spawnSync('sh', ['-c', 'command -v haproxy || test -x /usr/sbin/haproxy']).status !== 0 ? 'haproxy not installed' : false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-haproxy-render-'));
  try {
    // HAProxy -c opens the certificate files: write a real pair (any self-signed one will do for the syntax check).
    const key = join(dir, 'k.pem');
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=t', '-days', '1', '-keyout', key, '-out', join(dir, 'c.pem')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    writeFileSync(join(dir, 'workload.pem'), spawnSync('cat', [join(dir, 'c.pem'), key], { encoding: 'utf8' }).stdout);
    writeFileSync(join(dir, 'bundle.pem'), spawnSync('cat', [join(dir, 'c.pem')], { encoding: 'utf8' }).stdout);
    const files = { ...FILES, adminSocket: join(dir, 'admin.sock'), certFile: join(dir, 'workload.pem'), caFile: join(dir, 'bundle.pem') };
    const known: KnownEndpoints = { 'shop/catalog': { c: [{ host: '10.2.0.1', port: 80, healthy: true }, { host: '10.2.0.2', port: 80, healthy: false }] } };
    writeFileSync(join(dir, 'haproxy.cfg'), renderHaproxyConfig(buildProxyModel(config({ weights: { a: 5000, b: 5000 }, tiers: { a: 0, b: 1, c: 1 } }), 'a', known), files));
    const check = spawnSync(process.env['MESHFED_HAPROXY_BIN'] ?? 'haproxy', ['-c', '-q', '-f', join(dir, 'haproxy.cfg')], { encoding: 'utf8', env: { ...process.env, PATH: `${process.env['PATH']}:/usr/sbin` } });
    assert.equal(check.status, 0, `${check.stderr}${check.stdout}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('weight and tier changes are Runtime API commands, never a reload', () => {
  const before = buildProxyModel(config({ weights: { a: 7000, b: 3000, c: 0 }, tiers: { a: 0, b: 1, c: 2 } }), 'a');
  const after = buildProxyModel(config({ weights: { a: 0, b: 4000, c: 6000 }, tiers: { a: 2, b: 0, c: 1 } }), 'a');
  const change = planChange(before, after, FILES);
  assert.equal(change.kind, 'runtime');
  const cmds = change.kind === 'runtime' ? change.commands : [];
  assert.ok(cmds.length > 0 && cmds.every((c) => /^set server shop\.catalog(\.tier\d)?\/\S+ weight \d+$/.test(c)), cmds.join('\n'));
  assert.ok(cmds.includes('set server shop.catalog/a_10.0.0.1_80 weight 0'));
  assert.deepEqual(planChange(after, after, FILES), { kind: 'none' });
});

test('an endpoint that fails its probes goes to maintenance and back; a new one is added, a gone one deleted', () => {
  const all = { a: ['10.0.0.1:80', '10.0.0.2:80'], b: ['10.1.0.1:80'], c: ['10.2.0.1:80'] };
  const known = (healthy: boolean): KnownEndpoints => ({ 'shop/catalog': { a: [{ host: '10.0.0.1', port: 80, healthy: true }, { host: '10.0.0.2', port: 80, healthy }] } });
  const up = buildProxyModel(config({ endpoints: all }), 'a', known(true));
  const down = buildProxyModel(config({ endpoints: { ...all, a: ['10.0.0.1:80'] } }), 'a', known(false));
  const c1 = planChange(up, down, FILES);
  assert.equal(c1.kind, 'runtime');
  assert.ok(c1.kind === 'runtime' && c1.commands.includes('set server shop.catalog/a_10.0.0.2_80 state maint'), JSON.stringify(c1));
  const c2 = planChange(down, up, FILES);
  assert.ok(c2.kind === 'runtime' && c2.commands.includes('set server shop.catalog/a_10.0.0.2_80 state ready'));
  const grown = buildProxyModel(config({ endpoints: { ...all, c: ['10.2.0.1:80', '10.2.0.7:80'] } }), 'a');
  const c3 = planChange(buildProxyModel(config({ endpoints: all }), 'a'), grown, FILES);
  assert.ok(c3.kind === 'runtime');
  const cmds = c3.kind === 'runtime' ? c3.commands : [];
  assert.ok(cmds.some((c) => c.startsWith('add server shop.catalog/c_10.2.0.7_80 10.2.0.7:80 weight ')) && cmds.includes('set server shop.catalog/c_10.2.0.7_80 state ready'), cmds.join('\n'));
  assert.ok(!cmds.some((c) => c.includes(' track ')), 'a dynamic server cannot be tracked: it checks on its own');
  const c4 = planChange(grown, buildProxyModel(config({ endpoints: all }), 'a'), FILES);
  const dels = c4.kind === 'runtime' ? c4.commands.filter((c) => c.startsWith('del server')) : [];
  assert.equal(dels[0], 'del server shop.catalog.tier2/c_10.2.0.7_80', 'tier backends first (their servers track the weighted one)');
  assert.equal(dels.at(-1), 'del server shop.catalog/c_10.2.0.7_80');
});

test('a new service or zone is a structure change: a reload, said why', () => {
  const a = buildProxyModel(config(), 'a');
  const cfg = config();
  const b = buildProxyModel({ ...cfg, zones: { ...cfg.zones, d: { network: 'n1' } } }, 'a');
  const change = planChange(a, b, FILES);
  assert.equal(change.kind, 'reload');
  assert.match(change.kind === 'reload' ? change.why : '', /tier backends 3 -> 4/);
});

test('what HAProxy cannot express is refused with its path', () => {
  const cfg = config({ extra: { subsets: { v2: { version: 'v2' } }, routes: [{ name: 'canary', match: [{ headers: [{ name: 'x-canary', exact: 'v2' }] }], subset: 'v2' }] } });
  assert.deepEqual(unsupportedParts(cfg, 'relay state 1').map((l) => l.split(': ').slice(0, 2).join(': ')), ['relay state 1: services["shop/catalog"].routes[0]']);
  assert.deepEqual(unsupportedParts(config(), 'x'), []);
  const overlay = unsupportedOverlayParts({ services: { 'shop/catalog': { routes: [{}] } }, authz: { defaultAction: 'deny' } }, 'overlay.yaml');
  assert.deepEqual(overlay.map((l) => l.split(': ').slice(0, 2).join(': ')), ['overlay.yaml: services["shop/catalog"].routes[0]', 'overlay.yaml: authz']);
});

test('show stat becomes asked totals per destination zone and served totals of the local app', () => {
  const m = buildProxyModel(config(), 'a');
  const header = '# pxname,svname,scur,econ,eresp,status,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,ttime,';
  const text = [header,
    'shop.catalog,a_10.0.0.1_80,1,0,0,UP,0,90,0,5,5,3,',
    'shop.catalog,a_10.0.0.2_80,0,2,1,DOWN,0,10,0,0,0,4,',
    'shop.catalog.tier0,a_10.0.0.1_80,0,0,0,UP,0,7,0,0,0,3,',
    'shop.catalog,BACKEND,1,2,1,UP,0,100,0,5,5,3,',
    'mf_local_app,BACKEND,2,0,0,UP,0,40,0,0,1,2,',
  ].join('\n');
  const t = totalsFromStat(parseShowStat(text), m, 'shop/web');
  const a = t.asked['shop/catalog|a']!;
  assert.deepEqual([a.requests, a.successes, a.http5xx, a.connectFailure, a.reset, a.inFlight, a.endpointsKnown, a.endpointsEjected], [120, 112, 5, 2, 1, 1, 2, 1]);
  assert.equal(a.buckets.reduce((x, y) => x + y, 0), 117, 'every answer is in the histogram');
  const s = t.served['shop/web']!;
  assert.deepEqual([s.requests, s.successes, s.http5xx, s.inFlight], [41, 40, 1, 2]);
  assert.equal(backendName('shop/catalog', 1), 'shop.catalog.tier1');
});
