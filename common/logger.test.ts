// The logger factory: component and zone fields on every line, and no key material ever written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, scrubSecrets, type LoggerOptions } from './logger.ts';

const PEM = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSECRETSECRETSECRET\n-----END PRIVATE KEY-----';
const EC_PEM = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIECSECRETECSECRET\n-----END EC PRIVATE KEY-----\n';

/** A logger whose lines are collected as parsed JSON objects. */
function capture(options: Partial<LoggerOptions> = {}) {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const log = createLogger({
    component: 'zone-agent',
    level: 'debug',
    ...options,
    destination: { write: (s: string) => { raw.push(s); lines.push(JSON.parse(s) as Record<string, unknown>); } },
  });
  return { log, lines, raw };
}

test('every line carries component and zone, and zone is absent when not given', () => {
  const { log, lines } = capture({ zone: 'us-east-1a' });
  log.info({ service: 'cart' }, 'report sent');
  assert.equal(lines.length, 1);
  assert.equal(lines[0]?.['component'], 'zone-agent');
  assert.equal(lines[0]?.['zone'], 'us-east-1a');
  assert.equal(lines[0]?.['service'], 'cart');
  assert.equal(lines[0]?.['msg'], 'report sent');
  const other = capture({ component: 'global-lb' });
  other.log.info('up');
  assert.equal(other.lines[0]?.['component'], 'global-lb');
  assert.ok(!('zone' in (other.lines[0] ?? {})));
});

test('child loggers keep component and zone', () => {
  const { log, lines } = capture({ zone: 'z1' });
  log.child({ stream: 7 }).warn('slow');
  assert.deepEqual([lines[0]?.['component'], lines[0]?.['zone'], lines[0]?.['stream']], ['zone-agent', 'z1', 7]);
});

test('key material is redacted by field name, at the top level and nested', () => {
  const { log, raw, lines } = capture();
  log.info({ key: 'k1', privateKey: 'k2', password: 'p', token: 't', tls: { keyPem: 'k3', caKey: 'k4' } }, 'loaded');
  log.info({ ca: { intermediate: { key: 'deep-k5' } } }, 'deep');
  log.info({ req: { headers: { authorization: 'Bearer abc' } } }, 'request');
  const text = raw.join('');
  for (const secret of ['k1', 'k2', '"p"', '"t"', 'k3', 'k4', 'deep-k5', 'Bearer abc']) assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  assert.equal(lines[0]?.['key'], '[redacted]');
  assert.deepEqual(lines[0]?.['tls'], { keyPem: '[redacted]', caKey: '[redacted]' });
  assert.deepEqual(lines[1]?.['ca'], { intermediate: { key: '[redacted]' } });
});

test('PEM private keys inside any string are scrubbed: messages, format arguments, fields and errors', () => {
  const { log, raw } = capture();
  log.info(`bad file: ${PEM}`);
  log.info('loaded %s from disk', EC_PEM);
  log.info({ file: { contents: `cert then ${PEM}` } }, 'parsed');
  log.error({ err: new Error(`cannot parse ${PEM}`) }, 'failed');
  log.error(new Error(`cannot parse ${EC_PEM}`));
  const text = raw.join('');
  assert.ok(!text.includes('SECRET'), `key material leaked:\n${text}`);
  assert.ok(!text.includes('PRIVATE KEY-----'), text);
  assert.equal(raw.filter((l) => l.includes('[redacted private key]')).length, 5);
  // Errors keep their type and stack shape after scrubbing.
  const last = JSON.parse(raw[4] as string) as { err?: { type?: string; stack?: string } };
  assert.equal(last.err?.type, 'Error');
  assert.match(last.err?.stack ?? '', /logger\.test\.ts/);
});

test('certificates and public keys are not scrubbed: they are not secret and are useful in logs', () => {
  const cert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
  assert.equal(scrubSecrets(cert), cert);
  assert.equal(scrubSecrets('-----BEGIN PUBLIC KEY-----\nAA\n-----END PUBLIC KEY-----'), '-----BEGIN PUBLIC KEY-----\nAA\n-----END PUBLIC KEY-----');
  // A truncated PEM (no END line) is still scrubbed to the end of the string.
  assert.equal(scrubSecrets('x -----BEGIN RSA PRIVATE KEY-----\nMIIE'), 'x [redacted private key]');
});

test('the level option filters lines', () => {
  const { log, lines } = capture({ level: 'warn' });
  log.info('hidden');
  log.warn('shown');
  assert.deepEqual(lines.map((l) => l['msg']), ['shown']);
});
