// Active HTTP health checks of local endpoints: one probe loop per endpoint, verdicts folded by the pure state machine.
import { request } from 'undici';
import { formatHostPort } from '../../api/fields.ts';
import type { LocalService } from '../discovery/model.ts';
import { INITIAL_HEALTH, nextHealth, probeOk, type HealthState } from './health.ts';

/** Probe settings (durations in ms). */
export interface HealthCheckSettings {
  readonly interval: number;
  readonly timeout: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

interface Target {
  readonly url: string;
  state: HealthState;
  timer: NodeJS.Timeout;
}

/**
 * Probes every endpoint of services that have a health-check path. Invariant: one loop per endpoint; a loop is
 * stopped when its endpoint leaves discovery; onChange fires only when a verdict flips.
 */
export class HealthChecker {
  private readonly settings: HealthCheckSettings;
  private readonly onChange: () => void;
  private readonly targets = new Map<string, Target>();
  private running = false;

  constructor(settings: HealthCheckSettings, onChange: () => void) {
    this.settings = settings;
    this.onChange = onChange;
  }

  start(): void {
    this.running = true;
  }

  stop(): void {
    this.running = false;
    for (const t of this.targets.values()) clearInterval(t.timer);
    this.targets.clear();
  }

  /** Sets which endpoints to probe: those of services with a path in `paths` ("namespace/name" -> "/healthz"). */
  setTargets(services: readonly LocalService[], paths: Readonly<Record<string, string>>): void {
    const wanted = new Map<string, string>();
    for (const s of services) {
      const path = paths[`${s.namespace}/${s.name}`];
      if (!path) continue;
      for (const e of s.endpoints) {
        wanted.set(`${s.namespace}/${s.name}/${e.address}:${e.port}`, `http://${formatHostPort({ host: e.address, port: e.port })}${path}`);
      }
    }
    for (const [key, t] of this.targets) {
      if (wanted.get(key) !== t.url) {
        clearInterval(t.timer);
        this.targets.delete(key);
      }
    }
    for (const [key, url] of wanted) {
      if (this.targets.has(key)) continue;
      const target: Target = { url, state: INITIAL_HEALTH, timer: setInterval(() => void this.probe(target), this.settings.interval) };
      target.timer.unref();
      this.targets.set(key, target);
      void this.probe(target);
    }
  }

  private async probe(t: Target): Promise<void> {
    let result: { status?: number; error?: string };
    try {
      const res = await request(t.url, { method: 'GET', signal: AbortSignal.timeout(this.settings.timeout), headersTimeout: this.settings.timeout, bodyTimeout: this.settings.timeout });
      await res.body.dump();
      result = { status: res.statusCode };
    } catch (e) {
      result = { error: (e as Error).message };
    }
    if (!this.running) return;
    const before = t.state.healthy;
    t.state = nextHealth(t.state, probeOk(result), this.settings);
    if (t.state.healthy !== before) this.onChange();
  }

  /** Services with probe verdicts applied: an endpoint is healthy when discovery and its probe (if any) both say so. */
  overlay(services: readonly LocalService[], paths: Readonly<Record<string, string>>): LocalService[] {
    return services.map((s) => {
      if (!paths[`${s.namespace}/${s.name}`]) return s;
      return {
        ...s,
        endpoints: s.endpoints.map((e) => {
          const t = this.targets.get(`${s.namespace}/${s.name}/${e.address}:${e.port}`);
          return t && !t.state.healthy && e.healthy ? { ...e, healthy: false } : e;
        }),
      };
    });
  }
}
