// Bad input to a global-lb replica is refused with a clear error and never crashes it: protocol violations and
// malformed or oversized reports on the Federation stream, and invalid policies through the admin API and the CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { MemoryStore } from '../../global-lb/store/index.ts';
import { startGlobalLb, type GlobalLb } from '../../global-lb/index.ts';
import { createLogger } from '../../common/logger.ts';
import { SimAgent, serviceReport } from '../support/agent-client.ts';

const ROOT = join(import.meta.dirname, '..', '..');
let lb: GlobalLb;
let store: MemoryStore;
let dir: string;
const agents: SimAgent[] = [];

function agent(zone: string, o: { noHello?: boolean } = {}): SimAgent {
  const a = new SimAgent({ address: lb.grpcAddress, zone, ...o });
  agents.push(a);
  return a;
}

async function api(method: string, path: string, body?: string): Promise<{ status: number; json: { error?: { code: string; message: string; details: string[] } } & Record<string, unknown> }> {
  const res = await fetch(`${lb.adminUrl}${path}`, { method, ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }) });
  return { status: res.status, json: (await res.json()) as never };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshfed-badinput-'));
  store = new MemoryStore();
  lb = await startGlobalLb({
    store, replicaId: 'r1', insecure: true,
    grpcListen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 },
    heartbeatMs: 200, leaseTtlSeconds: 2, maxReportBytes: 64 * 1024, processMetrics: false,
    logger: createLogger({ component: 'global-lb', level: 'silent' }),
  });
});

