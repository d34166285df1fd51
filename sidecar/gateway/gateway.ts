// The east-west gateway: reads the SNI of each incoming TLS connection and passes the TCP stream to a local endpoint.
import net from 'node:net';
import { once } from 'node:events';
import type { Logger } from '../../common/logger.ts';
import { counter, gauge, type Registry } from '../../common/metrics.ts';
import { parseClientHello, parseGatewaySni, type GatewayTarget } from './sni.ts';
import { wrapConnection } from '../l4/wrap.ts';
import { NO_L4_FAULTS, type L4Faults } from '../l4/l4-faults.ts';

/** A local endpoint the gateway may forward to (a sidecar's inbound mTLS port). */
export interface GatewayEndpoint {
  readonly address: string;
  readonly port: number;
}

/** Maps a parsed SNI target to the local endpoints serving it; empty or undefined means unknown. */
export type GatewayResolver = (target: GatewayTarget) => readonly GatewayEndpoint[] | undefined;

export interface GatewayOptions {
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Swappable at runtime (config reload): read on every new connection. */
  resolve: GatewayResolver;
  /** L4 faults applied to incoming connections; read on every new connection. */
  l4?: () => L4Faults;
  /** How long a client may take to send its ClientHello. */
  readonly helloTimeoutMs?: number;
}

/** Why a connection was closed without being forwarded; these are the `reason` label values. */
export type GatewayRefusal = 'not-tls' | 'malformed' | 'no-sni' | 'unknown-sni' | 'no-endpoint' | 'hello-timeout' | 'upstream-connect';

export interface Gateway {
  readonly port: number;
  /** Current number of connections being forwarded. */
  active(): number;
  /** Closes every connection now (new L4 faults then apply to every flow, not only to new ones). */
  dropConnections(): void;
  close(): Promise<void>;
}

/** Starts the gateway. The gateway never holds a key and never decrypts: it only reads the cleartext ClientHello. */
export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const refused = counter(opts.registry, 'meshfed_gateway_connections_refused_total', 'Connections the gateway closed without forwarding', ['reason']);
  const forwarded = counter(opts.registry, 'meshfed_gateway_connections_total', 'Connections forwarded by SNI', ['host']);
  const activeGauge = gauge(opts.registry, 'meshfed_gateway_active_connections', 'Connections being forwarded now');
  const faultsInjected = counter(opts.registry, 'meshfed_fault_injections_total', 'Faults injected', ['kind']);
  const helloTimeout = opts.helloTimeoutMs ?? 10_000;
  const sockets = new Set<net.Socket>();
  const rr = new Map<string, number>();
  let activeCount = 0;

  const refuse = (sock: net.Socket, reason: GatewayRefusal, detail?: string) => {
    refused.inc({ reason });
    opts.logger.debug({ reason, detail, remote: sock.remoteAddress }, 'gateway refused a connection');
    sock.destroy();
  };

  const server = net.createServer({ noDelay: true }, (raw) => {
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    raw.on('error', () => {});
    const wrapped = wrapConnection(raw, opts.l4?.() ?? NO_L4_FAULTS);
    if (wrapped.outcome !== 'none') faultsInjected.inc({ kind: `l4-${wrapped.outcome}` });
    const sock = wrapped.stream;
    if (!sock) return;
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => refuse(raw, 'hello-timeout'), helloTimeout);
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      const head = chunks.length === 1 ? chunk : Buffer.concat(chunks, size);
      const r = parseClientHello(head);
      if (r.kind === 'incomplete') return;
      clearTimeout(timer);
      sock.off('data', onData);
      sock.pause();
      if (r.kind === 'not-tls' || r.kind === 'malformed' || r.kind === 'no-sni') return refuse(raw, r.kind, 'reason' in r ? r.reason : undefined);
      const target = parseGatewaySni(r.serverName);
      const endpoints = target ? opts.resolve(target) : undefined;
      if (!target || endpoints === undefined) return refuse(raw, 'unknown-sni', r.serverName);
      if (endpoints.length === 0) return refuse(raw, 'no-endpoint', r.serverName);
      const i = (rr.get(r.serverName) ?? 0) % endpoints.length;
      rr.set(r.serverName, i + 1);
      const ep = endpoints[i]!;
      const up = net.connect({ host: ep.address, port: ep.port, noDelay: true });
      sockets.add(up);
      up.on('close', () => sockets.delete(up));
      up.once('error', () => {
        refuse(raw, 'upstream-connect', `${ep.address}:${ep.port}`);
      });
      up.once('connect', () => {
        up.removeAllListeners('error');
        forwarded.inc({ host: target.host });
        activeCount++;
        activeGauge.set(activeCount);
        let done = false;
        const end = () => {
          if (done) return;
          done = true;
          activeCount--;
          activeGauge.set(activeCount);
          up.destroy();
          raw.destroy();
          if (sock !== raw) sock.destroy();
        };
        up.on('error', end);
        up.on('close', end);
        sock.on('error', end);
        sock.on('close', end);
        raw.on('close', end);
        up.write(head);
        sock.pipe(up);
        up.pipe(sock);
        sock.resume();
      });
    };
    sock.on('data', onData);
  });
  server.on('error', (e) => opts.logger.error({ err: e }, 'gateway listener error'));
  server.listen(opts.port, opts.host);
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  opts.logger.info({ host: opts.host, port }, 'gateway listening');
  return {
    port,
    active: () => activeCount,
    dropConnections: () => {
      for (const sk of sockets) sk.destroy();
    },
    close: async () => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
