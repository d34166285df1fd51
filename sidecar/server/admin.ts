// The admin port: /ready, /stats, /config_dump, /faults (GET/PUT/PATCH/DELETE, validated) and /metrics.
import http from 'node:http';
import { once } from 'node:events';
import type net from 'node:net';
import { faultSettingsSchema, type FaultSettings } from '../../api/sidecar-config.ts';
import { validateConfig } from '../../api/load.ts';
import { MeshfedError } from '../../common/errors.ts';
import type { Registry } from '../../common/metrics.ts';
import { parseL4Faults, type L4Faults } from '../l4/l4-faults.ts';
import { admitAdmin, type AdminAuth } from '../../common/admin-auth.ts';

/** The runtime fault state shown and set by /faults: L7 rules (sidecar-core's schema) and L4 connection faults. */
export interface RuntimeFaults {
  readonly rules: FaultSettings['rules'];
  readonly l4: L4Faults;
}

/** What the admin port reads from and writes to the running sidecar. */
export interface AdminHooks {
  readonly registry: Registry;
  ready(): { ready: boolean; reason?: string };
  stats(): unknown;
  configDump(): unknown;
  faults(): RuntimeFaults;
  setFaults(f: RuntimeFaults): void;
}

/** Largest accepted admin request body; fault settings are small. */
const MAX_BODY = 256 * 1024;

/**
 * Validates a PUT /faults body: `{ rules?: [...], l4?: {...} }`. Returns the new settings or path-named errors.
 * Keys left out keep their meaning "off" (PUT replaces the whole fault state).
 */
export function parseFaultsBody(text: string): { ok: true; value: RuntimeFaults } | { ok: false; errors: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, errors: [`body: not JSON (${(e as Error).message})`] };
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return { ok: false, errors: ['body: expected a JSON object { rules: [...], l4: {...} }'] };
  const { l4, ...l7 } = json as Record<string, unknown>;
  const errors: string[] = [];
  let rules: FaultSettings['rules'] = [];
  try {
    rules = validateConfig(faultSettingsSchema, l7, 'faults').rules;
  } catch (e) {
    if (e instanceof MeshfedError) errors.push(...e.details);
    else throw e;
  }
  const l4r = parseL4Faults(l4 ?? {});
  if (!l4r.ok) errors.push(...l4r.errors.map((x) => `faults: ${x}`));
  if (errors.length > 0 || !l4r.ok) return { ok: false, errors };
  return { ok: true, value: { rules, l4: l4r.value } };
}

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startAdmin(opts: { host: string; port: number; hooks: AdminHooks; auth?: AdminAuth | undefined }): Promise<AdminServer> {
  const h = opts.hooks;
  const server = http.createServer(async (req, res) => {
    if (!admitAdmin(opts.auth, req, res)) return;
    const url = new URL(req.url ?? '/', 'http://admin');
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body, null, 2) + '\n');
    };
    try {
      switch (`${req.method} ${url.pathname}`) {
        case 'GET /ready': {
          const r = h.ready();
          return json(r.ready ? 200 : 503, r);
        }
        case 'GET /stats':
          return json(200, h.stats());
        case 'GET /config_dump':
          return json(200, h.configDump());
        case 'GET /metrics': {
          const text = await h.registry.metrics();
          res.writeHead(200, { 'content-type': h.registry.contentType });
          return res.end(text);
        }
        case 'GET /faults':
          return json(200, h.faults());
        case 'PUT /faults': {
          const text = await readBody(req);
          if (text === undefined) return json(413, { error: `body larger than ${MAX_BODY} bytes` });
          const parsed = parseFaultsBody(text);
          if (!parsed.ok) return json(400, { code: 'MESHFED_E_CONFIG_INVALID', errors: parsed.errors });
          h.setFaults(parsed.value);
          return json(200, h.faults());
        }
        case 'PATCH /faults': {
          // Replaces only the parts given (rules, l4) and keeps the other: GET shows rules with defaults filled in
          // (durations in ms), which PUT's schema refuses, so "change the L4 faults, keep the rules" needs this.
          const text = await readBody(req);
          if (text === undefined) return json(413, { error: `body larger than ${MAX_BODY} bytes` });
          const parsed = parseFaultsBody(text);
          if (!parsed.ok) return json(400, { code: 'MESHFED_E_CONFIG_INVALID', errors: parsed.errors });
          const given = JSON.parse(text) as Record<string, unknown>;
          const now = h.faults();
          h.setFaults({ rules: 'rules' in given ? parsed.value.rules : now.rules, l4: 'l4' in given ? parsed.value.l4 : now.l4 });
          return json(200, h.faults());
        }
        case 'DELETE /faults':
          h.setFaults({ rules: [], l4: { latencyMs: 0, bandwidthBytesPerSec: 0, resetPercent: 0, blackholePercent: 0 } });
          return json(200, h.faults());
        default: {
          const known = ['/ready', '/stats', '/config_dump', '/metrics', '/faults'];
          if (known.includes(url.pathname)) return json(405, { error: `${req.method} not allowed on ${url.pathname}` });
          return json(404, { error: `no such admin path; try ${known.join(', ')}` });
        }
      }
    } catch (e) {
      return json(500, { error: (e as Error).message });
    }
  });
  server.listen(opts.port, opts.host);
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
    },
  };
}

async function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
