// On-disk layouts: keys 0600, nothing overwritten without force, CA dirs checked for a matching key.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, readFileSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeOf, createTestPki, type TestPki } from './testing.ts';
import { readBundleFile, readPluginCaDir, readRootDir, writeBundleFile, writePluginCaDir, writeRootDir, writeWorkloadDir } from './files.ts';

let pki: TestPki;
let dir: string;

before(async () => {
  pki = await createTestPki();
  dir = mkdtempSync(join(tmpdir(), 'meshfed-trust-files-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('root and plug-in CA directories round-trip, keys at 0600 even over a looser existing file', () => {
  writeRootDir(join(dir, 'root'), pki.root);
  assert.deepEqual(readRootDir(join(dir, 'root')), pki.root);
  const caDir = join(dir, 'east');
  writePluginCaDir(caDir, pki.east);
  assert.equal(statSync(join(caDir, 'ca-key.pem')).mode & 0o777, 0o600);
  assert.deepEqual(readPluginCaDir(caDir), pki.east);
  chmodSync(join(caDir, 'ca-key.pem'), 0o644);
  writePluginCaDir(caDir, pki.east, true);
  assert.equal(statSync(join(caDir, 'ca-key.pem')).mode & 0o777, 0o600);
});

test('nothing is written when any target exists and force is off', async () => {
  const wdir = join(dir, 'w');
  const w = await pki.issue('spiffe://example.org/ns/a/sa/b');
  writeWorkloadDir(wdir, w, pki.root.certPem);
  const w2 = await pki.issue('spiffe://example.org/ns/a/sa/b');
  rmSync(join(wdir, 'cert.pem'));
  assert.equal(codeOf(() => writeWorkloadDir(wdir, w2, pki.root.certPem)), 'MESHFED_E_TRUST_KEY_EXISTS');
  // the cert that was missing was not written either: the set is all-or-nothing
  assert.equal(existsSync(join(wdir, 'cert.pem')), false);
  assert.equal(readFileSync(join(wdir, 'key.pem'), 'utf8'), w.keyPem);
});

test('a CA directory whose key does not match its certificate is refused', () => {
  const bad = join(dir, 'bad');
  writePluginCaDir(bad, { ...pki.west, keyPem: pki.east.keyPem });
  assert.equal(codeOf(() => readPluginCaDir(bad)), 'MESHFED_E_TRUST_CA_INVALID');
  assert.equal(codeOf(() => readPluginCaDir(join(dir, 'missing'))), 'MESHFED_E_TRUST_FILE');
});

test('bundle files are written atomically and read back validated', () => {
  const path = join(dir, 'bundle.json');
  writeBundleFile(path, pki.bundle);
  assert.deepEqual(readBundleFile(path), pki.bundle);
  writeFileSync(path, '{"trustDomain": 5}');
  assert.equal(codeOf(() => readBundleFile(path)), 'MESHFED_E_TRUST_BUNDLE_INVALID');
});