after(async () => {
  for (const a of agents) a.close();
  await lb.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function refused(a: SimAgent, code: string): Promise<void> {
  await a.waitFor(() => a.error !== undefined, 10_000, `a StreamError ${code}`);
  assert.equal(a.error?.code, code);
  const status = await a.ended;
  assert.equal(status.code, grpc.status.OK, 'the balancer ends the stream after the StreamError');
}

test('a stream whose first message is not a Hello is refused', async () => {
  const a = agent('z1', { noHello: true });
  a.report([serviceReport('shop', 'cart')]);
  await refused(a, 'MESHFED_E_STREAM_NO_HELLO');
  assert.match(a.error!.message, /first message must be a Hello/);
});

test('a report for a zone other than the Hello\'s is refused and not stored', async () => {
  const a = agent('z2');
  a.report([serviceReport('shop', 'cart')], { zone: 'victim' });
  await refused(a, 'MESHFED_E_STREAM_WRONG_ZONE');
  assert.match(a.error!.message, /"victim".*"z2"/);
  assert.equal(await store.get('/meshfed/v1/zones/victim/report'), undefined);
});

test('malformed reports (NaN, negative, inconsistent counts) are refused with the field named', async () => {
  const cases: [string, Parameters<SimAgent['report']>[0], RegExp][] = [
    ['z3', [{ ...serviceReport('shop', 'cart'), capacity_rps: 'NaN' }], /capacity_rps/],
    ['z4', [{ ...serviceReport('shop', 'cart'), rps: -5 }], /rps/],
    ['z5', [{ ...serviceReport('shop', 'cart'), healthy_endpoints: 9, total_endpoints: 1 }], /healthy_endpoints/],
    ['z6', [{ ...serviceReport('shop', 'cart'), name: '../etc' }], /name/],
  ];
  for (const [zone, services, pattern] of cases) {
    const a = agent(zone);
    a.report(services);
    await refused(a, 'MESHFED_E_REPORT_INVALID');
    assert.match(a.error!.message, pattern);
    assert.equal(await store.get(`/meshfed/v1/zones/${zone}/report`), undefined);
  }
});

test('a second Hello and an invalid Hello are refused', async () => {
  const a = agent('z7');
  a.send({ hello: { locality: { cloud: 'x', region: 'y', zone: 'z7' } } });
  await refused(a, 'MESHFED_E_STREAM_DUPLICATE_HELLO');
  const b = agent('Not A Zone');
  await refused(b, 'MESHFED_E_STREAM_BAD_HELLO');
});

test('an oversized report is refused by the transport and the replica keeps serving', async () => {
  const a = agent('z8');
  const endpoints = Array.from({ length: 5000 }, (_, i) => ({ address: `10.1.${i >> 8}.${i & 255}`, port: 8080 }));
  a.report([serviceReport('shop', 'cart', { endpoints })]);
  const status = await a.ended;
  assert.equal(status.code, grpc.status.RESOURCE_EXHAUSTED);
  assert.equal(await store.get('/meshfed/v1/zones/z8/report'), undefined);
});

test('after all that, a well-behaved agent is served: its report is acked and stored', async () => {
  const a = agent('good');
  const seq = a.report([serviceReport('shop', 'cart')]);
  await a.waitFor(() => a.acks.includes(String(seq)), 10_000, 'the ack');
  assert.ok(await store.get('/meshfed/v1/zones/good/report'));
  const refusals = await (await fetch(`${lb.adminUrl}/metrics`)).text();
  assert.match(refusals, /meshfed_stream_refusals_total\{code="MESHFED_E_STREAM_WRONG_ZONE"\} 1/);
  assert.equal((await fetch(`${lb.adminUrl}/healthz`)).status, 200);
});

test('the admin API refuses invalid policies with path-named errors, bad JSON, oversize bodies and unknown routes', async () => {
  const bad = await api('PUT', '/v1/policies/shop/cart', JSON.stringify({ targetUtilization: 7, failover: { priority: ['continent'] } }));
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error?.code, 'MESHFED_E_POLICY_INVALID');
  assert.ok(bad.json.error!.details.some((d) => /targetUtilization/.test(d)), JSON.stringify(bad.json));
  assert.ok(bad.json.error!.details.some((d) => /failover\.priority\[0\]/.test(d)), JSON.stringify(bad.json));
  const unknownKey = await api('PUT', '/v1/policies/shop/cart', JSON.stringify({ colour: 'red' }));
  assert.equal(unknownKey.status, 400);
  assert.match(unknownKey.json.error!.message, /colour/);
  const mismatch = await api('PUT', '/v1/policies/shop/cart', JSON.stringify({ namespace: 'other', name: 'cart' }));
  assert.equal(mismatch.status, 400);
  const badJson = await api('PUT', '/v1/policies/shop/cart', '{nope');
  assert.equal(badJson.status, 400);
  assert.equal(badJson.json.error?.code, 'MESHFED_E_ADMIN_BAD_REQUEST');
  const huge = await api('PUT', '/v1/policies/shop/cart', JSON.stringify({ pad: 'x'.repeat(400_000) }));
  assert.equal(huge.status, 413);
  assert.equal(huge.json.error?.code, 'MESHFED_E_ADMIN_BODY_TOO_LARGE');
  assert.equal((await api('GET', '/v1/nothing')).status, 404);
  assert.equal((await api('GET', '/v1/policies/shop/cart')).status, 404, 'nothing invalid was stored');
  const good = await api('PUT', '/v1/policies/shop/cart', JSON.stringify({ targetUtilization: 0.7 }));
  assert.equal(good.status, 200);
  assert.equal((await api('GET', '/v1/policies/shop/cart')).status, 200);
  assert.equal((await api('DELETE', '/v1/policies/shop/cart')).status, 200);
});

/** Sends a request with the request-target exactly as written (fetch would normalise it). */
function rawApi(method: string, target: string): Promise<{ status: number; json: { error?: { code: string; message: string } } }> {
  const { hostname, port } = new URL(lb.adminUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path: target }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as never });
        } catch (e) {
          reject(e as Error);
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

test('the admin API answers 400 with a JSON error, not 500, for malformed percent-escapes in path segments', async () => {
  const cases: [string, string, RegExp][] = [
    ['POST', '/v1/zones/%E0%A4%A/drain', /^zone: /],
    ['POST', '/v1/zones/%E0%A4%A/undrain', /^zone: /],
    ['POST', '/v1/zones/%/drain', /^zone: /],
    ['GET', '/v1/policies/%E0%A4%A/cart', /^namespace: /],
    ['PUT', '/v1/policies/shop/%ZZ', /^service: /],
    ['DELETE', '/v1/policies/shop/%E0%A4%A', /^service: /],
    ['GET', '/v1/weights/shop/%C3', /^service: /],
  ];
  for (const [method, target, what] of cases) {
    const r = await rawApi(method, target);
    assert.equal(r.status, 400, `${method} ${target}: ${JSON.stringify(r.json)}`);
    assert.equal(r.json.error?.code, 'MESHFED_E_ADMIN_BAD_REQUEST', `${method} ${target}`);
    assert.match(r.json.error!.message, what, `${method} ${target}`);
    assert.match(r.json.error!.message, /percent-encoding/, `${method} ${target}`);
  }
  // A request-target the URL parser itself refuses (here an absolute-form with port 99999) is a bad request too.
  const unparsable = await rawApi('GET', 'http://admin:99999/v1/zones');
  assert.equal(unparsable.status, 400, JSON.stringify(unparsable.json));
  assert.equal(unparsable.json.error?.code, 'MESHFED_E_ADMIN_BAD_REQUEST');
  // A leading "//" stays part of the path instead of being read as a host name.
  assert.equal((await rawApi('GET', '//v1/zones')).status, 200);
  // Well-formed escapes still decode: %2D is "-", so this drains zone "a-1".
  const escaped = await rawApi('POST', '/v1/zones/a%2D1/drain');
  assert.equal(escaped.status, 200, JSON.stringify(escaped.json));
  assert.ok(await store.get('/meshfed/v1/zones/a-1/drain'));
  assert.equal((await rawApi('POST', '/v1/zones/a-1/undrain')).status, 200);
  assert.equal((await fetch(`${lb.adminUrl}/healthz`)).status, 200, 'the replica keeps serving');
});

/** Runs the real CLI as a child process (asynchronously: the balancer under test lives in this process). */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(join(ROOT, 'node_modules/.bin/node'), [join(ROOT, 'cli/meshfed.ts'), ...args], {
      encoding: 'utf8', env: { ...process.env, MESHFED_ADMIN: lb.adminUrl, MESHFED_LOG_LEVEL: 'silent', ...env }, timeout: 60_000,
    }, (error, stdout, stderr) => resolve({ status: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }));
  });
}

