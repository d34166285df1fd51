// Field schemas shared by every config file: durations, host:port addresses, DNS-label names, file paths.
import { z } from 'zod';
import { isLocalitySegment } from './locality.ts';

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|y)$/;
const UNIT_MS = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, y: 365 * 86400e3 } as const;

/** The hint every duration error ends with, so users learn the grammar from the message. */
export const DURATION_HINT = 'use a number with a unit, e.g. 500ms, 5s, 10m, 24h, 30d';

/** Parses a duration such as `500ms`, `1.5s`, `10m`, `24h`, `30d`, `1y` into whole milliseconds; undefined when malformed. */
export function parseDurationMs(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]);
}

/** Renders milliseconds in the largest unit that divides them exactly, the inverse of parseDurationMs. */
export function formatDurationMs(ms: number): string {
  for (const [unit, size] of [['d', 86400e3], ['h', 3600e3], ['m', 60e3], ['s', 1e3]] as const) {
    if (ms !== 0 && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * A duration written as a string (`"500ms"`, `"5s"`) and read as milliseconds (a number).
 * Bare numbers are refused on purpose: `timeout: 5` is ambiguous between seconds and milliseconds.
 * Wrap with `.default(ms)` for a default and `.refine()`/`durationBetween` for bounds.
 */
// z.custom keeps the input type a string for callers while the transform still sees (and explains) any value.
export const durationSchema = z.custom<string>(() => true).transform((value: unknown, ctx): number => {
  if (typeof value === 'string') {
    const ms = parseDurationMs(value);
    if (ms !== undefined) return ms;
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration (${DURATION_HINT})`, input: value });
    return z.NEVER;
  }
  const shown = value === undefined ? 'nothing' : typeof value === 'number' ? String(value) : typeof value === 'object' ? (value === null ? 'null' : Array.isArray(value) ? 'a list' : 'a mapping') : String(value);
  const hint = typeof value === 'number' ? ` (write it with a unit, e.g. "${value}s" or "${value}ms")` : ` (${DURATION_HINT})`;
  ctx.addIssue({ code: 'custom', message: `expected a duration, got ${shown}${hint}`, input: value });
  return z.NEVER;
});

/** A duration that must lie in [minMs, maxMs]. Add a default in milliseconds with `.default(ms)`. */
export function durationBetween(minMs: number, maxMs: number) {
  return durationSchema.refine((ms) => ms >= minMs && ms <= maxMs, {
    message: `must be between ${formatDurationMs(minMs)} and ${formatDurationMs(maxMs)}`,
  });
}

/** A listen or dial address. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Parses `host:port` (IPv6 as `[::1]:port`); undefined when malformed. An empty host means 127.0.0.1. */
export function parseHostPortText(text: string): HostPort | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

/** Renders a HostPort back to `host:port`, bracketing IPv6 hosts. */
export function formatHostPort(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** A `host:port` string, read as `{ host, port }`. Port 0 asks the OS for a free port. */
export const hostPortSchema = z.string().transform((text, ctx): HostPort => {
  const hp = parseHostPortText(text);
  if (hp) return hp;
  ctx.addIssue({ code: 'custom', message: `"${text}" is not host:port (e.g. 127.0.0.1:7443 or [::1]:7443)`, input: text });
  return z.NEVER;
});

/** A name that is a DNS label (lowercase letters, digits and dashes, at most 63 characters), as zones, clusters and networks are. */
export const dnsLabelSchema = z.string().refine(isLocalitySegment, {
  error: (issue) => `"${String(issue.input)}" is not a valid name (lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters)`,
});

/** A non-empty file or directory path. Relative paths are kept as written; the loader of the file decides what they are relative to. */
export const pathSchema = z.string().min(1, { message: 'must be a non-empty path' });
