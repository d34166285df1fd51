// Unit tests of the nginx renderer: weights carry over, the nearest fallback tier becomes `backup`, and nginx 1.22 accepts the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSidecarConfig } from '../api/sidecar-config.ts';
import { buildProxyModel } from './model.ts';
import { renderNginxConfig } from './render-nginx.ts';

const NGINX = process.env['MESHFED_NGINX_BIN'] ?? '/usr/sbin/nginx';

const model = () => buildProxyModel(parseSidecarConfig(JSON.stringify({
  zone: 'a', zones: { a: { network: 'n1' }, b: { network: 'n1' }, c: { network: 'n1' } },
  services: { 'shop/catalog': { endpoints: { a: [{ address: '10.0.0.1:80' }], b: [{ address: '10.1.0.1:80' }], c: [{ address: '10.2.0.1:80' }] }, weights: { a: 10000, b: 0, c: 0 }, tiers: { a: 0, b: 1, c: 2 } } },
}), 'test'), 'a');

test('weighted servers keep their weight, the nearest fallback tier is backup, farther tiers are left out', () => {
  const text = renderNginxConfig(model(), { host: '127.0.0.1', outboundPort: 15001, dir: '/tmp/x', certFile: '/c.pem', keyFile: '/k.pem' });
  assert.match(text, /server 10\.0\.0\.1:80 weight=256 /);
  assert.match(text, /server 10\.1\.0\.1:80 backup;/);
  assert.doesNotMatch(text, /10\.2\.0\.1/);
  assert.match(text, /catalog\.shop shop\.catalog;/);
  assert.match(text, /proxy_ssl_verify off;/);
});

test('nginx 1.22 accepts the rendered file', { skip: existsSync(NGINX) ? false : `${NGINX} is not installed` }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-nginx-render-'));
  try {
    for (const d of ['cb', 'pt', 'ft', 'ut', 'st']) mkdirSync(join(dir, d));
    const key = join(dir, 'k.pem');
    const cert = join(dir, 'c.pem');
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=t', '-days', '1', '-keyout', key, '-out', cert], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    writeFileSync(join(dir, 'nginx.conf'), renderNginxConfig(model(), { host: '127.0.0.1', outboundPort: 15001, dir, certFile: cert, keyFile: key }));
    const t = spawnSync(NGINX, ['-t', '-c', join(dir, 'nginx.conf'), '-p', dir], { encoding: 'utf8' });
    assert.equal(t.status, 0, t.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
