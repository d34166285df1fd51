// Splits one streamed request body into the primary's copy (which sets the pace) and a mirror's copy with a bounded backlog.

/** How far (in bytes) a mirror copy may fall behind the primary before it is abandoned. */
export const MIRROR_BACKLOG_BYTES = 1024 * 1024;

/** The two sides of a teed body. Chunks are shared, not copied: consumers must treat them as read-only. */
export interface BodyTee {
  /** The primary's body: every chunk of the source in order, errors included. Iterable once. */
  readonly primary: AsyncIterable<Uint8Array>;
  /** The mirror's body: every chunk while it keeps up; ends with an error once abandoned. Iterable once. */
  readonly mirror: AsyncIterable<Uint8Array>;
  /** Gives up on the mirror copy (idempotent): queued chunks are dropped, its body errors, `onAbandon` fires. */
  abandon(reason: string): void;
  /** True once the primary's consumer asked for its first chunk. */
  primaryStarted(): boolean;
}

export interface TeeOptions {
  /** Bytes queued for the mirror beyond which it is abandoned; MIRROR_BACKLOG_BYTES by default. */
  readonly maxBacklogBytes?: number;
  /** Called once when the mirror copy is abandoned (not when it ends normally), e.g. to cancel the mirror request. */
  readonly onAbandon?: (reason: string) => void;
}

/** The error a mirror's body ends with when it is abandoned. */
export class MirrorAbandoned extends Error {
  override readonly name = 'MirrorAbandoned';
}

type Waiter = { resolve: (r: IteratorResult<Uint8Array>) => void; reject: (e: unknown) => void };

/**
 * Tees `source`. Only the primary's consumer pulls from the source, so the mirror can never slow the primary down;
 * each chunk the primary receives is also queued for the mirror. The mirror is abandoned when its queue would pass
 * `maxBacklogBytes`, when the source fails, when the primary stops reading before the end, or by `abandon()`.
 * A mirror consumer that stops early just detaches: the primary carries on alone.
 *
 * Invariant: mirror state moves only forward, open -> (ended | abandoned | detached); only while open are chunks
 * queued; abandoned and detached drop the queue at once, ended lets the mirror drain it.
 * Invariant: at most one mirror read waits (`waiter`), and only while the queue is empty.
 * Invariant: `backlog` is the byte total of `queue`, and never exceeds the cap while the mirror is open.
 */
export function teeBody(source: AsyncIterable<Uint8Array>, options: TeeOptions = {}): BodyTee {
  const cap = options.maxBacklogBytes ?? MIRROR_BACKLOG_BYTES;
  let state: 'open' | 'ended' | 'abandoned' | 'detached' = 'open';
  let failure: MirrorAbandoned | undefined;
  const queue: Uint8Array[] = [];
  let backlog = 0;
  let waiter: Waiter | undefined;
  let started = false;
  let primaryTaken = false;
  let mirrorTaken = false;

  const abandon = (reason: string): void => {
    if (state !== 'open') return;
    state = 'abandoned';
    failure = new MirrorAbandoned(`mirror abandoned: ${reason}`);
    queue.length = 0;
    backlog = 0;
    const w = waiter;
    waiter = undefined;
    w?.reject(failure);
    options.onAbandon?.(reason);
  };

  const offer = (chunk: Uint8Array): void => {
    if (state !== 'open') return;
    const w = waiter;
    if (w) {
      waiter = undefined;
      w.resolve({ done: false, value: chunk });
      return;
    }
    if (backlog + chunk.byteLength > cap) return abandon(`fell more than ${cap} bytes behind the primary`);
    queue.push(chunk);
    backlog += chunk.byteLength;
  };

  const end = (): void => {
    if (state !== 'open') return;
    state = 'ended';
    const w = waiter;
    waiter = undefined;
    w?.resolve({ done: true, value: undefined });
  };

  const primary: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
      if (primaryTaken) throw new Error('a teed body can be read once');
      primaryTaken = true;
      let it: AsyncIterator<Uint8Array> | undefined;
      let finished = false;
      return {
        async next(): Promise<IteratorResult<Uint8Array>> {
          if (finished) return { done: true, value: undefined };
          started = true;
          it ??= source[Symbol.asyncIterator]();
          let r: IteratorResult<Uint8Array>;
          try {
            r = await it.next();
          } catch (e) {
            finished = true;
            abandon('the primary body failed');
            throw e;
          }
          if (r.done) {
            finished = true;
            end();
            return r;
          }
          offer(r.value);
          return r;
        },
        async return(): Promise<IteratorResult<Uint8Array>> {
          if (!finished) {
            finished = true;
            abandon('the primary stopped reading before the end');
            await it?.return?.();
          }
          return { done: true, value: undefined };
        },
      };
    },
  };

  const mirror: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
      if (mirrorTaken) throw new Error('a teed body can be read once');
      mirrorTaken = true;
      return {
        next(): Promise<IteratorResult<Uint8Array>> {
          const chunk = queue.shift();
          if (chunk !== undefined) {
            backlog -= chunk.byteLength;
            return Promise.resolve({ done: false, value: chunk });
          }
          if (state === 'abandoned') return Promise.reject(failure);
          if (state !== 'open') return Promise.resolve({ done: true, value: undefined });
          if (waiter) return Promise.reject(new Error('concurrent next() on a teed body'));
          return new Promise((resolve, reject) => { waiter = { resolve, reject }; });
        },
        return(): Promise<IteratorResult<Uint8Array>> {
          if (state === 'open') {
            state = 'detached';
            queue.length = 0;
            backlog = 0;
            const w = waiter;
            waiter = undefined;
            w?.resolve({ done: true, value: undefined });
          }
          return Promise.resolve({ done: true, value: undefined });
        },
      };
    },
  };

  return { primary, mirror, abandon, primaryStarted: () => started };
}
