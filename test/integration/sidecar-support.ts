// Helpers for the sidecar and gateway integration tests: a test PKI on disk, echo apps, config files and polling.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import type http2 from 'node:http2';
import { createTestPki, type TestPki } from '../../trust/testing.ts';
import { startOutboundListener, type Listener } from '../../sidecar/server/listeners.ts';
import type { ServerRequest, ServerResponse } from '../../sidecar/server/bridge.ts';
import { pino } from 'pino';

/** Anything with an `after` hook (a test context or a suite). */
export interface Cleanup {
  after(fn: () => unknown): void;
}

/** A silent logger so test output stays readable; set MESHFED_TEST_LOG=1 to see sidecar logs. */
export function quietLogger() {
  return pino({ level: process.env['MESHFED_TEST_LOG'] ? 'debug' : 'silent' });
}

export function tempDir(t: Cleanup, prefix = 'meshfed-sidecar-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Certificate file paths for one workload (`files` is the shape of config.certificates). */
export interface CertPaths {
  readonly files: { readonly cert: string; readonly key: string; readonly ca: string };
  readonly spiffeId: string;
}

/** One PKI for a test file, with helpers to write a workload's cert, key and roots to disk. */
export interface DiskPki {
  readonly pki: TestPki;
  workload(dir: string, ns: string, sa: string, opts?: { west?: boolean }): Promise<CertPaths>;
}

export async function diskPki(trustDomain = 'mesh.test'): Promise<DiskPki> {
  const pki = await createTestPki({ trustDomain });
  return {
    pki,
    async workload(dir, ns, sa, o = {}) {
      const spiffeId = `spiffe://${trustDomain}/ns/${ns}/sa/${sa}`;
      const w = await pki.issue(spiffeId, { ...(o.west ? { ca: pki.west } : {}), usages: ['server', 'client'] });
      const base = join(dir, `${ns}-${sa}-${Math.random().toString(36).slice(2, 8)}`);
      writeFileSync(`${base}.crt`, w.chainPem);
      writeFileSync(`${base}.key`, w.keyPem, { mode: 0o600 });
      writeFileSync(`${base}.ca`, pki.root.certPem);
      return { files: { cert: `${base}.crt`, key: `${base}.key`, ca: `${base}.ca` }, spiffeId };
    },
  };
}

/** What an echo app answers to GET: who it is and what reached it. */
export interface EchoReply {
  readonly name: string;
  readonly version: string;
  readonly zone: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

/**
 * An app speaking HTTP/1.1 and h2c on one port. GET returns an EchoReply; POST/PUT stream the body back;
 * GET /bytes?n=N streams N bytes; GET /status?code=N answers N.
 */
export async function startEchoApp(t: Cleanup, name: string, zone: string): Promise<Listener & { requests: () => number }> {
  let count = 0;
  const onRequest = (req: ServerRequest, res: ServerResponse) => {
    count++;
    const url = new URL(req.url ?? '/', 'http://app');
    const r = res as http.ServerResponse;
    if (req.method === 'POST' || req.method === 'PUT') {
      r.writeHead(200, { 'content-type': 'application/octet-stream' });
      (req as http.IncomingMessage).pipe(r);
      return;
    }
    if (url.pathname === '/bytes') {
      const n = Number(url.searchParams.get('n') ?? '0');
      r.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(n) });
      const chunk = Buffer.alloc(64 * 1024, 120);
      let left = n;
      const pump = () => {
        while (left > 0) {
          const c = chunk.subarray(0, Math.min(left, chunk.length));
          left -= c.length;
          if (!r.write(c)) return void r.once('drain', pump);
        }
        r.end();
      };
      pump();
      return;
    }
    if (url.pathname === '/status') {
      r.writeHead(Number(url.searchParams.get('code') ?? '200'));
      r.end();
      return;
    }
    const body: EchoReply = { name, version: req.httpVersion, zone, method: req.method ?? '', path: req.url ?? '', headers: req.headers as EchoReply['headers'] };
    r.writeHead(200, { 'content-type': 'application/json' });
    r.end(JSON.stringify(body));
  };
  const l = await startOutboundListener({ host: '127.0.0.1', port: 0, onRequest, onRefused: () => {} });
  t.after(() => l.close());
  return { ...l, requests: () => count };
}

/** Writes a JSON config file (JSON is YAML) and returns its path. */
export function writeConfig(dir: string, cfg: unknown, name = 'sidecar.json'): string {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(cfg, null, 2));
  return p;
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export type { http2 };

import type { StackFactory } from '../../sidecar/server/sidecar.ts';
import type { Outcome } from '../../sidecar/types.ts';

/** A bare stack (pick an endpoint, send) for testing the I/O side alone, without routing, retries or authz. */
export const bareStack: StackFactory = (deps) => ({
  outbound: async (req) => {
    const picker = deps.balancer.picker(req.service);
    const pick = picker?.pick({ now: deps.clock() });
    if (!pick || pick.kind !== 'complete') return { status: 503, headers: {}, body: null, flags: ['no-endpoint'] };
    deps.balancer.begin(pick.endpoint);
    const res = await deps.upstream({ ...req, target: pick.endpoint });
    const outcome: Outcome = res.flags?.includes('connect-failure') ? 'connect-failure' : res.status >= 500 ? '5xx' : 'success';
    deps.balancer.end(req.service, pick.endpoint, outcome, deps.clock());
    return res;
  },
  inbound: (req) => deps.app(req),
});
