// Pure active health-check decisions: consecutive successes/failures against healthy/unhealthy thresholds.

/** Thresholds, as in Envoy's health checking: consecutive results needed to flip a verdict. */
export interface HealthThresholds {
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

/** Probe settings (durations in ms): the agent's, or a service's with its overrides applied (effectiveSettings). */
export interface HealthCheckSettings extends HealthThresholds {
  readonly interval: number;
  readonly timeout: number;
  /**
   * Start-up grace: failed probes of an endpoint that has not passed one yet do not count for this long after the
   * checker first sees it (like Kubernetes' initialDelaySeconds, except that a pass ends the grace early). Absent or
   * 0: none. It spares endpoints that discovery lists before they run (`meshfed up` writes every port first).
   */
  readonly initialDelay?: number;
}

/** The agent's settings with a service's overrides; a timeout longer than the interval is cut to it. */
export function effectiveSettings(base: HealthCheckSettings, o: Partial<HealthCheckSettings> | undefined): HealthCheckSettings {
  const interval = o?.interval ?? base.interval;
  return {
    interval,
    timeout: Math.min(o?.timeout ?? base.timeout, interval),
    healthyThreshold: o?.healthyThreshold ?? base.healthyThreshold,
    unhealthyThreshold: o?.unhealthyThreshold ?? base.unhealthyThreshold,
    ...((o?.initialDelay ?? base.initialDelay) ? { initialDelay: o?.initialDelay ?? base.initialDelay } : {}),
  };
}

/** Whether a failed probe counts: not during the start-up grace of an endpoint that never passed (see initialDelay). */
export function failureCounts(everPassed: boolean, sinceFirstSeenMs: number, initialDelay: number | undefined): boolean {
  return everPassed || initialDelay === undefined || sinceFirstSeenMs >= initialDelay;
}

/**
 * The verdict for one endpoint. Invariant: at most one of successes/failures is non-zero (they count the
 * current run of equal results); `healthy` flips only when a run reaches its threshold.
 */
export interface HealthState {
  readonly healthy: boolean;
  readonly successes: number;
  readonly failures: number;
}

/** New endpoints start healthy: discovery already said they are ready, and a probe must not delay their first use. */
export const INITIAL_HEALTH: HealthState = Object.freeze({ healthy: true, successes: 0, failures: 0 });

/** Folds one probe result into the state. */
export function nextHealth(s: HealthState, ok: boolean, t: HealthThresholds): HealthState {
  if (ok) {
    const successes = s.successes + 1;
    return { healthy: s.healthy || successes >= t.healthyThreshold, successes, failures: 0 };
  }
  const failures = s.failures + 1;
  return { healthy: s.healthy && failures < t.unhealthyThreshold, successes: 0, failures };
}

/** What a probe outcome counts as: 2xx and 3xx are healthy; anything else, a timeout or a refused connection is not. */
export function probeOk(result: { readonly status?: number; readonly error?: string }): boolean {
  return result.error === undefined && result.status !== undefined && result.status >= 200 && result.status < 400;
}
