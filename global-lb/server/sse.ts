// Server-sent events: the wire framing (pure) and a hub that holds the open streams of one admin listener.
import type { ServerResponse } from 'node:http';

/** One event as the browser's EventSource receives it. */
export interface SseEvent {
  readonly event?: string;
  readonly id?: string;
  /** Serialised as JSON when not a string. */
  readonly data: unknown;
  /** Asks the client to wait this long before reconnecting. */
  readonly retryMs?: number;
}

/**
 * Frames one event. Every line of the data gets its own `data:` field, and the event name and id lose any line
 * break, so no payload can end the frame early or forge a second event.
 */
export function sseFrame(e: SseEvent): string {
  const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ');
  const text = typeof e.data === 'string' ? e.data : JSON.stringify(e.data);
  let out = '';
  if (e.retryMs !== undefined) out += `retry: ${Math.max(0, Math.floor(e.retryMs))}\n`;
  if (e.id !== undefined) out += `id: ${oneLine(e.id)}\n`;
  if (e.event !== undefined) out += `event: ${oneLine(e.event)}\n`;
  for (const line of text.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return out + '\n';
}

/** A comment frame: ignored by EventSource, keeps idle proxies and NATs from closing the stream. */
export const SSE_KEEPALIVE = ': keepalive\n\n';

/** The open streams; broadcast writes one frame to each. */
export class SseHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly timer: NodeJS.Timeout;

  constructor(keepaliveMs = 15_000) {
    this.timer = setInterval(() => this.write(SSE_KEEPALIVE), keepaliveMs);
    this.timer.unref();
  }

  /** Starts a stream on `res` and sends `first` on it; the stream leaves the hub when the client goes away. */
  open(res: ServerResponse, first: SseEvent): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(sseFrame(first));
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
  }

  /** Sends one event to every open stream. */
  broadcast(e: SseEvent): void {
    if (this.clients.size > 0) this.write(sseFrame(e));
  }

  /** Open streams. */
  get size(): number {
    return this.clients.size;
  }

  /** Ends every stream (the listener is closing). */
  close(): void {
    clearInterval(this.timer);
    for (const c of this.clients) c.end();
    this.clients.clear();
  }

  private write(frame: string): void {
    for (const c of this.clients) c.write(frame);
  }
}
