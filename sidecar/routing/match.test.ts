// Route matching: every kind of header/cookie/path/method condition, first-match order, canary splits and mirroring.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideRoute, findRoute, matchValue, matchPath, parseCookies } from './match.ts';
import { parseSidecarConfig } from '../../api/sidecar-config.ts';
import { seededRandom } from '../../common/random.ts';

const config = parseSidecarConfig(`
zones: { a: { network: n1 } }
services:
  shop/catalog:
    subsets: { v1: { version: v1 }, v2: { version: v2 } }
    endpoints: { a: ["127.0.0.1:1"] }
    policy: { timeout: 2s, retry: { attempts: 2 } }
    routes:
      - name: admin-only
        match: [ { path: { prefix: /admin }, methods: [get], headers: [ { name: X-Role, exact: admin } ] } ]
        subset: v1
        timeout: 500ms
        retry: { attempts: 5, retryNonIdempotent: true }
      - name: beta-cookie
        match: [ { cookies: [ { name: beta, exact: "1" } ] }, { headers: [ { name: x-beta, present: true } ] } ]
        subset: v2
      - name: canary
        match: [ { path: { regex: "/items/[0-9]+" } } ]
        split: [ { subset: v1, weight: 90 }, { subset: v2, weight: 10 } ]
        mirror: { subset: v2, percent: 25 }
`, 'test.yaml');
const svc = config.services['shop/catalog']!;
const req = (method: string, path: string, headers: Record<string, string | string[]> = {}) => ({ method, path, headers });

test('value matches: exact, prefix, regex (whole value), present, absent, inverted', () => {
  const base = { name: 'h', invert: false };
  assert.equal(matchValue({ ...base, exact: 'a' }, 'a'), true);
  assert.equal(matchValue({ ...base, exact: 'a' }, 'ab'), false);
  assert.equal(matchValue({ ...base, exact: 'a' }, undefined), false);
  assert.equal(matchValue({ ...base, prefix: 'ab' }, 'abc'), true);
  assert.equal(matchValue({ ...base, prefix: 'ab' }, 'xab'), false);
  assert.equal(matchValue({ ...base, regex: 'v[0-9]' }, 'v1'), true);
  assert.equal(matchValue({ ...base, regex: 'v[0-9]' }, 'xv1'), false, 'regex must match the whole value');
  assert.equal(matchValue({ ...base, present: true }, ''), true);
  assert.equal(matchValue({ ...base, present: true }, undefined), false);
  assert.equal(matchValue({ ...base, present: false }, undefined), true);
  assert.equal(matchValue({ ...base, exact: 'a', invert: true }, 'b'), true);
  assert.equal(matchValue({ ...base, exact: 'a', invert: true }, undefined), true);
});

test('path matches ignore the query string', () => {
  assert.equal(matchPath({ exact: '/a' }, '/a?x=1'), true);
  assert.equal(matchPath({ exact: '/a' }, '/a/b'), false);
  assert.equal(matchPath({ prefix: '/a' }, '/ab'), true);
  assert.equal(matchPath({ regex: '/a/[0-9]+' }, '/a/12?q'), true);
  assert.equal(matchPath({ regex: '/a/[0-9]+' }, '/a/12/x'), false);
});

test('cookies are parsed, quoted values unwrapped, first occurrence kept', () => {
  const c = parseCookies('a=1; b="two"; a=3; junk; =x');
  assert.deepEqual([...c], [['a', '1'], ['b', 'two']]);
  assert.equal(parseCookies(undefined).size, 0);
});

test('all conditions of a block must hold: method, path and header', () => {
  assert.equal(findRoute(svc.routes, req('GET', '/admin/x', { 'x-role': 'admin' }))?.name, 'admin-only');
  assert.equal(findRoute(svc.routes, req('POST', '/admin/x', { 'x-role': 'admin' })), undefined);
  assert.equal(findRoute(svc.routes, req('GET', '/admin/x', { 'x-role': 'user' })), undefined);
  assert.equal(findRoute(svc.routes, req('GET', '/other', { 'x-role': 'admin' })), undefined);
});

test('blocks of a route are OR; cookie headers sent as a list are joined', () => {
  assert.equal(findRoute(svc.routes, req('GET', '/', { cookie: ['x=1', 'beta=1'] }))?.name, 'beta-cookie');
  assert.equal(findRoute(svc.routes, req('GET', '/', { 'x-beta': '' }))?.name, 'beta-cookie');
  assert.equal(findRoute(svc.routes, req('GET', '/', { cookie: 'beta=0' })), undefined);
});

test('the first matching route wins', () => {
  // Matches both beta-cookie and canary; beta-cookie is listed first.
  assert.equal(findRoute(svc.routes, req('GET', '/items/3', { 'x-beta': '1' }))?.name, 'beta-cookie');
});

test('a fixed subset and the route timeout and retry override the service policy', () => {
  const d = decideRoute('shop/catalog', svc, req('GET', '/admin', { 'x-role': 'admin' }), () => 0.5).decision;
  assert.deepEqual(d, {
    name: 'admin-only', service: 'shop/catalog', subset: 'v1', timeoutMs: 500,
    retry: { attempts: 5, perTryTimeoutMs: 0, retryOn: ['connect-failure', 'reset', '503'], backoffBaseMs: 25, backoffMaxMs: 250, retryNonIdempotent: true },
    circuitBreaker: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024 },
  });
});

test('no matching route: the default route with the service policy and no subset', () => {
  const d = decideRoute('shop/catalog', svc, req('GET', '/'), () => 0.5).decision;
  assert.equal(d.name, 'default');
  assert.equal(d.subset, undefined);
  assert.equal(d.timeoutMs, 2000);
  assert.equal(d.retry.attempts, 2);
});

test('a weighted split sends 90/10 within ±1.5% and mirrors 25% within ±1.5%', () => {
  const r = seededRandom(11);
  let v2 = 0;
  let mirrored = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const o = decideRoute('shop/catalog', svc, req('GET', '/items/42'), r);
    if (o.decision.subset === 'v2') v2++;
    if (o.mirror) {
      mirrored++;
      assert.deepEqual(o.mirror, { service: 'shop/catalog', subset: 'v2' });
    }
  }
  assert.ok(Math.abs(v2 / n - 0.1) < 0.015, `v2 share ${v2 / n}`);
  assert.ok(Math.abs(mirrored / n - 0.25) < 0.015, `mirror share ${mirrored / n}`);
});
