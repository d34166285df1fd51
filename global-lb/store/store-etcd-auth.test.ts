// The etcd store against a real etcd that requires client certificates (as `meshfed up` runs it) and one with etcd
// users enabled: who gets in, who is refused, and what the refusal says.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { MeshfedError } from '../../common/errors.ts';
import { skipWithoutEtcd, startEtcd, type EtcdServer } from '../../test/support/etcd.ts';
import { createEtcdPki, type EtcdPki } from '../../local/etcd-pki.ts';
import { EtcdStore } from './store-etcd.ts';
import { readEtcdCredentials, parseEtcdUserFile } from './etcd-credentials.ts';

const SKIP = skipWithoutEtcd();
let dir: string;
let pki: EtcdPki;
let other: EtcdPki;
let etcd: EtcdServer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshfed-etcd-auth-'));
  pki = await createEtcdPki(join(dir, 'pki'));
  other = await createEtcdPki(join(dir, 'other'));
  if (SKIP) return;
  etcd = await startEtcd({ tls: pki.server });
});
after(async () => {
  await etcd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const storeWith = (files: Parameters<typeof readEtcdCredentials>[0], endpoints = etcd.endpoints) =>
  new EtcdStore({ endpoints, callTimeoutMs: 2_000, ...readEtcdCredentials(files, { cert: 'cert', key: 'key' }) });

async function refusal(store: EtcdStore): Promise<MeshfedError> {
  try {
    await store.get('/meshfed/v1/trust/bundle');
  } catch (e) {
    return e as MeshfedError;
  } finally {
    await store.close();
  }
  assert.fail('the read was answered');
}

test('an etcd requiring client certificates: meshfed\'s certificate reads and writes; no certificate, another CA\'s, or plain HTTP is refused', { skip: SKIP }, async () => {
  assert.match(etcd.endpoints[0]!, /^https:\/\/127\.0\.0\.1:\d+$/);
  const ok = storeWith(pki.client);
  await ok.put('/meshfed/v1/trust/bundle', 'signed');
  assert.equal((await ok.get('/meshfed/v1/trust/bundle'))?.value, 'signed');
  await ok.close();

  const none = await refusal(storeWith({ ca: pki.client.ca }));
  assert.equal(none.code, 'MESHFED_E_STORE_UNAVAILABLE', `no client certificate: ${none.message}`);
  const foreign = await refusal(storeWith({ ca: pki.client.ca, cert: other.client.cert, key: other.client.key }));
  assert.equal(foreign.code, 'MESHFED_E_STORE_UNAVAILABLE', `a certificate under another CA: ${foreign.message}`);
  const plain = await refusal(new EtcdStore({ endpoints: [etcd.endpoints[0]!.replace('https:', 'http:')], callTimeoutMs: 2_000 }));
  assert.equal(plain.code, 'MESHFED_E_STORE_UNAVAILABLE', `plain HTTP: ${plain.message}`);
  // The health endpoint stays open on its own plain port, so supervisors can probe without a certificate.
  const health = await fetch(`${etcd.healthUrl}/health`);
  assert.equal(((await health.json()) as { health: string }).health, 'true');
});

test('an etcd with users enabled: the right user:password file gets in, a wrong password is refused', { skip: SKIP }, async () => {
  const server = await startEtcd();
  const admin = new Etcd3({ hosts: [...server.endpoints] });
  try {
    await admin.role('root').create().catch(() => undefined); // etcd may already know the root role
    await admin.user('root').create('root-secret');
    await admin.user('root').addRole('root');
    await admin.auth.authEnable();
    const good = join(dir, 'good.user');
    writeFileSync(good, 'root:root-secret\n');
    const bad = join(dir, 'bad.user');
    writeFileSync(bad, 'root:wrong\n');

    const ok = storeWith({ userFile: good }, server.endpoints);
    await ok.put('/meshfed/v1/policies/shop/catalog', '{}');
    assert.equal((await ok.get('/meshfed/v1/policies/shop/catalog'))?.value, '{}');
    await ok.close();
    const wrong = await refusal(storeWith({ userFile: bad }, server.endpoints));
    assert.match(`${wrong.code} ${wrong.message}`, /authentication failed|invalid user ID or password/i);
  } finally {
    admin.close();
    await server.stop();
  }
});

test('credential files: cert without key, an unreadable file and a user file without a colon are refused by name', () => {
  assert.throws(() => readEtcdCredentials({ cert: pki.client.cert }, { cert: '--etcd-cert', key: '--etcd-key' }), /--etcd-cert and --etcd-key go together/);
  const missing = join(dir, 'nope.pem');
  assert.throws(() => readEtcdCredentials({ ca: missing }, { cert: 'c', key: 'k' }), (e: MeshfedError) => e.code === 'MESHFED_E_CONFIG_READ' && e.message.startsWith(`${missing}: cannot read`));
  assert.throws(() => parseEtcdUserFile('rootsecret\n', '/etc/meshfed/etcd.user'), /\/etc\/meshfed\/etcd\.user: the first line must be user:password/);
  assert.throws(() => parseEtcdUserFile('root:\n', 'u'), /user:password/);
  assert.deepEqual(parseEtcdUserFile('svc:pa:ss\nignored', 'u'), { username: 'svc', password: 'pa:ss' });
});
