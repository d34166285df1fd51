// Unit tests of the server-sent-events framing: one data line per payload line, no injected fields.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sseFrame } from './sse.ts';

test('an event is framed with retry, id, event and JSON data, and ends with a blank line', () => {
  assert.equal(sseFrame({ event: 'change', id: '7', retryMs: 1000, data: { a: 1 } }), 'retry: 1000\nid: 7\nevent: change\ndata: {"a":1}\n\n');
});

test('a multi-line payload becomes several data lines, and line breaks in the name or id cannot forge fields', () => {
  assert.equal(sseFrame({ data: 'one\ntwo\r\nthree' }), 'data: one\ndata: two\ndata: three\n\n');
  assert.equal(sseFrame({ event: 'x\n\ndata: evil', id: '1\nevent: y', data: '' }), 'id: 1 event: y\nevent: x data: evil\ndata: \n\n');
});
