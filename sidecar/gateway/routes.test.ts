// Tests of the gateway's SNI routing table built from the sidecar config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSidecarConfig } from '../../api/sidecar-config.ts';
import { gatewayResolver } from './routes.ts';

const cfg = parseSidecarConfig(JSON.stringify({
  zones: { a: { network: 'n1' }, b: { network: 'n2', gateway: '127.0.0.1:15443' } },
  services: {
    'shop/catalog': {
      port: 8080,
      hosts: ['catalog.example.com'],
      subsets: { v1: { version: 'v1' }, v2: { version: 'v2' } },
      endpoints: {
        a: ['127.0.0.1:1001'],
        b: [{ address: '127.0.0.1:2001', labels: { version: 'v1' } }, { address: '127.0.0.1:2002', labels: { version: 'v2' } }],
      },
    },
  },
}), 'test.json');

test('routes by host and port to the endpoints of the gateway zone only', () => {
  const r = gatewayResolver(cfg, 'b');
  assert.deepEqual(r({ port: 8080, subset: '', host: 'catalog.shop.svc.meshfed' }), [{ address: '127.0.0.1', port: 2001 }, { address: '127.0.0.1', port: 2002 }]);
  assert.deepEqual(r({ port: 8080, subset: '', host: 'catalog.example.com' })?.length, 2);
  assert.equal(r({ port: 9090, subset: '', host: 'catalog.shop.svc.meshfed' }), undefined);
  assert.equal(r({ port: 8080, subset: '', host: 'orders.shop.svc.meshfed' }), undefined);
  assert.deepEqual(gatewayResolver(cfg, 'a')({ port: 8080, subset: '', host: 'catalog.shop' }), [{ address: '127.0.0.1', port: 1001 }]);
  assert.equal(gatewayResolver(cfg, 'c')({ port: 8080, subset: '', host: 'catalog.shop' }), undefined);
});

test('a subset narrows by labels; an unknown subset is unknown', () => {
  const r = gatewayResolver(cfg, 'b');
  assert.deepEqual(r({ port: 8080, subset: 'v2', host: 'catalog.shop.svc.meshfed' }), [{ address: '127.0.0.1', port: 2002 }]);
  assert.equal(r({ port: 8080, subset: 'v9', host: 'catalog.shop.svc.meshfed' }), undefined);
});
