// Tests the pure discovery model: EndpointSlice conditions, malformed objects, dedupe across slices.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildServices, parseEndpointSlice, parseNode, parseService, sliceInZone, type ParsedSlice } from './model.ts';

function slice(endpoints: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    metadata: { name: 'cart-x', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'cart' } },
    addressType: 'IPv4', ports: [{ name: 'metrics', port: 9090 }, { name: 'http', port: 8080 }], endpoints, ...extra,
  };
}
const parsed = (raw: unknown) => {
  const r = parseEndpointSlice(raw, new Map([['n1', { region: 'r1', zone: 'z1' }]]));
  assert.equal(r.ok, true, r.ok ? '' : r.error);
  return (r as { value: ParsedSlice }).value;
};

test('conditions: ready -> healthy; serving+terminating -> kept unhealthy; not serving -> dropped; nil ready -> ready', () => {
  const s = parsed(slice([
    { addresses: ['10.0.0.1'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'n1' },
    { addresses: ['10.0.0.2'], conditions: { ready: false, serving: true, terminating: true } },
    { addresses: ['10.0.0.3'], conditions: { ready: false, serving: false, terminating: true } },
    { addresses: ['10.0.0.4'], conditions: {} },
    { addresses: ['10.0.0.5'], conditions: { ready: false } },
    { addresses: ['10.0.0.6', '10.0.0.7'] },
  ]));
  assert.deepEqual(s.endpoints.map((e) => [e.address, e.port, e.healthy, e.terminating]), [
    ['10.0.0.1', 8080, true, false], ['10.0.0.2', 8080, false, true], ['10.0.0.4', 8080, true, false], ['10.0.0.6', 8080, true, false],
  ]);
  assert.deepEqual(s.endpoints[0]?.labels, { node: 'n1', 'topology.kubernetes.io/zone': 'z1', 'topology.kubernetes.io/region': 'r1' });
  assert.equal(s.endpoints[1]?.labels['meshfed.io/state'], 'terminating');
});

test('malformed slices are refused whole, naming the object and the field', () => {
  const cases: [unknown, RegExp][] = [
    [null, /\(unnamed\): not an object/],
    [{ metadata: { name: 'x' } }, /x: metadata.name and metadata.namespace/],
    [{ metadata: { name: 'x', namespace: 'shop' } }, /shop\/x: label kubernetes.io\/service-name is missing/],
    [slice([], { ports: [] }), /shop\/cart-x: ports must be a non-empty list/],
    [slice([], { ports: [{ port: 70000 }] }), /port 70000 is not 1\.\.65535/],
    [slice([], { ports: [{ port: '80' }] }), /port "80"/],
    [slice([], { addressType: 'FQDN' }), /unsupported addressType "FQDN"/],
    [slice('nope' as unknown as unknown[]), /endpoints must be a list/],
    [slice([{ addresses: [] }]), /endpoints\[0\]\.addresses must be a non-empty list/],
    [slice([{ addresses: ['10.0.0.1'] }, { addresses: ['999.1.1.1'] }]), /endpoints\[1\]\.addresses\[0\] "999\.1\.1\.1" is not an IP/],
    [slice([{ addresses: ['10.0.0.1'], conditions: { ready: 'yes' } }]), /conditions\.ready is not a boolean/],
    [slice(['x']), /endpoints\[0\] is not an object/],
  ];
  for (const [raw, pattern] of cases) {
    const r = parseEndpointSlice(raw);
    assert.equal(r.ok, false, String(pattern));
    assert.match(r.ok ? '' : r.error, pattern);
  }
});

test('services and nodes parse, with capacity from the annotation', () => {
  assert.deepEqual(parseService({ metadata: { name: 'cart', namespace: 'shop', labels: { 'meshfed.io/federate': 'true' }, annotations: { 'meshfed.io/capacity-rps': '250' } } }),
    { ok: true, value: { namespace: 'shop', name: 'cart', federated: true, capacityRps: 250 } });
  assert.deepEqual(parseService({ metadata: { name: 'cart', namespace: 'shop', annotations: { 'meshfed.io/capacity-rps': 'lots' } } }),
    { ok: true, value: { namespace: 'shop', name: 'cart', federated: false, capacityRps: 0 } });
  assert.equal(parseService({ metadata: {} }).ok, false);
  assert.deepEqual(parseNode({ metadata: { name: 'n', labels: { 'topology.kubernetes.io/zone': 'z' } } }), { ok: true, value: { name: 'n', topology: { zone: 'z' } } });
  assert.equal(parseNode({ metadata: {} }).ok, false);
});

test('an endpoint listed by two slices appears once, the healthy copy winning; output is sorted', () => {
  const a = parsed(slice([{ addresses: ['10.0.0.2'], conditions: { ready: false, serving: true, terminating: true } }, { addresses: ['10.0.0.9'] }]));
  const b = parsed({ ...slice([{ addresses: ['10.0.0.2'] }, { addresses: ['10.0.0.1'] }]), metadata: { name: 'cart-y', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'cart' } } });
  const other = parsed({ ...slice([{ addresses: ['10.9.9.9'] }]), metadata: { name: 'o', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'other' } } });
  const out = buildServices([{ namespace: 'shop', name: 'cart', capacityRps: 0 }, { namespace: 'a', name: 'z', capacityRps: 0 }], [a, b, other]);
  assert.deepEqual(out.map((s) => `${s.namespace}/${s.name}`), ['a/z', 'shop/cart'], 'only listed services, sorted');
  assert.deepEqual(out[1]?.endpoints.map((e) => `${e.address}${e.healthy ? '' : '!'}`), ['10.0.0.1', '10.0.0.2', '10.0.0.9']);
  assert.deepEqual(buildServices([{ namespace: 'shop', name: 'cart', capacityRps: 0 }], [b, a]), buildServices([{ namespace: 'shop', name: 'cart', capacityRps: 0 }], [a, b]), 'order of slices does not matter');
});

test('sliceInZone keeps its zone\'s endpoints and those of unknown zone, from the endpoint or its node', () => {
  const nodes = new Map([['n-b', { zone: 'b' }]]);
  const s = parsed({ ...slice([{ addresses: ['10.0.0.1'], zone: 'a' }, { addresses: ['10.0.0.2'], nodeName: 'n-b' }, { addresses: ['10.0.0.3'] }]) });
  const withNodes = parseEndpointSlice(slice([{ addresses: ['10.0.0.1'], zone: 'a' }, { addresses: ['10.0.0.2'], nodeName: 'n-b' }, { addresses: ['10.0.0.3'] }]), nodes);
  assert.ok(withNodes.ok);
  assert.deepEqual(sliceInZone(withNodes.value, 'a').endpoints.map((e) => e.address), ['10.0.0.1', '10.0.0.3']);
  assert.deepEqual(sliceInZone(withNodes.value, 'b').endpoints.map((e) => e.address), ['10.0.0.2', '10.0.0.3']);
  assert.deepEqual(sliceInZone(withNodes.value, 'c').endpoints.map((e) => e.address), ['10.0.0.3']);
  const untouched = sliceInZone(s, 'a');
  assert.equal(sliceInZone(untouched, 'a'), untouched, 'nothing dropped: the same object');
});
