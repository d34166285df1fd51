// prom-client helpers: a registry per process and metric constructors that enforce the meshfed_ prefix.
import client from 'prom-client';

export type Registry = client.Registry;

/** Every meshfed metric name starts with this. */
export const METRIC_PREFIX = 'meshfed_';

function checkName(name: string): string {
  if (!name.startsWith(METRIC_PREFIX)) throw new Error(`metric ${name} must start with ${METRIC_PREFIX}`);
  return name;
}

/**
 * A fresh registry. Process metrics (CPU, memory, event loop) are included unless asked otherwise; prom-client's
 * names already start with process_ or nodejs_, so they become meshfed_process_* and meshfed_nodejs_*.
 */
export function createRegistry(options: { processMetrics?: boolean } = {}): client.Registry {
  const registry = new client.Registry();
  if (options.processMetrics ?? true) client.collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return registry;
}

export function counter<L extends string>(registry: client.Registry, name: string, help: string, labelNames: readonly L[] = []): client.Counter<L> {
  return new client.Counter({ name: checkName(name), help, labelNames, registers: [registry] });
}

export function gauge<L extends string>(registry: client.Registry, name: string, help: string, labelNames: readonly L[] = []): client.Gauge<L> {
  return new client.Gauge({ name: checkName(name), help, labelNames, registers: [registry] });
}

/** A labelled gauge whose series are all read at scrape time (the previous series are dropped first). */
export function scrapedLabelledGauge<L extends string>(
  registry: client.Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  read: () => Iterable<{ readonly labels: Readonly<Record<L, string>>; readonly value: number }>,
): client.Gauge<L> {
  return new client.Gauge({
    name: checkName(name), help, labelNames, registers: [registry],
    collect() {
      this.reset();
      for (const s of read()) this.set(s.labels as Partial<Record<L, string | number>>, s.value);
    },
  });
}

/**
 * A counter whose per-label totals are kept elsewhere and read at scrape time (they must only grow): for counts that
 * start before the registry exists, e.g. trust bundles a relayed sidecar refused while it was still starting.
 */
export function scrapedLabelledCounter<L extends string>(
  registry: client.Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  read: () => Iterable<{ readonly labels: Readonly<Record<L, string>>; readonly value: number }>,
): client.Counter<L> {
  return new client.Counter({
    name: checkName(name), help, labelNames, registers: [registry],
    collect() {
      this.reset();
      for (const s of read()) this.inc(s.labels as Partial<Record<L, string | number>>, s.value);
    },
  });
}

/** A gauge whose value is read at scrape time; when `read` returns undefined the gauge keeps its last value. */
export function scrapedGauge(registry: client.Registry, name: string, help: string, read: () => number | undefined): client.Gauge {
  return new client.Gauge({
    name: checkName(name), help, registers: [registry],
    collect() {
      const v = read();
      if (v !== undefined) this.set(v);
    },
  });
}

export function histogram<L extends string>(
  registry: client.Registry, name: string, help: string, labelNames: readonly L[] = [], buckets?: number[],
): client.Histogram<L> {
  return new client.Histogram({ name: checkName(name), help, labelNames, registers: [registry], ...(buckets ? { buckets } : {}) });
}

/** Latency buckets in seconds, from 100 µs to 10 s, fine enough to see a 1 ms proxy cost. */
export const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