test('the CLI validates policies: exit 1 with FILE: path: message lines, exit 0 when valid, and apply refuses bad files', async () => {
  const badFile = join(dir, 'bad.yaml');
  writeFileSync(badFile, 'namespace: shop\nname: cart\ntargetUtilization: 3\nfailover:\n  priority: [continent]\n');
  const v = await cli(['policy', 'validate', badFile]);
  assert.equal(v.status, 1, v.stderr);
  const lines = v.stderr.trim().split('\n');
  assert.ok(lines.length >= 2);
  for (const line of lines) assert.ok(line.startsWith(`${badFile}: `), line);
  assert.ok(lines.some((l) => l.includes('targetUtilization')));
  const apply = await cli(['policy', 'apply', '-f', badFile]);
  assert.equal(apply.status, 1);
  const goodFile = join(dir, 'good.yaml');
  writeFileSync(goodFile, 'namespace: shop\nname: cart\ntargetUtilization: 0.6\n');
  const ok = await cli(['policy', 'validate', goodFile]);
  assert.equal(ok.status, 0, ok.stderr);
  const applied = await cli(['policy', 'apply', '-f', goodFile]);
  assert.equal(applied.status, 0, applied.stderr);
  const got = await cli(['policy', 'get', 'shop/cart']);
  assert.equal(got.status, 0, got.stderr);
  assert.equal(JSON.parse(got.stdout).targetUtilization, 0.6);
  assert.equal((await cli(['policy', 'validate'])).status, 2);
  assert.equal((await cli(['weights', 'not-a-service'])).status, 2);
  const unreachable = await cli(['zones', '--admin', 'http://127.0.0.1:1']);
  assert.equal(unreachable.status, 1);
  assert.match(unreachable.stderr, /MESHFED_E_ADMIN_UNREACHABLE/);
});
