// Tests of trace propagation: continuing W3C and B3 traces, starting new ones, and keeping x-request-id.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextHop, readIncoming } from './trace.ts';

/** A deterministic hex source: counts up so every id is distinct and predictable. */
function counterHex(): (bytes: number) => string {
  let n = 1;
  return (bytes) => (n++).toString(16).padStart(bytes * 2, '0');
}

test('continues a W3C trace with a new span whose parent is the caller', () => {
  const { ctx, headers } = nextHop({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'x-request-id': 'abc' }, counterHex());
  assert.equal(ctx.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(ctx.parentSpanId, '00f067aa0ba902b7');
  assert.notEqual(ctx.spanId, '00f067aa0ba902b7');
  assert.equal(headers['traceparent'], `00-4bf92f3577b34da6a3ce929d0e0e4736-${ctx.spanId}-01`);
  assert.equal(headers['x-b3-traceid'], ctx.traceId);
  assert.equal(headers['x-b3-parentspanid'], '00f067aa0ba902b7');
  assert.equal(headers['x-request-id'], 'abc');
});

test('keeps the unsampled flag', () => {
  const { headers } = nextHop({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00' }, counterHex());
  assert.match(headers['traceparent']!, /-00$/);
  assert.equal(headers['x-b3-sampled'], '0');
});

test('continues B3 multi-header and single-header traces, widening 64-bit trace ids', () => {
  const multi = readIncoming({ 'x-b3-traceid': '463ac35c9f6413ad', 'x-b3-spanid': 'a2fb4a1d1a96d312', 'x-b3-sampled': '1' });
  assert.deepEqual(multi, { traceId: '0000000000000000463ac35c9f6413ad', spanId: 'a2fb4a1d1a96d312', sampled: true });
  const single = readIncoming({ b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0' });
  assert.deepEqual(single, { traceId: '80f198ee56343ba864fe8b2a57d3eff7', spanId: 'e457b5a2e4d86bd1', sampled: false });
});

test('W3C wins over B3 when both arrive', () => {
  const r = readIncoming({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'x-b3-traceid': '463ac35c9f6413ad', 'x-b3-spanid': 'a2fb4a1d1a96d312' });
  assert.equal(r?.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
});

test('starts a trace and a request id when none arrive, and refuses invalid contexts', () => {
  const { ctx, headers } = nextHop({}, counterHex());
  assert.match(ctx.traceId, /^[0-9a-f]{32}$/);
  assert.equal(ctx.parentSpanId, undefined);
  assert.match(headers['x-request-id']!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(readIncoming({ traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' }), undefined);
  assert.equal(readIncoming({ traceparent: 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }), undefined);
  assert.equal(readIncoming({ traceparent: 'garbage' }), undefined);
  assert.equal(readIncoming({ b3: '1' }), undefined);
});

test('never emits an all-zero id even when the random source returns zeros first', () => {
  let calls = 0;
  const { ctx } = nextHop({}, (bytes) => (calls++ < 2 ? '0'.repeat(bytes * 2) : 'a'.repeat(bytes * 2)));
  assert.notEqual(ctx.traceId, '0'.repeat(32));
  assert.notEqual(ctx.spanId, '0'.repeat(16));
});

test('a missing x-request-id becomes a version-4 UUID built from the random digits', () => {
  const digits = ['0123456789abcdef', 'fedcba9876543210', '00112233445566778899aabbccddeeff'];
  for (const [i, variant] of ['8', '9', 'a', 'b'].entries()) {
    const hex32 = `0123456789abcdef${'cdef'[i]}${'7'.repeat(15)}`;
    const queue = [...digits.slice(0, 2), hex32];
    const { ctx } = nextHop({}, (bytes) => queue.shift()!.slice(0, bytes * 2));
    // Version nibble forced to 4, variant to 10xx (8, 9, a or b from the low two bits of digit 16).
    assert.equal(ctx.requestId, `01234567-89ab-4def-${variant}777-777777777777`);
  }
});
