// `meshfed trust` end to end: files on disk, key modes, no silent overwrite, openssl accepts the chains, bundle edits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitPem } from '../../trust/ca.ts';

const ROOT_DIR = join(import.meta.dirname, '..', '..');
const TD = 'example.org';
const WEB = `spiffe://${TD}/ns/shop/sa/web`;
let dir: string;

function meshfed(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT_DIR, 'cli', 'meshfed.ts'), 'trust', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function ok(...args: string[]): string {
  const r = meshfed(...args);
  assert.equal(r.code, 0, `meshfed trust ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function opensslVerify(root: string, untrusted: string, cert: string): { code: number; out: string } {
  const r = spawnSync('openssl', ['verify', '-CAfile', root, '-untrusted', untrusted, cert], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout + r.stderr };
}

const mode = (p: string) => statSync(p).mode & 0o777;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshfed-trust-cli-'));
  ok('init', '--trust-domain', TD, '--out', join(dir, 'root'));
  ok('intermediate', '--root', join(dir, 'root'), '--cluster', 'east', '--out', join(dir, 'east'), '--name-constraints');
  ok('intermediate', '--root', join(dir, 'root'), '--cluster', 'west', '--out', join(dir, 'west'));
  ok('issue', '--ca', join(dir, 'east'), '--spiffe-id', WEB, '--out', join(dir, 'web'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('init, intermediate and issue write the documented files, keys with mode 0600', () => {
  assert.equal(mode(join(dir, 'root', 'root-key.pem')), 0o600);
  assert.equal(mode(join(dir, 'root', 'root-cert.pem')), 0o644);
  for (const f of ['root-cert.pem', 'ca-cert.pem', 'cert-chain.pem']) assert.equal(mode(join(dir, 'east', f)), 0o644);
  assert.equal(mode(join(dir, 'east', 'ca-key.pem')), 0o600);
  assert.equal(mode(join(dir, 'web', 'key.pem')), 0o600);
  // cert-chain.pem is the intermediate then the root, as Istio expects
  const chain = splitPem(readFileSync(join(dir, 'east', 'cert-chain.pem'), 'utf8'));
  assert.deepEqual(chain, [readFileSync(join(dir, 'east', 'ca-cert.pem'), 'utf8'), readFileSync(join(dir, 'root', 'root-cert.pem'), 'utf8')]);
  const wchain = splitPem(readFileSync(join(dir, 'web', 'chain.pem'), 'utf8'));
  assert.deepEqual(wchain, [readFileSync(join(dir, 'web', 'cert.pem'), 'utf8'), readFileSync(join(dir, 'east', 'ca-cert.pem'), 'utf8')]);
});

test('openssl verifies the chains the CLI produces (and refuses a leaf paired with the wrong intermediate)', () => {
  const v = opensslVerify(join(dir, 'east', 'root-cert.pem'), join(dir, 'east', 'ca-cert.pem'), join(dir, 'web', 'cert.pem'));
  assert.equal(v.code, 0, v.out);
  assert.match(v.out, /cert\.pem: OK/);
  // the same leaf against the other cluster's intermediate does not verify (the check can fail)
  const wrong = opensslVerify(join(dir, 'east', 'root-cert.pem'), join(dir, 'west', 'ca-cert.pem'), join(dir, 'web', 'cert.pem'));
  assert.notEqual(wrong.code, 0);
  const text = execFileSync('openssl', ['x509', '-in', join(dir, 'east', 'ca-cert.pem'), '-noout', '-text'], { encoding: 'utf8' });
  assert.match(text, /CA:TRUE, pathlen:0/);
  assert.match(text, /Permitted:\s+URI:example\.org/);
  const leaf = execFileSync('openssl', ['x509', '-in', join(dir, 'web', 'cert.pem'), '-noout', '-text'], { encoding: 'utf8' });
  assert.match(leaf, /URI:spiffe:\/\/example\.org\/ns\/shop\/sa\/web/);
  assert.match(leaf, /TLS Web Server Authentication, TLS Web Client Authentication/);
});

test('existing keys are never overwritten without --force', () => {
  const before = readFileSync(join(dir, 'web', 'key.pem'), 'utf8');
  const r = meshfed('issue', '--ca', join(dir, 'east'), '--spiffe-id', WEB, '--out', join(dir, 'web'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /MESHFED_E_TRUST_KEY_EXISTS/);
  assert.equal(readFileSync(join(dir, 'web', 'key.pem'), 'utf8'), before);
  assert.doesNotMatch(r.stderr + r.stdout, /PRIVATE KEY/);
  ok('issue', '--ca', join(dir, 'east'), '--spiffe-id', WEB, '--out', join(dir, 'web2'));
  ok('issue', '--ca', join(dir, 'east'), '--spiffe-id', WEB, '--out', join(dir, 'web2'), '--force');
  assert.equal(mode(join(dir, 'web2', 'key.pem')), 0o600);
});

test('sign-csr signs an openssl-made CSR and the result passes openssl verify', () => {
  const key = join(dir, 'csr-key.pem');
  const csr = join(dir, 'req.csr');
  execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr,
    '-subj', '/O=workload', '-addext', `subjectAltName=URI:spiffe://${TD}/ns/pay/sa/api`], { stdio: 'pipe' });
  const pem = ok('sign-csr', '--ca', join(dir, 'west'), '--csr', csr, '--ttl', '1h');
  writeFileSync(join(dir, 'api.pem'), pem);
  const v = opensslVerify(join(dir, 'west', 'root-cert.pem'), join(dir, 'west', 'ca-cert.pem'), join(dir, 'api.pem'));
  assert.equal(v.code, 0, v.out);
  const info = JSON.parse(ok('inspect', join(dir, 'api.pem'), '--output', 'json')) as { spiffeId: string; notAfter: string; notBefore: string; isCa: boolean };
  assert.equal(info.spiffeId, `spiffe://${TD}/ns/pay/sa/api`);
  assert.equal(info.isCa, false);
  const lifeMs = Date.parse(info.notAfter) - Date.parse(info.notBefore);
  assert.ok(lifeMs > 3600_000 && lifeMs <= 3600_000 + 120_000, `lifetime ${lifeMs} ms`);
  const mismatch = meshfed('sign-csr', '--ca', join(dir, 'west'), '--csr', csr, '--spiffe-id', WEB);
  assert.equal(mismatch.code, 1);
  assert.match(mismatch.stderr, /MESHFED_E_TRUST_CSR_INVALID/);
});

