// L7 fault decisions: rule selection, percentages, header conditions, gRPC status mapping, and the PUT /faults schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideFault, abortResponse, grpcStatusForHttp, httpStatusForGrpc } from './decide.ts';
import { parseFaultSettings } from './schema.ts';
import { seededRandom } from '../../common/random.ts';
import { MeshfedError } from '../../common/errors.ts';

const settings = parseFaultSettings({
  rules: [
    { service: 'shop/catalog', headers: [{ name: 'x-chaos', exact: 'on' }], abort: { httpStatus: 500, percent: 100 } },
    { service: 'shop/catalog', delay: { fixed: '200ms', percent: 30 }, abort: { httpStatus: 503, percent: 10 } },
    { service: '*', direction: 'inbound', abort: { grpcStatus: 8, percent: 100 } },
  ],
});
const req = (headers: Record<string, string> = {}, protocol: 'http1' | 'grpc' = 'http1', service = 'shop/catalog') => ({ service, headers, protocol });

test('header-conditioned rule applies only to matching requests', () => {
  assert.deepEqual(decideFault(settings, req({ 'x-chaos': 'on' }), 'outbound', () => 0.99), { rule: 0, delayMs: 0, abort: { httpStatus: 500 } });
  const d = decideFault(settings, req(), 'outbound', () => 0);
  assert.equal(d?.rule, 1);
});

test('rules are per service and direction', () => {
  assert.equal(decideFault(settings, req({}, 'http1', 'shop/other'), 'outbound', () => 0), undefined);
  assert.deepEqual(decideFault(settings, req({}, 'http1', 'shop/other'), 'inbound', () => 0), { rule: 2, delayMs: 0, abort: { httpStatus: 429 } });
});

test('delay 30% and abort 10% hit their percentages within ±1% over 20000 requests', () => {
  const r = seededRandom(9);
  let delayed = 0;
  let aborted = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const d = decideFault(settings, req(), 'outbound', r);
    if (d?.delayMs) { delayed++; assert.equal(d.delayMs, 200); }
    if (d?.abort) { aborted++; assert.equal(d.abort.httpStatus, 503); }
  }
  assert.ok(Math.abs(delayed / n - 0.3) < 0.01, `delayed ${delayed / n}`);
  assert.ok(Math.abs(aborted / n - 0.1) < 0.01, `aborted ${aborted / n}`);
});

test('a gRPC request gets HTTP 200 with a gRPC status, mapped from httpStatus when none is given', () => {
  assert.deepEqual(decideFault(settings, req({}, 'grpc'), 'outbound', () => 0), { rule: 1, delayMs: 200, abort: { httpStatus: 200, grpcStatus: 14 } });
  assert.deepEqual(decideFault(settings, req({}, 'grpc', 'x/y'), 'inbound', () => 0)?.abort, { httpStatus: 200, grpcStatus: 8 });
  const res = abortResponse({ httpStatus: 200, grpcStatus: 14 });
  assert.equal(res.status, 200);
  assert.equal(res.headers['grpc-status'], '14');
  assert.equal(res.headers['content-type'], 'application/grpc');
  assert.deepEqual(res.flags, ['fault-abort']);
});

test('an HTTP abort has a small text body', async () => {
  const res = abortResponse({ httpStatus: 503 });
  assert.equal(res.status, 503);
  let text = '';
  for await (const c of res.body!) text += new TextDecoder().decode(c);
  assert.equal(text, 'fault filter abort\n');
  assert.equal(res.headers['content-length'], String(text.length));
});

test('status mappings follow the gRPC spec', () => {
  assert.deepEqual([400, 401, 403, 404, 429, 502, 503, 504, 500].map(grpcStatusForHttp), [13, 16, 7, 12, 14, 14, 14, 14, 2]);
  assert.deepEqual([14, 7, 16, 4, 8, 13].map(httpStatusForGrpc), [503, 403, 401, 504, 429, 500]);
});

test('PUT /faults bodies are validated with path-named errors', () => {
  assert.deepEqual(parseFaultSettings({}).rules, []);
  const bad = (body: unknown): string[] => {
    try { parseFaultSettings(body); } catch (e) { assert.ok(e instanceof MeshfedError); assert.equal(e.code, 'MESHFED_E_CONFIG_INVALID'); return [...e.details]; }
    assert.fail('accepted');
  };
  assert.match(bad({ rules: [{ abort: { httpStatus: 503, percent: 120 } }] }).join('\n'), /rules\[0\]\.abort\.percent: must be a percentage/);
  assert.match(bad({ rules: [{ service: 'x' }] }).join('\n'), /not a service/);
  assert.match(bad({ rules: [{ delay: { fixed: 5, percent: 1 } }] }).join('\n'), /rules\[0\]\.delay\.fixed: .*"5s" or "5ms"/);
  assert.match(bad({ rules: [{ abort: { percent: 1 } }] }).join('\n'), /give httpStatus, grpcStatus, or both/);
  assert.match(bad({ rules: [{}] }).join('\n'), /needs delay, abort, or both/);
  assert.match(bad({ rulez: [] }).join('\n'), /unknown key "rulez"/);
});
