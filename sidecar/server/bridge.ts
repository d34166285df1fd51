// Between Node's HTTP servers and the layer stack: requests in as ProxyRequest, ProxyResponse out, streamed both ways.
import type http from 'node:http';
import type http2 from 'node:http2';
import type { ProxyRequest, ProxyResponse } from '../types.ts';
import { Readable } from 'node:stream';
import { isGrpc } from './headers.ts';

/** A request from the HTTP/1.1 server or the HTTP/2 compatibility API; both are async-iterable bodies. */
export type ServerRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type ServerResponse = http.ServerResponse | http2.Http2ServerResponse;

/** The authority the client addressed (`:authority` on HTTP/2, Host on HTTP/1.1). */
export function authorityOf(req: ServerRequest): string {
  const h = req.headers;
  return String(h[':authority'] ?? h['host'] ?? '');
}

/** Which protocol the request came in on; gRPC is HTTP/2 with an application/grpc content type. */
export function protocolOf(req: ServerRequest): ProxyRequest['protocol'] {
  if (req.httpVersionMajor !== 2) return 'http1';
  return isGrpc(req.headers) ? 'grpc' : 'http2';
}

/** The request body as a stream, or null when the request has none (so upstream does not send a chunked empty body). */
export function bodyOf(req: ServerRequest): AsyncIterable<Uint8Array> | null {
  if (req.httpVersionMajor === 2) {
    const stream = (req as http2.Http2ServerRequest).stream;
    return stream.endAfterHeaders ? null : (req as AsyncIterable<Uint8Array>);
  }
  const h = req.headers;
  const len = h['content-length'];
  if (h['transfer-encoding'] !== undefined || (len !== undefined && len !== '0')) return req as AsyncIterable<Uint8Array>;
  return null;
}

/**
 * Streams a ProxyResponse to the client: headers, body with backpressure, then trailers (gRPC status lives there).
 * Resolves when done; never throws (a client that went away just ends the copy).
 */
export async function writeResponse(res: ServerResponse, pr: ProxyResponse, extraHeaders?: Record<string, string>): Promise<void> {
  const headers: Record<string, string | string[]> = { ...pr.headers, ...extraHeaders };
  // A gRPC "trailers-only" answer arrives as headers carrying grpc-status. Re-sent as headers + DATA end, clients
  // would miss the status; moving it to the trailers keeps the answer valid gRPC either way.
  let grpcStatus: Record<string, string> | undefined;
  if (headers['grpc-status'] !== undefined && (res as http2.Http2ServerResponse).stream !== undefined) {
    grpcStatus = {};
    for (const k of ['grpc-status', 'grpc-message', 'grpc-status-details-bin']) {
      const v = headers[k];
      if (v !== undefined) grpcStatus[k] = String(v);
      delete headers[k];
    }
  }
  try {
    if (res.headersSent || res.destroyed) return drain(pr);
    (res as http.ServerResponse).writeHead(pr.status, headers);
    // HTTP/1.1 with a known length: the chunk that completes the body goes out with end(), which corks the socket,
    // so headers and body leave in one write (one TLS record, one syscall) instead of two or three. Writes were the
    // largest share of the sidecar's busy CPU. Streams still go out chunk by chunk as they arrive.
    const length = (res as http2.Http2ServerResponse).stream === undefined ? contentLength(headers['content-length']) : -1;
    if (pr.body instanceof Readable) await copyReadable(pr.body, res, length);
    else if (pr.body) {
      let sent = 0;
      for await (const chunk of pr.body) {
        if (res.destroyed) break;
        sent += chunk.byteLength;
        if (sent === length && !res.writableEnded) {
          res.end(chunk);
          continue;
        }
        if (!(res as http.ServerResponse).write(chunk)) await waitDrain(res);
      }
    }
    if (res.writableEnded) return;
    if (pr.trailers || (grpcStatus && Object.keys(grpcStatus).length > 0)) {
      const t = { ...grpcStatus, ...(pr.trailers ? await pr.trailers : {}) };
      if (Object.keys(t).length > 0 && !res.destroyed) {
        try { (res as http.ServerResponse).addTrailers(t); } catch { /* HTTP/1.1 without chunking cannot carry trailers */ }
      }
    }
    if (!res.destroyed) res.end();
  } catch {
    if (!res.destroyed) (res as http.ServerResponse).destroy();
    await drain(pr);
  }
}

/**
 * The same copy for a Node stream (undici's response bodies are), driven by its events instead of an async iterator:
 * the iterator's generator, promises and end-of-stream listeners were the largest allocation left per proxied
 * request. Backpressure pauses the source until the client drains; a client that goes away destroys the source; a
 * source that fails or closes early rejects, so the caller resets the client's response.
 */
function copyReadable(src: Readable, res: ServerResponse, length: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    const out = res as http.ServerResponse;
    const onData = (chunk: Buffer) => {
      sent += chunk.byteLength;
      if (sent === length && !res.writableEnded) out.end(chunk);
      else if (!out.write(chunk)) {
        src.pause();
        res.once('drain', onDrain);
      }
    };
    const onDrain = () => src.resume();
    const settle = (err?: Error) => {
      src.off('data', onData);
      src.off('end', onEnd);
      src.off('error', onError);
      src.off('close', onSrcClose);
      res.off('close', onResClose);
      res.off('drain', onDrain);
      if (err) reject(err);
      else resolve();
    };
    const onEnd = () => settle();
    const onError = (e: Error) => settle(e);
    const onSrcClose = () => { if (!src.readableEnded) settle(new Error('upstream body closed early')); };
    const onResClose = () => {
      src.destroy();
      settle();
    };
    src.on('data', onData);
    src.on('end', onEnd);
    src.on('error', onError);
    src.on('close', onSrcClose);
    res.on('close', onResClose);
  });
}

function contentLength(v: string | string[] | undefined): number {
  if (typeof v !== 'string' || !/^\d{1,15}$/.test(v)) return -1;
  return Number(v);
}

function waitDrain(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => { res.off('drain', done); res.off('close', done); resolve(); };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Discards the rest of a body so its connection can be reused or closed. */
async function drain(pr: ProxyResponse): Promise<void> {
  const b = pr.body as (AsyncIterable<Uint8Array> & { destroy?: () => void }) | null;
  if (b && typeof b.destroy === 'function') b.destroy();
}
