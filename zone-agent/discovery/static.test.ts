// Tests static discovery: hot reload, and a bad edit keeping the last good set with a path-named warning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../common/logger.ts';
import { StaticFileDiscovery } from './static.ts';

async function until(what: string, fn: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('static file is loaded, hot-reloaded, and a bad edit keeps the last good set', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-static-'));
  const file = join(dir, 'services.yaml');
  const lines: string[] = [];
  const logger = createLogger({ component: 'zone-agent', level: 'warn', destination: new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }) });
  writeFileSync(file, 'services:\n  - namespace: shop\n    name: cart\n    capacityRps: 100\n    endpoints: ["127.0.0.1:8081", { address: "127.0.0.1:8082", healthy: false, labels: { v: "2" } }]\n');
  let invalid = 0;
  const disc = new StaticFileDiscovery({ file, logger, onInvalid: () => invalid++ });
  t.after(async () => {
    await disc.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  let changes = 0;
  disc.onChange(() => changes++);
  await disc.start();
  assert.deepEqual(disc.current(), [{
    namespace: 'shop', name: 'cart', capacityRps: 100,
    endpoints: [
      { address: '127.0.0.1', port: 8081, healthy: true, terminating: false, labels: {} },
      { address: '127.0.0.1', port: 8082, healthy: false, terminating: false, labels: { v: '2' } },
    ],
  }]);

  // An editor-style replace by rename is followed.
  writeFileSync(join(dir, 'tmp.yaml'), 'services:\n  - namespace: shop\n    name: cart\n    endpoints: ["127.0.0.1:9000"]\n');
  renameSync(join(dir, 'tmp.yaml'), file);
  await until('reload', () => disc.current()[0]?.endpoints[0]?.port === 9000);
  const before = changes;

  writeFileSync(file, 'services:\n  - namespace: shop\n    name: cart\n    endpoints: ["not-an-address"]\n    colour: blue\n');
  await until('warning', () => invalid > 0);
  const warning = lines.find((l) => l.includes('MESHFED_E_AGENT_STATIC_INVALID')) ?? '';
  assert.match(warning, /services\.yaml: services\[0\]\.endpoints\[0\]/, 'names the file and path');
  assert.match(warning, /unknown key \\"colour\\"/);
  assert.equal(disc.current()[0]?.endpoints[0]?.port, 9000, 'last good set kept');
  assert.equal(changes, before, 'no change notified for a bad edit');

  writeFileSync(file, 'services: [[[');
  await until('parse warning', () => invalid > 1);
  assert.equal(disc.current()[0]?.endpoints[0]?.port, 9000);

  writeFileSync(file, 'services:\n  - namespace: shop\n    name: cart\n    endpoints: ["127.0.0.1:9001"]\n  - namespace: shop\n    name: cart\n');
  await until('duplicate warning', () => invalid > 2);
  assert.ok(lines.some((l) => l.includes('already listed at services[0]')));

  writeFileSync(file, 'services:\n  - namespace: shop\n    name: cart\n    endpoints: ["127.0.0.1:9002"]\n');
  await until('recovers', () => disc.current()[0]?.endpoints[0]?.port === 9002);
});

test('a missing file at start gives an empty set and a warning, then loads when it appears', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-static-'));
  const file = join(dir, 'services.yaml');
  let invalid = 0;
  const disc = new StaticFileDiscovery({ file, logger: createLogger({ component: 'zone-agent', level: 'silent' }), onInvalid: () => invalid++ });
  t.after(async () => {
    await disc.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await disc.start();
  assert.deepEqual(disc.current(), []);
  assert.equal(invalid, 1);
  writeFileSync(file, 'services:\n  - namespace: a\n    name: b\n    endpoints: ["10.1.1.1:80"]\n');
  await until('appears', () => disc.current().length === 1);
});
