// The admin authorization rule, exhaustively: roles, open paths, cross-origin and non-JSON writes, query tokens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorizeAdmin, hashToken, isOpenPath, type AdminAuth, type AdminRequest } from './admin-auth.ts';

const auth: AdminAuth = { callers: new Map([[hashToken('r-token'), { name: 'viewer', role: 'read' }], [hashToken('w-token'), { name: 'operator', role: 'write' }]]) };
const req = (method: string, path: string, headers: AdminRequest['headers'] = {}, queryToken: string | null = null): AdminRequest => ({ method, path, headers: { host: '127.0.0.1:15201', ...headers }, queryToken });
const verdict = (a: AdminAuth | undefined, r: AdminRequest) => {
  const v = authorizeAdmin(a, r);
  return v.ok ? `ok ${v.caller ?? '-'}` : `${v.status} ${v.code}`;
};
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const json = { 'content-type': 'application/json', 'content-length': '12' };

test('reads need any known token, writes the write role; unknown and missing tokens are 401, the read role writing is 403', () => {
  assert.equal(verdict(auth, req('GET', '/v1/weights')), '401 MESHFED_E_ADMIN_UNAUTHENTICATED');
  assert.equal(verdict(auth, req('GET', '/v1/weights', bearer('nope'))), '401 MESHFED_E_ADMIN_UNAUTHENTICATED');
  assert.equal(verdict(auth, req('GET', '/v1/weights', { authorization: 'Basic dTpw' })), '401 MESHFED_E_ADMIN_UNAUTHENTICATED');
  assert.equal(verdict(auth, req('GET', '/v1/weights', bearer('r-token'))), 'ok viewer');
  assert.equal(verdict(auth, req('GET', '/v1/weights', bearer('w-token'))), 'ok operator');
  for (const [m, p] of [['POST', '/v1/zones/a/drain'], ['PUT', '/v1/policies/shop/web'], ['DELETE', '/v1/policies/shop/web'], ['PUT', '/faults'], ['PATCH', '/faults'], ['PUT', '/v1/trust/bundle']] as const) {
    assert.equal(verdict(auth, req(m, p)), '401 MESHFED_E_ADMIN_UNAUTHENTICATED', `${m} ${p} without a token`);
    assert.equal(verdict(auth, req(m, p, bearer('r-token'))), '403 MESHFED_E_ADMIN_FORBIDDEN', `${m} ${p} with the read role`);
    assert.equal(verdict(auth, req(m, p, bearer('w-token'))), 'ok operator', `${m} ${p} with the write role`);
  }
});

test('open paths answer without a token for reads only; a query token works for reads only', () => {
  for (const p of ['/healthz', '/readyz', '/ready', '/metrics', '/ui', '/ui/', '/ui/app.js']) {
    assert.equal(isOpenPath(p), true, p);
    assert.equal(verdict(auth, req('GET', p)), 'ok -', p);
  }
  for (const p of ['/v1/status', '/stats', '/faults', '/config_dump', '/uix', '/v1/events']) assert.equal(isOpenPath(p), false, p);
  assert.equal(verdict(auth, req('POST', '/metrics')), '401 MESHFED_E_ADMIN_UNAUTHENTICATED', 'an open path is open to reads only');
  assert.equal(verdict(auth, req('GET', '/v1/events', {}, 'r-token')), 'ok viewer', 'EventSource passes ?access_token=');
  assert.equal(verdict(auth, req('POST', '/v1/zones/a/drain', {}, 'w-token')), '401 MESHFED_E_ADMIN_UNAUTHENTICATED', 'never for a write: URLs leak into logs and links');
});

test('writes from another origin or site, or with a body that is not JSON, are refused even without tokens configured', () => {
  for (const a of [auth, undefined]) {
    const w = a ? bearer('w-token') : {};
    // The attack from the issue: an ordinary HTML form on any web page POSTing to the admin port.
    assert.equal(verdict(a, req('POST', '/v1/zones/a/drain', { ...w, origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded', 'content-length': '3' })), '403 MESHFED_E_ADMIN_CROSS_ORIGIN');
    assert.equal(verdict(a, req('POST', '/v1/zones/a/drain', { ...w, 'sec-fetch-site': 'cross-site' })), '403 MESHFED_E_ADMIN_CROSS_ORIGIN');
    assert.equal(verdict(a, req('POST', '/v1/zones/a/drain', { ...w, origin: 'null' })), '403 MESHFED_E_ADMIN_CROSS_ORIGIN', 'a sandboxed or file: page');
    assert.equal(verdict(a, req('PUT', '/v1/policies/shop/web', { ...w, 'content-type': 'text/plain', 'content-length': '12' })), '415 MESHFED_E_ADMIN_CONTENT_TYPE');
    assert.equal(verdict(a, req('PUT', '/faults', { ...w, 'transfer-encoding': 'chunked' })), '415 MESHFED_E_ADMIN_CONTENT_TYPE');
    const ok = a ? 'ok operator' : 'ok -';
    assert.equal(verdict(a, req('PUT', '/v1/policies/shop/web', { ...w, ...json })), ok, 'the CLI: JSON, no origin');
    assert.equal(verdict(a, req('PUT', '/v1/policies/shop/web', { ...w, 'content-type': 'application/json; charset=utf-8', 'content-length': '2' })), ok);
    assert.equal(verdict(a, req('POST', '/v1/zones/a/drain', { ...w, origin: 'http://127.0.0.1:15201', 'sec-fetch-site': 'same-origin' })), ok, 'the dashboard on this server');
    assert.equal(verdict(a, req('POST', '/v1/zones/a/drain', w)), ok, 'no body needs no content type');
  }
  assert.equal(verdict(undefined, req('GET', '/v1/weights', { origin: 'https://evil.example' })), 'ok -', 'reads are not writes: CORS keeps their answers from other pages');
});
