// The sidecar's listeners: outbound (HTTP/1.1 + h2c sniffed on one port), inbound (mTLS, h2 + HTTP/1.1), with L4 faults.
import net from 'node:net';
import http from 'node:http';
import http2 from 'node:http2';
import { createMtlsServer, type TlsCredentialSource } from '../../trust/tls.ts';
import type { PeerRejection } from '../../trust/verify.ts';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Registry } from '../../common/metrics.ts';
import type { ServerRequest, ServerResponse } from './bridge.ts';
import { wrapConnection, type L4Outcome } from '../l4/wrap.ts';
import type { L4Faults } from '../l4/l4-faults.ts';

/** The HTTP/2 client connection preface; a cleartext connection starting with it speaks h2c. */
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/** Header limits: larger requests get 431 (HTTP/1.1) or a stream reset (HTTP/2), and the process stays up. */
export const MAX_HEADER_BYTES = 16 * 1024;

export type RequestListener = (req: ServerRequest, res: ServerResponse) => void;

/** A running listener. */
export interface Listener {
  readonly port: number;
  close(): Promise<void>;
}

interface Common {
  readonly host: string;
  readonly port: number;
  readonly onRequest: RequestListener;
  /** Counts what the listener refused: malformed HTTP, TLS failures, oversized headers. */
  readonly onRefused: (reason: string) => void;
  readonly l4?: () => L4Faults;
  readonly onL4?: (outcome: L4Outcome) => void;
}

/** Tracks sockets so close() can end keep-alive connections instead of waiting for them. */
function tracker() {
  const set = new Set<Duplex>();
  return {
    add(s: Duplex) { set.add(s); s.once('close', () => set.delete(s)); },
    destroyAll() { for (const s of set) s.destroy(); },
  };
}

/**
 * The HTTP/1.1 and HTTP/2 servers a listener hands its sockets to (neither listens itself). Malformed HTTP/1.1 gets
 * 400 and oversized headers 431, each counted; HTTP/2 session errors are counted.
 */
function httpServers(opts: Common): { h1: http.Server; h2: http2.Http2Server } {
  const h1 = http.createServer({ maxHeaderSize: MAX_HEADER_BYTES, keepAliveTimeout: 30_000, requestTimeout: 0 }, opts.onRequest);
  const h2 = http2.createServer({ maxSessionMemory: 64, settings: { maxHeaderListSize: MAX_HEADER_BYTES } }, opts.onRequest);
  h1.on('clientError', (e: NodeJS.ErrnoException, sock: Duplex) => {
    opts.onRefused(e.code === 'HPE_HEADER_OVERFLOW' ? 'header-overflow' : 'malformed-http');
    if (sock.writable) sock.end(e.code === 'HPE_HEADER_OVERFLOW' ? 'HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\n\r\n' : 'HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else sock.destroy();
  });
  h2.on('sessionError', () => opts.onRefused('h2-session-error'));
  return { h1, h2 };
}

async function listen(server: net.Server, host: string, port: number): Promise<number> {
  server.listen(port, host);
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/**
 * Outbound: the app speaks cleartext HTTP/1.1 or h2c (gRPC) to this port. The first bytes decide which server
 * gets the socket; they are put back before the HTTP server reads them.
 */
export async function startOutboundListener(opts: Common): Promise<Listener> {
  const { h1, h2 } = httpServers(opts);
  const sockets = tracker();
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      const head = Buffer.concat(chunks);
      const n = Math.min(head.length, H2_PREFACE.length);
      const isH2 = head.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (isH2 && head.length < H2_PREFACE.length) return;
      socket.off('data', onData);
      socket.pause();
      socket.unshift(head);
      if (isH2) {
        // The HTTP/2 session reads the put-back bytes on its next tick; resuming here would flush them to nobody.
        h2.emit('connection', socket);
      } else {
        h1.emit('connection', socket);
        socket.resume();
      }
    };
    socket.on('data', onData);
  });
  const port = await listen(server, opts.host, opts.port);
  return {
    port,
    close: async () => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      h1.closeAllConnections();
      sockets.destroyAll();
      await closed;
    },
  };
}

export interface InboundListener extends Listener {
  /** Closes every open connection, so new L4 faults apply to all traffic at once (clients reconnect). */
  dropConnections(): void;
}

const PEER = Symbol('meshfed.peer');

/** The verified SPIFFE ID of the peer behind a request's socket (set at handshake; read through HTTP/2's socket proxy). */
export function requestPeer(socket: object | undefined): string | undefined {
  return (socket as { [PEER]?: string } | undefined)?.[PEER];
}

/**
 * Inbound: mTLS terminates here (HTTP/2 or HTTP/1.1 by ALPN) through trust/'s createMtlsServer, so every caller
 * passes verifyPeer against the source's current bundle (chain to a root, validity, revoked intermediates, clientAuth,
 * SPIFFE ID) before any request is read. A raw TCP accept comes first so L4 faults apply before TLS, as a network
 * fault would. A rotation in the source applies to new handshakes at once.
 */
export async function startInboundListener(opts: Common & {
  tls: TlsCredentialSource;
  /** Gets trust/'s meshfed_trust_peer_rejected_total{code} (e.g. MESHFED_E_CERT_REVOKED) and accepted counters. */
  registry?: Registry;
  /** Hears each verifyPeer or handshake refusal with its code and reason (for the log). */
  onReject?: (r: PeerRejection) => void;
}): Promise<InboundListener> {
  const { h1, h2 } = httpServers(opts);
  const sockets = tracker();
  const mtls = createMtlsServer(opts.tls, {}, (sock, peer) => {
    (sock as unknown as { [PEER]: string })[PEER] = peer.spiffeId;
    (sock.alpnProtocol === 'h2' ? h2 : h1).emit('connection', sock);
  }, {
    alpnProtocols: ['h2', 'http/1.1'],
    ...(opts.registry ? { registry: opts.registry } : {}),
    onReject: (r) => {
      opts.onRefused(rejectReason(r));
      opts.onReject?.(r);
    },
    accept: (socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      const faults = opts.l4?.();
      if (!faults) return socket;
      const { stream, outcome } = wrapConnection(socket, faults);
      if (outcome !== 'none') opts.onL4?.(outcome);
      return stream ?? undefined;
    },
  });
  const port = await mtls.listen(opts.port, opts.host);
  return {
    port,
    dropConnections: () => sockets.destroyAll(),
    close: async () => {
      const closed = mtls.close();
      h1.closeAllConnections();
      sockets.destroyAll();
      await closed;
    },
  };
}

/** The refused-connection label for an mTLS refusal: handshake failures by OpenSSL's reason, verifyPeer's by kind. */
function rejectReason(r: PeerRejection): string {
  if (!r.reason.startsWith('handshake failed:')) return 'bad-client-certificate';
  if (/WRONG_VERSION|HTTP_REQUEST|UNKNOWN_PROTOCOL|PACKET_LENGTH|wrong version|http request|unknown protocol/i.test(r.reason)) return 'not-tls';
  if (/CERTIFICATE|UNKNOWN_CA|VERIFY|PEER_DID_NOT_RETURN|certificate|unknown ca|verify/i.test(r.reason)) return 'bad-client-certificate';
  return 'tls-handshake';
}
