// The agent's own zone identity over time: when to renew it (pure) and a rotator that re-issues it at half-life.
import 'reflect-metadata';
import { renewalDue } from '../../trust/ca.ts';
import { describeError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';

/** One issued zone identity: the chain and key to present, the roots to trust, and its validity. */
export interface ZoneIdentityCert {
  readonly spiffeId: string;
  readonly certChainPem: string;
  readonly keyPem: string;
  readonly rootsPem: string;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  /** When the agent obtained it (notBefore is back-dated for clock skew, so it is not the issue time). */
  readonly issuedAtMs: number;
}

/** The default lifetime of the agent's identity (DESIGN.md: short-lived, rotated at half-life). */
export const DEFAULT_IDENTITY_TTL_MS = 24 * 3600_000;

/**
 * When to renew an identity: half its life plus jitter, via trust's renewalDue, but measured from the later of
 * issuance and notBefore. The CA back-dates notBefore by a minute for clock skew; measured from there a short
 * lifetime (seconds in tests, minutes in tight setups) would be due at once and rotate in a loop.
 */
export function identityRenewalAtMs(cert: Pick<ZoneIdentityCert, 'notBeforeMs' | 'notAfterMs' | 'issuedAtMs'>, random: () => number): number {
  const start = Math.min(Math.max(cert.notBeforeMs, cert.issuedAtMs), cert.notAfterMs);
  return renewalDue(new Date(start), new Date(cert.notAfterMs), random).getTime();
}

/**
 * How long to wait before retrying a failed issuance: a tenth of the time left, between 1 s and 30 s, so a CA that
 * is briefly unusable is retried often enough to renew before the current certificate expires.
 */
export function identityRetryDelayMs(notAfterMs: number, nowMs: number): number {
  return Math.min(30_000, Math.max(1000, Math.floor((notAfterMs - nowMs) / 10)));
}

export interface IdentityRotatorOptions {
  /** Issues a fresh identity (new key) from the cluster CA. */
  readonly issue: () => Promise<ZoneIdentityCert>;
  /** Called with each new identity after the first; the Federation client switches to it. */
  readonly onRotated: (cert: ZoneIdentityCert) => void;
  readonly random: () => number;
  readonly logger: Logger;
}

/**
 * Keeps the agent's identity fresh.
 * States: idle -> waiting (timer until renewal) -> issuing -> waiting ... -> stopped.
 * Invariants: at most one timer and one issuance are pending; `current` only ever moves to a certificate that
 * expires later; a failed issuance keeps the current certificate and retries (identityRetryDelayMs).
 */
export class IdentityRotator {
  private readonly o: IdentityRotatorOptions;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private cert: ZoneIdentityCert | undefined;
  private renewAt = 0;
  /** Identities issued after the first. */
  rotations = 0;

  constructor(options: IdentityRotatorOptions) {
    this.o = options;
  }

  /** The identity in use (undefined before start). */
  get current(): ZoneIdentityCert | undefined {
    return this.cert;
  }

  /** When the current identity will be renewed (ms since the epoch; 0 before start). */
  get renewAtMs(): number {
    return this.renewAt;
  }

  /** Issues the first identity and schedules its renewal; throws when the first issuance fails. */
  async start(): Promise<ZoneIdentityCert> {
    const first = await this.o.issue();
    this.cert = first;
    this.stopped = false;
    this.schedule(identityRenewalAtMs(first, this.o.random));
    return first;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(atMs: number): void {
    if (this.stopped) return;
    this.renewAt = atMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.renew();
    }, Math.max(0, atMs - Date.now()));
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    let next: ZoneIdentityCert;
    try {
      next = await this.o.issue();
    } catch (e) {
      const now = Date.now();
      const notAfter = this.cert?.notAfterMs ?? now;
      const retryInMs = identityRetryDelayMs(notAfter, now);
      this.o.logger.error({ code: 'MESHFED_E_AGENT_IDENTITY_ISSUE', err: describeError(e), retryInMs, notAfter: new Date(notAfter).toISOString() },
        'could not renew the agent identity; keeping the current one');
      this.schedule(now + retryInMs);
      return;
    }
    if (this.stopped) return;
    if (this.cert && next.notAfterMs <= this.cert.notAfterMs) {
      // The CA clamps lifetimes to its own expiry: a renewal that gains nothing means the CA itself is ending.
      this.o.logger.error({ code: 'MESHFED_E_AGENT_IDENTITY_ISSUE', notAfter: new Date(next.notAfterMs).toISOString() },
        'the renewed agent identity expires no later than the current one (is the cluster CA about to expire?)');
      this.schedule(Date.now() + identityRetryDelayMs(this.cert.notAfterMs, Date.now()));
      return;
    }
    this.cert = next;
    this.rotations += 1;
    this.o.logger.info({ notAfter: new Date(next.notAfterMs).toISOString(), rotations: this.rotations }, 'agent identity rotated');
    this.schedule(identityRenewalAtMs(next, this.o.random));
    try {
      this.o.onRotated(next);
    } catch (e) {
      this.o.logger.error({ err: describeError(e) }, 'switching to the rotated identity failed');
    }
  }
}