test('verify exits 0 for a good chain and 1 with the code for a bad one; 2 for usage errors', () => {
  const root = join(dir, 'root', 'root-cert.pem');
  assert.match(ok('verify', '--root', root, join(dir, 'web', 'chain.pem'), '--spiffe-id', WEB), /^OK spiffe:\/\/example\.org\/ns\/shop\/sa\/web/);
  assert.match(ok('verify', '--root', root, join(dir, 'web', 'cert.pem'), '--untrusted', join(dir, 'east', 'ca-cert.pem')), /^OK /);
  const noInt = meshfed('verify', '--root', root, join(dir, 'web', 'cert.pem'));
  assert.equal(noInt.code, 1);
  assert.match(noInt.stderr, /^MESHFED_E_CERT_UNKNOWN_ROOT: /);
  const wrongId = meshfed('verify', '--root', root, join(dir, 'web', 'chain.pem'), '--spiffe-id', `spiffe://${TD}/ns/x/sa/y`);
  assert.equal(wrongId.code, 1);
  assert.match(wrongId.stderr, /^MESHFED_E_CERT_IDENTITY_MISMATCH: /);
  assert.equal(meshfed('verify', join(dir, 'web', 'chain.pem')).code, 2);
  assert.equal(meshfed('issue', '--ca', join(dir, 'east'), '--out', join(dir, 'x')).code, 2);
  assert.equal(meshfed('init', '--trust-domain', TD, '--out', join(dir, 'r2'), '--key-type', 'dsa').code, 2);
});

