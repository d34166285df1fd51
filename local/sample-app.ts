// The demo shop's tiny HTTP services: each answers JSON naming its service, zone and version, with its upstream's answer nested.
import http from 'node:http';
import { request } from 'undici';

/** One instance of a sample service. */
export interface SampleAppOptions {
  readonly service: string;
  readonly zone: string;
  readonly version: string;
  /** Distinguishes replicas of one service in one zone. */
  readonly instance: string;
  readonly host?: string;
  readonly port: number;
  /** The upstream to call, as the mesh names it (e.g. "catalog.shop"), through the local sidecar. */
  readonly upstream?: { readonly authority: string; readonly via: string };
}

/** The JSON every sample service answers. */
export interface SampleReply {
  readonly service: string;
  readonly zone: string;
  readonly version: string;
  readonly instance: string;
  readonly upstream?: SampleReply | { readonly error: string; readonly status?: number; readonly code?: string };
}

const PROPAGATED = ['traceparent', 'tracestate', 'x-request-id', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-sampled', 'b3', 'x-canary'];

/** Starts one sample service; resolves with its bound port. */
export async function startSampleApp(options: SampleAppOptions): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    void (async () => {
      if (req.url === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      }
      req.resume();
      const reply: { -readonly [K in keyof SampleReply]: SampleReply[K] } = {
        service: options.service, zone: options.zone, version: options.version, instance: options.instance,
      };
      let status = 200;
      if (options.upstream) {
        const headers: Record<string, string> = { host: options.upstream.authority };
        for (const name of PROPAGATED) {
          const v = req.headers[name];
          if (typeof v === 'string') headers[name] = v;
        }
        try {
          const up = await request(`${options.upstream.via}${req.url ?? '/'}`, { method: 'GET', headers, headersTimeout: 10_000, bodyTimeout: 10_000 });
          const text = await up.body.text();
          if (up.statusCode === 200) reply.upstream = JSON.parse(text) as SampleReply;
          else {
            // An answer the sidecar made itself names its stable code in x-meshfed-code: pass it on to the caller.
            const code = up.headers['x-meshfed-code'];
            reply.upstream = { error: text.slice(0, 300), status: up.statusCode, ...(typeof code === 'string' ? { code } : {}) };
            status = 502;
          }
        } catch (e) {
          reply.upstream = { error: (e as Error).message };
          status = 502;
        }
      }
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(reply) + '\n');
    })();
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** The zones that served each hop of a reply, outermost first: e.g. ["us-east-1a", "us-east-1b", "europe-west1-b"]. */
export function hopZones(reply: SampleReply): { service: string; zone: string; version: string }[] {
  const hops: { service: string; zone: string; version: string }[] = [];
  let cur: SampleReply | { error: string } | undefined = reply;
  while (cur && 'service' in cur) {
    hops.push({ service: cur.service, zone: cur.zone, version: cur.version });
    cur = cur.upstream;
  }
  return hops;
}
