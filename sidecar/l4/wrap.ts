// Applies L4 faults to a live connection: reset, blackhole, or a pipe that delays and rate-limits each chunk.
import type net from 'node:net';
import { duplexPair, type Duplex } from 'node:stream';
import { connectionFate, l4Active, releaseAt, type L4Faults } from './l4-faults.ts';

/** What wrapConnection did, for the fault-injection counter. */
export type L4Outcome = 'none' | 'reset' | 'blackhole' | 'shaped';

/**
 * Applies `faults` to a freshly accepted socket. Returns the stream the server should speak over
 * (the socket itself when no fault is set), or null when the connection was reset or blackholed.
 */
export function wrapConnection(socket: net.Socket, faults: L4Faults, random: () => number = Math.random): { stream: Duplex | null; outcome: L4Outcome } {
  if (!l4Active(faults)) return { stream: socket, outcome: 'none' };
  const fate = connectionFate(faults, random());
  if (fate === 'reset') {
    socket.resetAndDestroy();
    return { stream: null, outcome: 'reset' };
  }
  if (fate === 'blackhole') {
    // Read and drop everything, answer nothing: the peer sees a hung connection, as with a dropped route.
    socket.on('data', () => {});
    socket.on('error', () => {});
    return { stream: null, outcome: 'blackhole' };
  }
  if (faults.latencyMs <= 0 && faults.bandwidthBytesPerSec <= 0) return { stream: socket, outcome: 'none' };
  const [inner, outer] = duplexPair();
  shape(socket, outer, faults);
  shape(outer, socket, faults);
  const destroyBoth = () => { socket.destroy(); outer.destroy(); inner.destroy(); };
  socket.on('error', destroyBoth);
  socket.on('close', destroyBoth);
  outer.on('error', destroyBoth);
  inner.on('error', () => {});
  return { stream: inner, outcome: 'shaped' };
}

/** Pipes src to dst, releasing each chunk no earlier than its scheduled time; keeps order and backpressure. */
function shape(src: Duplex, dst: Duplex, faults: L4Faults): void {
  let last = 0;
  let pending = 0;
  let ended = false;
  const finish = () => { if (ended && pending === 0 && !dst.destroyed) dst.end(); };
  src.on('data', (chunk: Buffer) => {
    const now = performance.now();
    last = releaseAt(faults, now, last, chunk.length);
    pending++;
    if (pending > 64) src.pause();
    setTimeout(() => {
      pending--;
      if (!dst.destroyed && !dst.write(chunk)) src.pause();
      if (pending <= 64 && src.isPaused()) dst.writableNeedDrain ? dst.once('drain', () => src.resume()) : src.resume();
      finish();
    }, Math.max(0, last - now));
  });
  src.on('end', () => { ended = true; finish(); });
}