test('bundle add-root, revoke, add-alias and remove-root drive verify', () => {
  const bundle = join(dir, 'bundle.json');
  const chain = join(dir, 'web', 'chain.pem');
  ok('bundle', 'add-root', '--bundle', bundle, join(dir, 'root', 'root-cert.pem'));
  const b = JSON.parse(readFileSync(bundle, 'utf8')) as { trustDomain: string; roots: string[]; version: string };
  assert.equal(b.trustDomain, TD);
  assert.equal(b.roots.length, 1);
  assert.match(ok('verify', '--bundle', bundle, chain), /^OK /);
  // rotation: a second root joins, then the first leaves; the old leaf is then refused
  ok('init', '--trust-domain', TD, '--out', join(dir, 'root-next'));
  ok('bundle', 'add-root', '--bundle', bundle, join(dir, 'root-next', 'root-cert.pem'));
  assert.match(ok('verify', '--bundle', bundle, chain), /^OK /);
  ok('bundle', 'remove-root', '--bundle', bundle, join(dir, 'root', 'root-cert.pem'));
  const gone = meshfed('verify', '--bundle', bundle, chain);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /MESHFED_E_CERT_UNKNOWN_ROOT/);
  const last = meshfed('bundle', 'remove-root', '--bundle', bundle, join(dir, 'root-next', 'root-cert.pem'));
  assert.equal(last.code, 1);
  assert.match(last.stderr, /last root/);
  // back to the old root, then revoke the east intermediate by its certificate file
  ok('bundle', 'add-root', '--bundle', bundle, join(dir, 'root', 'root-cert.pem'));
  ok('bundle', 'revoke', '--bundle', bundle, join(dir, 'east', 'ca-cert.pem'));
  const revoked = meshfed('verify', '--bundle', bundle, chain);
  assert.equal(revoked.code, 1);
  assert.match(revoked.stderr, /^MESHFED_E_CERT_REVOKED: /);
  // an alias lets a partner trust domain's leaf (under the unconstrained west intermediate's root) verify
  ok('intermediate', '--root', join(dir, 'root'), '--cluster', 'partner', '--trust-domain', 'partner.net', '--out', join(dir, 'partner'));
  ok('issue', '--ca', join(dir, 'partner'), '--spiffe-id', 'spiffe://partner.net/ns/a/sa/b', '--out', join(dir, 'pw'));
  const foreign = meshfed('verify', '--bundle', bundle, join(dir, 'pw', 'chain.pem'));
  assert.match(foreign.stderr, /^MESHFED_E_CERT_FOREIGN_TRUST_DOMAIN: /);
  ok('bundle', 'add-alias', '--bundle', bundle, 'partner.net');
  assert.match(ok('verify', '--bundle', bundle, join(dir, 'pw', 'chain.pem')), /^OK spiffe:\/\/partner\.net/);
  const shown = ok('bundle', 'show', '--bundle', bundle);
  assert.match(shown, /alias\s+partner\.net/);
  assert.match(shown, /revoked\s+[0-9a-f]+/);
});

test('an RSA 3072 root and intermediate produce chains openssl accepts', () => {
  ok('init', '--trust-domain', TD, '--out', join(dir, 'rsa-root'), '--key-type', 'rsa-3072');
  ok('intermediate', '--root', join(dir, 'rsa-root'), '--cluster', 'east', '--out', join(dir, 'rsa-east'));
  ok('issue', '--ca', join(dir, 'rsa-east'), '--spiffe-id', WEB, '--out', join(dir, 'rsa-web'));
  const v = opensslVerify(join(dir, 'rsa-east', 'root-cert.pem'), join(dir, 'rsa-east', 'ca-cert.pem'), join(dir, 'rsa-web', 'cert.pem'));
  assert.equal(v.code, 0, v.out);
  assert.match(execFileSync('openssl', ['x509', '-in', join(dir, 'rsa-east', 'ca-cert.pem'), '-noout', '-text'], { encoding: 'utf8' }), /Public-Key: \(3072 bit\)/);
});
