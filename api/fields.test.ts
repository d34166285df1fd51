// The shared field schemas: durations, host:port addresses and names, as every config file reads them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { durationBetween, durationSchema, formatDurationMs, formatHostPort, hostPortSchema, parseDurationMs, parseHostPortText, dnsLabelSchema } from './fields.ts';
import { validateConfig } from './load.ts';
import { MeshfedError } from '../common/errors.ts';

test('parseDurationMs reads every unit and rounds to whole milliseconds', () => {
  const cases: Array<[string, number | undefined]> = [
    ['500ms', 500], ['0s', 0], ['1.5s', 1500], ['10m', 600_000], ['24h', 86_400_000], ['30d', 2_592_000_000], ['1y', 31_536_000_000],
    [' 5s ', 5000], ['0.0004s', 0], ['5', undefined], ['5 s', undefined], ['-1s', undefined], ['s', undefined], ['1w', undefined], ['', undefined], ['1e3ms', undefined],
  ];
  for (const [text, ms] of cases) assert.equal(parseDurationMs(text), ms, text);
});

test('formatDurationMs picks the largest exact unit and round-trips', () => {
  for (const ms of [0, 1, 100, 1000, 1500, 60_000, 90_000, 3_600_000, 86_400_000]) {
    assert.equal(parseDurationMs(formatDurationMs(ms)), ms);
  }
  assert.equal(formatDurationMs(1500), '1500ms');
  assert.equal(formatDurationMs(120_000), '2m');
});

test('durationSchema reads strings as ms and explains everything else', () => {
  const s = z.strictObject({ d: durationSchema });
  assert.deepEqual(validateConfig(s, { d: '250ms' }, 'f'), { d: 250 });
  const message = (value: unknown) => {
    try {
      validateConfig(s, { d: value }, 'f');
    } catch (e) {
      return (e as MeshfedError).message;
    }
    return 'accepted';
  };
  assert.equal(message(5), 'f: d: expected a duration, got 5 (write it with a unit, e.g. "5s" or "5ms")');
  assert.equal(message('5 seconds'), 'f: d: "5 seconds" is not a duration (use a number with a unit, e.g. 500ms, 5s, 10m, 24h, 30d)');
  assert.equal(message(undefined), 'f: d: expected a duration, got nothing (use a number with a unit, e.g. 500ms, 5s, 10m, 24h, 30d)');
  assert.equal(message([]), 'f: d: expected a duration, got a list (use a number with a unit, e.g. 500ms, 5s, 10m, 24h, 30d)');
});

test('durationBetween enforces its bounds and takes a default in ms', () => {
  const s = z.strictObject({ d: durationBetween(100, 60_000).default(1000) });
  assert.deepEqual(validateConfig(s, {}, 'f'), { d: 1000 });
  assert.throws(() => validateConfig(s, { d: '50ms' }, 'f'), { message: 'f: d: must be between 100ms and 1m' });
  assert.throws(() => validateConfig(s, { d: '2m' }, 'f'), { message: 'f: d: must be between 100ms and 1m' });
});

test('host:port parses IPv4, names, bracketed IPv6 and an empty host, and rejects the rest', () => {
  assert.deepEqual(parseHostPortText('127.0.0.1:80'), { host: '127.0.0.1', port: 80 });
  assert.deepEqual(parseHostPortText('global-lb.svc:15200'), { host: 'global-lb.svc', port: 15200 });
  assert.deepEqual(parseHostPortText('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseHostPortText(':9000'), { host: '127.0.0.1', port: 9000 });
  for (const bad of ['127.0.0.1', '::1:80', 'host:65536', 'host:-1', 'a b:1', 'host:']) assert.equal(parseHostPortText(bad), undefined, bad);
  assert.equal(formatHostPort({ host: '::1', port: 5 }), '[::1]:5');
  assert.equal(formatHostPort({ host: '10.1.2.3', port: 5 }), '10.1.2.3:5');
  const s = z.strictObject({ a: hostPortSchema });
  assert.throws(() => validateConfig(s, { a: 'localhost' }, 'f'), { message: 'f: a: "localhost" is not host:port (e.g. 127.0.0.1:7443 or [::1]:7443)' });
});

test('dnsLabelSchema accepts DNS labels only', () => {
  for (const ok of ['a', 'aws-use1', 'x'.repeat(63), '0a']) assert.equal(dnsLabelSchema.safeParse(ok).success, true, ok);
  for (const bad of ['', 'A', '-a', 'a-', 'a_b', 'a.b', 'x'.repeat(64)]) assert.equal(dnsLabelSchema.safeParse(bad).success, false, bad);
});
