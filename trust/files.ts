// On-disk layouts: the root directory, Istio's plug-in CA directory, workload cert directories and bundle files.
import { closeSync, existsSync, fchmodSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import type { IntermediateCa, KeyedCert, KeyType, WorkloadCert } from './ca.ts';
import { bundleFromJson, bundleToJson, type TrustBundle } from './bundle.ts';
import { trustError } from './errors.ts';
import { MeshfedError } from '../common/errors.ts';

/** File names of a root directory (`meshfed trust init`). The key belongs offline once intermediates are made. */
export const ROOT_FILES = { cert: 'root-cert.pem', key: 'root-key.pem' } as const;
/** Istio's plug-in CA layout (the `cacerts` secret): one set of files serves meshfed and Istio alike. */
export const PLUGIN_CA_FILES = { root: 'root-cert.pem', cert: 'ca-cert.pem', key: 'ca-key.pem', chain: 'cert-chain.pem' } as const;
/** A workload's files (`meshfed trust issue`): chain.pem is the leaf then the intermediate. */
export const WORKLOAD_FILES = { cert: 'cert.pem', key: 'key.pem', chain: 'chain.pem', root: 'root-cert.pem' } as const;

interface FileToWrite {
  readonly name: string;
  readonly content: string;
  readonly secret: boolean;
}

/**
 * Writes a set of files into dir. Keys get mode 0600 (set explicitly, whatever the umask or the old file's mode).
 * Without force, nothing is written if any target exists, so a CA is never half-replaced.
 */
export function writeFileSet(dir: string, files: readonly FileToWrite[], force: boolean): string[] {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (cause) {
    throw trustError('MESHFED_E_TRUST_FILE', `${dir}: cannot create directory: ${(cause as Error).message}`, cause);
  }
  if (!force) {
    const existing = files.map((f) => join(dir, f.name)).filter((p) => existsSync(p));
    if (existing.length > 0) throw trustError('MESHFED_E_TRUST_KEY_EXISTS', `${existing.join(', ')} already exist(s); refusing to overwrite (pass --force to replace)`);
  }
  const written: string[] = [];
  for (const f of files) {
    const path = join(dir, f.name);
    const mode = f.secret ? 0o600 : 0o644;
    let fd: number | undefined;
    try {
      fd = openSync(path, force ? 'w' : 'wx', mode);
      fchmodSync(fd, mode);
      writeSync(fd, f.content);
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code === 'EEXIST' ? 'MESHFED_E_TRUST_KEY_EXISTS' : 'MESHFED_E_TRUST_FILE';
      throw trustError(code, `${path}: cannot write: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, cause);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    written.push(path);
  }
  return written;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    const why = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (cause as Error).message;
    throw trustError('MESHFED_E_TRUST_FILE', `${path}: cannot read: ${why}`, cause);
  }
}

/** Checks that keyPem is the private half of certPem's public key; a mismatched CA dir would sign unverifiable certs. */
export function checkKeyMatches(certPem: string, keyPem: string, where: string): KeyType {
  let cert: X509Certificate;
  let key;
  try {
    cert = new X509Certificate(certPem);
    key = createPrivateKey(keyPem);
  } catch (cause) {
    throw trustError('MESHFED_E_TRUST_CA_INVALID', `${where}: not a PEM certificate and private key`, cause);
  }
  const pub = createPublicKey(key).export({ type: 'spki', format: 'der' });
  if (!pub.equals(cert.publicKey.export({ type: 'spki', format: 'der' }))) {
    throw trustError('MESHFED_E_TRUST_CA_INVALID', `${where}: the private key does not belong to the certificate`);
  }
  return key.asymmetricKeyType === 'rsa' ? 'rsa-3072' : 'ec-p256';
}

/** Writes root-cert.pem and root-key.pem. */
export function writeRootDir(dir: string, root: KeyedCert, force = false): string[] {
  return writeFileSet(dir, [
    { name: ROOT_FILES.cert, content: root.certPem, secret: false },
    { name: ROOT_FILES.key, content: root.keyPem, secret: true },
  ], force);
}

/** Reads a root directory and checks its key matches its certificate. */
export function readRootDir(dir: string): KeyedCert {
  const certPem = readText(join(dir, ROOT_FILES.cert));
  const keyPem = readText(join(dir, ROOT_FILES.key));
  return { certPem, keyPem, keyType: checkKeyMatches(certPem, keyPem, dir) };
}

/** Writes the four plug-in CA files (ca-key.pem is the intermediate's key, mode 0600). */
export function writePluginCaDir(dir: string, ca: IntermediateCa, force = false): string[] {
  return writeFileSet(dir, [
    { name: PLUGIN_CA_FILES.root, content: ca.rootPem, secret: false },
    { name: PLUGIN_CA_FILES.cert, content: ca.certPem, secret: false },
    { name: PLUGIN_CA_FILES.key, content: ca.keyPem, secret: true },
    { name: PLUGIN_CA_FILES.chain, content: ca.chainPem, secret: false },
  ], force);
}

/** Reads a plug-in CA directory (written by meshfed or prepared for Istio) and checks key and cert agree. */
export function readPluginCaDir(dir: string): IntermediateCa {
  const certPem = readText(join(dir, PLUGIN_CA_FILES.cert));
  const keyPem = readText(join(dir, PLUGIN_CA_FILES.key));
  const rootPem = readText(join(dir, PLUGIN_CA_FILES.root));
  const chainPath = join(dir, PLUGIN_CA_FILES.chain);
  const chainPem = existsSync(chainPath) ? readText(chainPath) : certPem + rootPem;
  return { certPem, keyPem, rootPem, chainPem, keyType: checkKeyMatches(certPem, keyPem, dir) };
}

/** Writes cert.pem, key.pem (0600), chain.pem (leaf then intermediate) and root-cert.pem. */
export function writeWorkloadDir(dir: string, cert: WorkloadCert, rootPem: string, force = false): string[] {
  return writeFileSet(dir, [
    { name: WORKLOAD_FILES.cert, content: cert.certPem, secret: false },
    { name: WORKLOAD_FILES.key, content: cert.keyPem, secret: true },
    { name: WORKLOAD_FILES.chain, content: cert.chainPem, secret: false },
    { name: WORKLOAD_FILES.root, content: rootPem, secret: false },
  ], force);
}

/** Reads and validates a bundle file (JSON; see docs/trust.md). */
export function readBundleFile(path: string): TrustBundle {
  const text = readText(path);
  try {
    return bundleFromJson(text, path);
  } catch (e) {
    if (e instanceof MeshfedError && e.code.startsWith('MESHFED_E_CONFIG')) throw trustError('MESHFED_E_TRUST_BUNDLE_INVALID', e.message, e);
    throw e;
  }
}

/** Writes a bundle file atomically (temp file then rename), so a watcher never reads half a bundle. */
export function writeBundleFile(path: string, bundle: TrustBundle): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeSync(fd, bundleToJson(bundle));
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (cause) {
    throw trustError('MESHFED_E_TRUST_FILE', `${path}: cannot write: ${(cause as Error).message}`, cause);
  }
}
