// The global-lb config file: defaults, cross-field timing rules, TLS paths, and one clear error per malformed file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBalancerConfigFile, parseBalancerConfig } from './balancer-config.ts';
import { singleConfigError } from './testing.ts';

function errorOf(text: string): string {
  return singleConfigError(() => parseBalancerConfig(text, 'global-lb.yaml', '/etc/meshfed'));
}

test('an insecure config gets every default and is deep-frozen', () => {
  const c = parseBalancerConfig('insecure: true\n', 'global-lb.yaml');
  assert.deepEqual(c, {
    store: { type: 'memory' },
    trustDomain: 'meshfed.local',
    grpcListen: { host: '127.0.0.1', port: 15200 },
    adminListen: { host: '127.0.0.1', port: 15201 },
    heartbeat: 1000,
    leaseTtl: 5000,
    debounce: { min: 100, max: 1000 },
    coldStartGrace: 10_000,
    insecure: true,
  });
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.debounce) && Object.isFrozen(c.store));
});

test('etcd store and TLS paths (resolved against the base directory)', () => {
  const c = parseBalancerConfig(
    'store: { type: etcd, endpoints: ["http://127.0.0.1:2379", "10.0.0.2:2379", "https://[::1]:2379"] }\ntls: { cert: c.pem, key: /k.pem, bundle: ../b.pem }\n',
    'global-lb.yaml', '/etc/meshfed',
  );
  assert.deepEqual(c.store, { type: 'etcd', endpoints: ['http://127.0.0.1:2379', '10.0.0.2:2379', 'https://[::1]:2379'], dialTimeout: 5000 });
  assert.deepEqual(c.tls, { cert: '/etc/meshfed/c.pem', key: '/k.pem', bundle: '/etc/b.pem' });
  assert.ok(Object.isFrozen(c.tls));
});

test('etcd client TLS and user file paths are resolved against the base directory; absent ones stay absent', () => {
  const c = parseBalancerConfig(
    'insecure: true\nstore: { type: etcd, endpoints: ["https://10.0.0.2:2379"], tls: { ca: pki/ca.pem, cert: /abs/lb.pem, key: pki/lb-key.pem }, userFile: etcd.user }\n',
    'global-lb.yaml', '/etc/meshfed',
  );
  assert.deepEqual(c.store, {
    type: 'etcd', endpoints: ['https://10.0.0.2:2379'], dialTimeout: 5000,
    tls: { ca: '/etc/meshfed/pki/ca.pem', cert: '/abs/lb.pem', key: '/etc/meshfed/pki/lb-key.pem' }, userFile: '/etc/meshfed/etcd.user',
  });
  const caOnly = parseBalancerConfig('insecure: true\nstore: { type: etcd, endpoints: ["https://e:2379"], tls: { ca: ca.pem } }\n', 'g.yaml', '/x');
  assert.deepEqual(caOnly.store, { type: 'etcd', endpoints: ['https://e:2379'], dialTimeout: 5000, tls: { ca: '/x/ca.pem' } });
});

const MALFORMED: ReadonlyArray<{ name: string; text: string; error: string }> = [
  { name: 'neither tls nor insecure', text: '', error: 'global-lb.yaml: tls: give tls: { cert, key, bundle }, or insecure: true for a local demo' },
  { name: 'both tls and insecure', text: 'insecure: true\ntls: { cert: a, key: b, bundle: c }\n', error: 'global-lb.yaml: insecure: cannot be true when tls is given; remove one of them' },
  { name: 'unknown store type (enum)', text: 'insecure: true\nstore: { type: consul }\n', error: 'global-lb.yaml: store.type: unknown value "consul" (expected etcd | memory)' },
  { name: 'unknown key in the store', text: 'insecure: true\nstore: { type: memory, endpoints: [] }\n', error: 'global-lb.yaml: store: unknown key "endpoints" (allowed: type)' },
  { name: 'unknown key in the etcd store', text: 'insecure: true\nstore: { type: etcd, endpoints: ["127.0.0.1:2379"], timeout: 1s }\n', error: 'global-lb.yaml: store: unknown key "timeout" (allowed: type, endpoints, dialTimeout, tls, userFile)' },
  { name: 'etcd client certificate without its key', text: 'insecure: true\nstore: { type: etcd, endpoints: ["127.0.0.1:2379"], tls: { cert: c.pem } }\n', error: 'global-lb.yaml: store.tls.key: cert and key go together (a client certificate and its key)' },
  { name: 'no etcd endpoints', text: 'insecure: true\nstore: { type: etcd, endpoints: [] }\n', error: 'global-lb.yaml: store.endpoints: list at least one etcd endpoint (e.g. http://127.0.0.1:2379)' },
  { name: 'bad etcd endpoint', text: 'insecure: true\nstore: { type: etcd, endpoints: ["etcd"] }\n', error: 'global-lb.yaml: store.endpoints[0]: not an etcd endpoint; write host:port or http(s)://host:port' },
  { name: 'lease TTL not whole seconds', text: 'insecure: true\nleaseTtl: 2500ms\n', error: 'global-lb.yaml: leaseTtl: must be whole seconds (etcd leases count in seconds)' },
  { name: 'lease TTL shorter than two heartbeats', text: 'insecure: true\nheartbeat: 3s\n', error: 'global-lb.yaml: leaseTtl: must be at least twice heartbeat (3s), so one late heartbeat does not drop a zone' },
  { name: 'debounce max below min', text: 'insecure: true\ndebounce: { min: 2s }\n', error: 'global-lb.yaml: debounce.max: must be at least debounce.min' },
  { name: 'cold-start grace too long', text: 'insecure: true\ncoldStartGrace: 11m\n', error: 'global-lb.yaml: coldStartGrace: must be between 0ms and 10m' },
  { name: 'wrong type for insecure', text: 'insecure: "yes"\n', error: 'global-lb.yaml: insecure: expected true or false, got "yes"' },
  { name: 'incomplete tls', text: 'tls: { cert: a, key: b }\n', error: 'global-lb.yaml: tls.bundle: required but missing (expected a string)' },
  { name: 'not a mapping', text: '- insecure\n', error: 'global-lb.yaml: (top level): expected a mapping, got a list' },
];

for (const c of MALFORMED) {
  test(`malformed balancer config: ${c.name}`, () => {
    assert.equal(errorOf(c.text), c.error);
  });
}

test('loadBalancerConfigFile resolves TLS paths against the file directory', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-glb-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'global-lb.yaml');
  writeFileSync(file, 'tls: { cert: cert.pem, key: key.pem, bundle: bundle.pem }\n');
  assert.deepEqual(loadBalancerConfigFile(file).tls, { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), bundle: join(dir, 'bundle.pem') });
});
