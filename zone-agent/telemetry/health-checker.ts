// Active HTTP health checks of local endpoints: one probe loop per endpoint, verdicts folded by the pure state machine.
import { request } from 'undici';
import { formatHostPort } from '../../api/fields.ts';
import type { LocalService } from '../discovery/model.ts';
import { effectiveSettings, failureCounts, INITIAL_HEALTH, nextHealth, probeOk, type HealthCheckSettings, type HealthState } from './health.ts';

export type { HealthCheckSettings } from './health.ts';

/** How one service is probed: its path, where it differs from the agent's settings, and per-endpoint probe ports. */
export interface HealthCheckSpec {
  readonly path: string;
  readonly settings?: Partial<HealthCheckSettings>;
  /** Probe port per endpoint, keyed "host:port" of the endpoint (formatHostPort); absent: the endpoint's own port. */
  readonly ports?: Readonly<Record<string, number>>;
}

interface Target {
  readonly url: string;
  readonly settings: HealthCheckSettings;
  /** url and settings: a target whose spec changed is replaced (its loop restarts with the new ones). */
  readonly signature: string;
  /** When this loop started (Date.now()), and whether a probe ever passed: for the start-up grace. */
  readonly since: number;
  passed: boolean;
  state: HealthState;
  timer: NodeJS.Timeout;
}

/**
 * Probes every endpoint of services that have a health-check spec. Invariant: one loop per endpoint; a loop is
 * stopped when its endpoint leaves discovery (or its spec changes); onChange fires only when a verdict flips.
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

  /** Sets which endpoints to probe: those of services with a spec in `specs` ("namespace/name" -> spec). */
  setTargets(services: readonly LocalService[], specs: Readonly<Record<string, HealthCheckSpec>>): void {
    const wanted = new Map<string, { url: string; settings: HealthCheckSettings; signature: string }>();
    for (const s of services) {
      const spec = specs[`${s.namespace}/${s.name}`];
      if (!spec) continue;
      const settings = effectiveSettings(this.settings, spec.settings);
      for (const e of s.endpoints) {
        const endpoint = formatHostPort({ host: e.address, port: e.port });
        const url = `http://${formatHostPort({ host: e.address, port: spec.ports?.[endpoint] ?? e.port })}${spec.path}`;
        wanted.set(`${s.namespace}/${s.name}/${e.address}:${e.port}`, { url, settings, signature: `${url} ${JSON.stringify(settings)}` });
      }
    }
    for (const [key, t] of this.targets) {
      if (wanted.get(key)?.signature !== t.signature) {
        clearInterval(t.timer);
        this.targets.delete(key);
      }
    }
    for (const [key, w] of wanted) {
      if (this.targets.has(key)) continue;
      const target: Target = { ...w, since: Date.now(), passed: false, state: INITIAL_HEALTH, timer: setInterval(() => void this.probe(target), w.settings.interval) };
      target.timer.unref();
      this.targets.set(key, target);
      void this.probe(target);
    }
  }

  private async probe(t: Target): Promise<void> {
    let result: { status?: number; error?: string };
    try {
      const { timeout } = t.settings;
      const res = await request(t.url, { method: 'GET', signal: AbortSignal.timeout(timeout), headersTimeout: timeout, bodyTimeout: timeout });
      await res.body.dump();
      result = { status: res.statusCode };
    } catch (e) {
      result = { error: (e as Error).message };
    }
    if (!this.running) return;
    const ok = probeOk(result);
    if (ok) t.passed = true;
    else if (!failureCounts(t.passed, Date.now() - t.since, t.settings.initialDelay)) return;
    const before = t.state.healthy;
    t.state = nextHealth(t.state, ok, t.settings);
    if (t.state.healthy !== before) this.onChange();
  }

  /** Services with probe verdicts applied: an endpoint is healthy when discovery and its probe (if any) both say so. */
  overlay(services: readonly LocalService[], specs: Readonly<Record<string, HealthCheckSpec>>): LocalService[] {
    return services.map((s) => {
      if (!specs[`${s.namespace}/${s.name}`]) return s;
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
