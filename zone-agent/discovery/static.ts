// Static discovery: services and endpoints from a YAML file, re-read when it changes; a bad edit keeps the last good set.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { loadStaticDiscovery, type StaticDiscovery } from '../../api/static-discovery.ts';
import { describeError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { type Discovery, type LocalService } from './model.ts';

export interface StaticDiscoveryOptions {
  readonly file: string;
  readonly logger: Logger;
  /** Called after a bad edit was refused, for metrics. */
  readonly onInvalid?: () => void;
  /** A fallback re-check period, for filesystems where fs.watch misses events. */
  readonly pollMs?: number;
}

/** Turns a validated file into the agent's service view. */
export function staticServices(file: StaticDiscovery): LocalService[] {
  return file.services.map((s) => ({
    namespace: s.namespace,
    name: s.name,
    capacityRps: s.capacityRps,
    endpoints: s.endpoints.map((e) => ({ address: e.address.host, port: e.address.port, healthy: e.healthy, terminating: false, labels: { ...e.labels } })),
  }));
}

/**
 * Discovery from a file. Invariant: `current()` always reflects the last file that validated; an unreadable or
 * invalid edit is logged with its path-named errors and changes nothing. The directory is watched (not the file),
 * so editors that replace the file by rename are followed.
 */
export class StaticFileDiscovery implements Discovery {
  private readonly options: StaticDiscoveryOptions;
  private readonly listeners: (() => void)[] = [];
  private services: readonly LocalService[] = [];
  private file: StaticDiscovery | undefined;
  private lastText = '';
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private pending: NodeJS.Timeout | undefined;

  constructor(options: StaticDiscoveryOptions) {
    this.options = options;
  }

  async start(): Promise<void> {
    this.reload();
    try {
      this.watcher = watch(dirname(this.options.file), (_event, name) => {
        if (name === null || name === basename(this.options.file)) this.schedule();
      });
      this.watcher.on('error', () => undefined);
    } catch (e) {
      this.options.logger.warn({ file: this.options.file, err: describeError(e) }, 'cannot watch the static discovery directory; polling only');
    }
    this.poll = setInterval(() => this.reload(), this.options.pollMs ?? 2000);
    this.poll.unref();
  }

  async stop(): Promise<void> {
    this.watcher?.close();
    if (this.poll) clearInterval(this.poll);
    if (this.pending) clearTimeout(this.pending);
  }

  current(): readonly LocalService[] {
    return this.services;
  }

  /** The last valid file, for the policies and faults it carries. */
  currentFile(): StaticDiscovery | undefined {
    return this.file;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Editors write in several steps; a short settle avoids reading a half-written file. */
  private schedule(): void {
    if (this.pending) clearTimeout(this.pending);
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.reload();
    }, 20);
  }

  /** Re-reads the file; returns true when a new valid file was taken. */
  reload(): boolean {
    let text: string;
    let parsed: StaticDiscovery;
    try {
      // Read once so the text compared and the text parsed are the same bytes.
      parsed = loadStaticDiscovery(this.options.file);
      text = JSON.stringify(parsed);
    } catch (e) {
      const msg = describeError(e);
      if (msg !== this.lastText) {
        this.lastText = msg;
        this.options.onInvalid?.();
        this.options.logger.warn({ code: 'MESHFED_E_AGENT_STATIC_INVALID', file: this.options.file, err: msg },
          `static discovery file rejected, keeping the last good set: ${msg}`);
      }
      return false;
    }
    if (text === this.lastText) return false;
    this.lastText = text;
    this.file = parsed;
    // Any valid change notifies, even one touching only policies or faults: those are relayed too.
    this.services = staticServices(parsed);
    for (const l of this.listeners) l();
    return true;
  }
}
