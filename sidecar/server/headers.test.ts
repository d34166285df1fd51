// Tests of hop-by-hop filtering and mesh host name parsing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forwardableHeaders, isGrpc, serviceFromAuthority, serviceHost } from './headers.ts';

test('drops hop-by-hop headers, pseudo-headers and connection-listed headers; keeps te: trailers', () => {
  const out = forwardableHeaders({
    ':path': '/x', host: 'a', connection: 'keep-alive, x-private', 'keep-alive': '5', 'x-private': '1',
    'transfer-encoding': 'chunked', te: 'trailers', 'x-ok': 'yes', 'set-cookie': ['a', 'b'], undef: undefined,
  });
  assert.deepEqual(out, { te: 'trailers', 'x-ok': 'yes', 'set-cookie': ['a', 'b'] });
  assert.deepEqual(forwardableHeaders({ te: 'gzip' }), {});
  // A single connection token, hop-by-hop or not, and odd spacing or case.
  assert.deepEqual(forwardableHeaders({ connection: 'keep-alive', 'keep-alive': 'timeout=5', 'x-a': '1' }), { 'x-a': '1' });
  assert.deepEqual(forwardableHeaders({ connection: ' X-Private ', 'x-private': '1', 'x-a': '1' }), { 'x-a': '1' });
  assert.deepEqual(forwardableHeaders({ connection: ['close', 'x-b'], 'x-b': '1', 'x-a': '1' }), { 'x-a': '1' });
  assert.deepEqual(forwardableHeaders({ connection: '', 'x-a': '1' }), { 'x-a': '1' });
});

test('maps mesh authorities to namespace/name', () => {
  assert.equal(serviceFromAuthority('catalog.shop'), 'shop/catalog');
  assert.equal(serviceFromAuthority('catalog.shop:8080'), 'shop/catalog');
  assert.equal(serviceFromAuthority('Catalog.Shop.svc.meshfed'), 'shop/catalog');
  assert.equal(serviceFromAuthority('catalog.shop.svc.meshfed.'), 'shop/catalog');
  for (const bad of ['localhost', '127.0.0.1:80', 'a.b.c', 'bad_name.shop', '', 'x.-y']) assert.equal(serviceFromAuthority(bad), undefined, bad);
  assert.equal(serviceHost('shop/catalog'), 'catalog.shop.svc.meshfed');
});

test('detects gRPC by content type', () => {
  assert.equal(isGrpc({ 'content-type': 'application/grpc' }), true);
  assert.equal(isGrpc({ 'content-type': 'application/grpc+proto' }), true);
  assert.equal(isGrpc({ 'content-type': 'application/json' }), false);
  assert.equal(isGrpc({}), false);
});
