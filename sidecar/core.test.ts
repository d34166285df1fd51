// createStacks: the factory the I/O side calls wires faults, ejection metrics and authz logging around its handlers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStacks, createBalancer, seededRandom, parseFaultSettings, type ProxyRequest } from './core.ts';
import { parseSidecarConfig } from '../api/sidecar-config.ts';

const config = parseSidecarConfig(`
zones: { a: { network: n1 } }
services:
  shop/catalog:
    endpoints: { a: ["127.0.0.1:1001"] }
    policy: { retry: { attempts: 1 }, outlierDetection: { consecutive5xx: 2 } }
authz: { allow: { shop/catalog: ["spiffe://td/ns/shop/sa/web"] } }
`, 't.yaml');
const req = (over: Partial<ProxyRequest> = {}): ProxyRequest => ({
  method: 'GET', path: '/', authority: 'catalog.shop', headers: {}, body: null, protocol: 'http1', service: 'shop/catalog',
  startedAt: 0, attempt: 0, signal: new AbortController().signal, ...over,
});

test('ejections are counted and logged; authz denials are logged with their reason; runtime faults apply', async () => {
  const random = seededRandom(1);
  const ejections: object[] = [];
  const logs: string[] = [];
  let rules = config.faults.rules;
  const { outbound, inbound } = createStacks({
    config, balancer: createBalancer({ zone: 'a', random, config }), random, clock: () => 1000,
    upstream: () => Promise.resolve({ status: 500, headers: {}, body: null }),
    app: () => Promise.resolve({ status: 200, headers: {}, body: null }),
    faults: () => rules,
    metrics: { ejections: { inc: (l) => ejections.push(l) } },
    logger: { warn: (o, m) => logs.push(`${m} ${JSON.stringify(o)}`), info: (o, m) => logs.push(`${m} ${JSON.stringify(o)}`) },
  });
  await outbound(req());
  await outbound(req());
  assert.deepEqual(ejections, [{ dest_service: 'shop/catalog', zone: 'a' }]);
  assert.equal((await inbound(req({ peerIdentity: 'spiffe://td/ns/x/sa/y' }))).status, 403);
  assert.ok(logs.some((l) => l.startsWith('authz denied') && l.includes('spiffe://td/ns/x/sa/y is not on the allow list')));
  rules = parseFaultSettings({ rules: [{ abort: { httpStatus: 418, percent: 100 } }] }).rules;
  assert.equal((await outbound(req())).status, 418);
});
