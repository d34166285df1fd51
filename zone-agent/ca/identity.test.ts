// The agent identity's renewal time (half-life plus jitter, from issuance) and the rotator's schedule and retries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../common/logger.ts';
import { RENEWAL_JITTER } from '../../trust/ca.ts';
import { IdentityRotator, identityRenewalAtMs, identityRetryDelayMs, type ZoneIdentityCert } from './identity.ts';

const T0 = 1_700_000_000_000;
const quiet = createLogger({ component: 'zone-agent', level: 'silent' });

function cert(issuedAtMs: number, ttlMs: number, backdateMs = 60_000): ZoneIdentityCert {
  return { spiffeId: 'spiffe://td/meshfed/zone/a1', certChainPem: '', keyPem: '', rootsPem: '', notBeforeMs: issuedAtMs - backdateMs, notAfterMs: issuedAtMs + ttlMs, issuedAtMs };
}

test('renewal is at half the issued life plus up to the jitter share, ignoring the back-dated notBefore', () => {
  const c = cert(T0, 3000);
  assert.equal(identityRenewalAtMs(c, () => 0), T0 + 1500);
  assert.equal(identityRenewalAtMs(c, () => 0.5), T0 + 1500 + 0.5 * RENEWAL_JITTER * 3000);
  const latest = identityRenewalAtMs(c, () => 1);
  assert.ok(latest < c.notAfterMs && latest <= T0 + 1500 + RENEWAL_JITTER * 3000, `${latest - T0}`);
  // 24h: twelve hours after issuance, not twelve hours after notBefore minus thirty seconds.
  assert.equal(identityRenewalAtMs(cert(T0, 24 * 3600_000), () => 0), T0 + 12 * 3600_000);
});

test('a notBefore later than the issue time (clock ahead) is where the life starts', () => {
  const c = { notBeforeMs: T0 + 1000, notAfterMs: T0 + 5000, issuedAtMs: T0 };
  assert.equal(identityRenewalAtMs(c, () => 0), T0 + 3000);
});

test('a failed issuance is retried within a tenth of the remaining life, between 1 s and 30 s', () => {
  assert.equal(identityRetryDelayMs(T0 + 3000, T0), 1000);
  assert.equal(identityRetryDelayMs(T0 + 100_000, T0), 10_000);
  assert.equal(identityRetryDelayMs(T0 + 24 * 3600_000, T0), 30_000);
  assert.equal(identityRetryDelayMs(T0 - 5000, T0), 1000, 'already expired: keep trying every second');
});

test('the rotator renews at each half-life, hands over every new identity, and survives a failed issuance', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: T0 });
  const ttl = 10_000;
  let fail = false;
  const rotated: ZoneIdentityCert[] = [];
  const r = new IdentityRotator({
    issue: async () => {
      if (fail) throw new Error('CA unavailable');
      return cert(Date.now(), ttl);
    },
    onRotated: (c) => rotated.push(c),
    random: () => 0,
    logger: quiet,
  });
  t.after(() => r.stop());
  const first = await r.start();
  assert.equal(first.issuedAtMs, T0);
  assert.equal(r.renewAtMs, T0 + 5000);

  const settle = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  t.mock.timers.tick(4999);
  await settle();
  assert.equal(rotated.length, 0, 'not before half-life');
  t.mock.timers.tick(1);
  await settle();
  assert.equal(rotated.length, 1);
  assert.equal(rotated[0]!.issuedAtMs, T0 + 5000);
  assert.equal(r.current, rotated[0]);
  assert.equal(r.renewAtMs, T0 + 10_000);

  fail = true;
  t.mock.timers.tick(5000);
  await settle();
  assert.equal(rotated.length, 1, 'a failed issuance keeps the current identity');
  assert.equal(r.current, rotated[0]);
  // 5 s of life left at T0+10s: retry in max(1 s, 0.5 s).
  assert.equal(r.renewAtMs, T0 + 11_000);
  fail = false;
  t.mock.timers.tick(1000);
  await settle();
  assert.equal(rotated.length, 2);
  assert.equal(r.rotations, 2);
  assert.equal(r.current!.notAfterMs, T0 + 21_000);

  r.stop();
  t.mock.timers.tick(60_000);
  await settle();
  assert.equal(rotated.length, 2, 'nothing after stop');
});

test('a renewal that does not extend the life (CA about to expire) is not handed over', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: T0 });
  const caEnd = T0 + 8000;
  const rotated: ZoneIdentityCert[] = [];
  const r = new IdentityRotator({
    // The CA clamps each leaf to its own notAfter.
    issue: async () => ({ ...cert(Date.now(), 10_000), notAfterMs: Math.min(Date.now() + 10_000, caEnd) }),
    onRotated: (c) => rotated.push(c),
    random: () => 0,
    logger: quiet,
  });
  t.after(() => r.stop());
  await r.start();
  assert.equal(r.current!.notAfterMs, caEnd);
  t.mock.timers.tick(4000);
  for (let i = 0; i < 5; i++) await Promise.resolve();
  assert.equal(rotated.length, 0);
  assert.equal(r.current!.notAfterMs, caEnd);
  assert.ok(r.renewAtMs > T0 + 4000, 'a retry is scheduled');
});
