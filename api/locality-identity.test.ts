// Localities and SPIFFE identities: parsing, formatting and the proximity that drives default failover tiers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatLocality, isLocalitySegment, parseLocality, proximity } from './locality.ts';
import { globalLbId, isKubernetesName, isTrustDomain, parseSpiffeId, workloadId, zoneAgentId } from './identity.ts';

test('locality segments are DNS labels', () => {
  for (const ok of ['aws', 'us-east-1', 'europe-west1-b', 'a', '1a']) assert.ok(isLocalitySegment(ok), ok);
  for (const bad of ['', 'US', 'us_east', '-a', 'a-', 'a/b', 'x'.repeat(64)]) assert.ok(!isLocalitySegment(bad), bad);
});

test('parseLocality reads cloud/region/zone and formatLocality writes it back', () => {
  assert.deepEqual(parseLocality('aws/us-east-1/us-east-1a'), { cloud: 'aws', region: 'us-east-1', zone: 'us-east-1a' });
  assert.equal(formatLocality({ cloud: 'gcp', region: 'europe-west1', zone: 'europe-west1-b' }), 'gcp/europe-west1/europe-west1-b');
  for (const bad of ['aws/us-east-1', 'aws/us-east-1/a/b', 'aws//a', 'AWS/r/z', '']) assert.equal(parseLocality(bad), undefined, bad);
});

test('proximity: 0 same zone, 1 same region, 2 same cloud, 3 elsewhere', () => {
  const a = { cloud: 'aws', region: 'r1', zone: 'z1' };
  assert.equal(proximity(a, a), 0);
  assert.equal(proximity(a, { ...a, zone: 'z2' }), 1);
  assert.equal(proximity(a, { ...a, region: 'r2', zone: 'z3' }), 2);
  assert.equal(proximity(a, { cloud: 'gcp', region: 'r1', zone: 'z1' }), 3);
});

test('SPIFFE IDs for workloads, zone agents and the balancer round-trip through parseSpiffeId', () => {
  assert.equal(workloadId('meshfed.local', 'shop', 'cart'), 'spiffe://meshfed.local/ns/shop/sa/cart');
  assert.deepEqual(parseSpiffeId(workloadId('meshfed.local', 'shop', 'cart')), { kind: 'workload', trustDomain: 'meshfed.local', namespace: 'shop', serviceAccount: 'cart' });
  assert.deepEqual(parseSpiffeId(zoneAgentId('td', 'us-east-1a')), { kind: 'zone-agent', trustDomain: 'td', zone: 'us-east-1a' });
  assert.deepEqual(parseSpiffeId(globalLbId('td')), { kind: 'global-lb', trustDomain: 'td' });
  assert.deepEqual(parseSpiffeId('spiffe://td/some/thing'), { kind: 'other', trustDomain: 'td', path: '/some/thing' });
});

test('malformed SPIFFE IDs and trust domains are refused', () => {
  for (const bad of ['http://td/ns/a/sa/b', 'spiffe://TD/ns/a/sa/b', 'spiffe://td', 'spiffe://td/ns//sa/b', 'spiffe://td/ns/a/sa/b?x=1', 'spiffe://td/a b']) {
    assert.equal(parseSpiffeId(bad), undefined, bad);
  }
  assert.ok(isTrustDomain('meshfed.local') && isTrustDomain('prod_1-eu.example.com'));
  for (const bad of ['', 'Meshfed', 'a/b', 'x'.repeat(256), 'spiffe://a']) assert.ok(!isTrustDomain(bad), bad);
});

test('Kubernetes names: namespaces are DNS-1123 labels, service accounts DNS-1123 subdomains; "." and ".." segments are no SPIFFE ID', () => {
  for (const ok of ['shop', 'kube-system', 'a1', 'x'.repeat(63)]) assert.equal(isKubernetesName('namespace', ok), true, ok);
  for (const bad of ['', 'Shop', 'shop.prod', '-a', 'a-', 'a/b', '..', 'x'.repeat(64)]) assert.equal(isKubernetesName('namespace', bad), false, bad);
  for (const ok of ['catalog', 'build.robot', 'a-b.c-d']) assert.equal(isKubernetesName('serviceAccount', ok), true, ok);
  for (const bad of ['', '..', '../../../meshfed/zone/us-east-1a', 'a..b', '.a', 'a.', 'A', 'a_b']) assert.equal(isKubernetesName('serviceAccount', bad), false, bad);
  assert.equal(parseSpiffeId('spiffe://td/ns/shop/sa/../../../meshfed/zone/us-east-1a'), undefined);
  assert.equal(parseSpiffeId('spiffe://td/ns/./sa/x'), undefined);
  assert.deepEqual(parseSpiffeId('spiffe://td/ns/shop/sa/web'), { kind: 'workload', trustDomain: 'td', namespace: 'shop', serviceAccount: 'web' });
});
