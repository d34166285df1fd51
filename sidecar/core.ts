// The pure side of the sidecar in one import: types, decisions, layers, the stack order, and a ready-made stack factory.
import type { FaultSettings, SidecarConfig } from '../api/sidecar-config.ts';
import type { PickerSource } from './balancer/balancer.ts';
import { realTimers, type StackDeps, type StackEvent } from './layers/deps.ts';
import { inboundStack, outboundStack } from './stack.ts';
import type { Handler, Random } from './types.ts';

export * from './types.ts';
export * from './balancer/index.ts';
export * from './routing/index.ts';
export * from './resilience/index.ts';
export * from './faults/index.ts';
export * from './authz/index.ts';
export * from './layers/index.ts';
export { outboundStack, inboundStack, compose } from './stack.ts';
export { seededRandom } from '../common/random.ts';

/** What createStacks needs; sidecar/server's StackDeps satisfies it as is. */
export interface StackInput {
  /** The config snapshot this pair of handlers serves (the I/O side rebuilds the handlers on every change). */
  readonly config: SidecarConfig;
  readonly balancer: PickerSource;
  /** Innermost outbound handler: sends req to req.target. */
  readonly upstream: Handler;
  /** Innermost inbound handler: the local app. */
  readonly app: Handler;
  readonly faults: () => FaultSettings['rules'];
  readonly random: Random;
  readonly clock: () => number;
  /** Ejections are counted here (other counters come from response flags). */
  readonly metrics?: { readonly ejections: { inc(labels: { dest_service: string; zone: string }): void } };
  /** Authz denials and ejections are logged with their reasons. */
  readonly logger?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  readonly onEvent?: (e: StackEvent) => void;
  /** Fire-and-forget mirror sender. */
  readonly mirror?: StackDeps['mirror'];
  /** Timers; real ones when absent. */
  readonly sleep?: StackDeps['sleep'];
  readonly schedule?: StackDeps['schedule'];
}

/** Builds the outbound and inbound handlers (shape of sidecar/server's StackFactory). */
export function createStacks(input: StackInput): { outbound: Handler; inbound: Handler } {
  const onEvent = (e: StackEvent): void => {
    if (e.kind === 'outlier' && e.event.kind === 'ejected') {
      input.metrics?.ejections.inc({ dest_service: e.service, zone: e.event.zone });
      input.logger?.info({ service: e.service, endpoint: e.event.endpoint, until: new Date(e.event.until).toISOString(), ejections: e.event.ejections }, 'endpoint ejected');
    } else if (e.kind === 'authz-denied') {
      input.logger?.warn({ service: e.service, peer: e.peer ?? null, reason: e.reason }, 'authz denied');
    }
    input.onEvent?.(e);
  };
  let faultSettings: FaultSettings = { rules: [] };
  const deps: StackDeps = {
    clock: input.clock,
    random: input.random,
    sleep: input.sleep ?? realTimers.sleep,
    schedule: input.schedule ?? realTimers.schedule,
    config: () => input.config,
    faults: () => {
      const rules = input.faults();
      if (rules !== faultSettings.rules) faultSettings = { rules };
      return faultSettings;
    },
    pickers: input.balancer,
    onEvent,
    ...(input.mirror ? { mirror: input.mirror } : {}),
  };
  return { outbound: outboundStack(deps)(input.upstream), inbound: inboundStack(deps)(input.app) };
}
