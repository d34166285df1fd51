// Unit tests of the trust faults' pure parts: which root a presented chain verifies to, stored bundle parsing, metric sums.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addRoots, bundleToJson, createIntermediateCa, createRootCa, issueWorkload, makeBundle, splitPem } from '../../trust/index.ts';
import { parseStored, rootOfChain, sumSamples } from './trust.ts';

const TD = 'meshfed.local';

test('rootOfChain names the root a leaf chains to, among several, and none for an unrelated root', async () => {
  const oldRoot = await createRootCa({ trustDomain: TD });
  const newRoot = await createRootCa({ trustDomain: TD });
  const other = await createRootCa({ trustDomain: TD });
  const inter = await createIntermediateCa({ root: newRoot, cluster: 'east', trustDomain: TD });
  const leaf = await issueWorkload(inter, `spiffe://${TD}/ns/shop/sa/web`);
  const presented = splitPem(leaf.chainPem);
  assert.equal(rootOfChain(presented, [oldRoot.certPem, newRoot.certPem], TD), newRoot.certPem);
  assert.equal(rootOfChain(presented, [oldRoot.certPem, other.certPem], TD), undefined);
  // A handshake that showed only the leaf still resolves when the intermediate is known.
  assert.equal(rootOfChain(presented.slice(0, 1), [newRoot.certPem], TD), undefined);
  assert.equal(rootOfChain(presented.slice(0, 1), [newRoot.certPem], TD, [inter.certPem]), newRoot.certPem);
  assert.equal(rootOfChain([], [newRoot.certPem], TD), undefined);
});

test('parseStored reads a stored bundle file and gives undefined for none or garbage', async () => {
  const root = await createRootCa({ trustDomain: TD });
  const b = addRoots(makeBundle({ trustDomain: TD }), root.certPem);
  assert.deepEqual(parseStored(bundleToJson(b))?.roots, b.roots);
  assert.equal(parseStored(undefined), undefined);
  assert.equal(parseStored('{"not": "a bundle"}'), undefined);
  assert.equal(parseStored('nope'), undefined);
});

test('sumSamples adds the samples of one metric whose labels pass, ignoring other metrics with the same prefix', () => {
  const text = [
    '# HELP meshfed_upstream_tries_total Outbound tries',
    '# TYPE meshfed_upstream_tries_total counter',
    'meshfed_upstream_tries_total{dest_service="shop/catalog",dest_zone="europe-west1-b",outcome="success"} 40',
    'meshfed_upstream_tries_total{dest_service="shop/catalog",dest_zone="europe-west1-b",outcome="connect_failure"} 3',
    'meshfed_upstream_tries_total{dest_service="shop/catalog",dest_zone="us-east-1a",outcome="reset"} 5',
    'meshfed_upstream_tries_total_other{dest_zone="europe-west1-b",outcome="reset"} 100',
    'meshfed_upstream_tries_total{dest_service="shop/pricing",dest_zone="europe-west1-b",outcome="reset"} 2',
  ].join('\n');
  const failedToGcp = (l: Record<string, string>) => l['dest_zone'] === 'europe-west1-b' && l['outcome'] !== 'success';
  assert.equal(sumSamples(text, 'meshfed_upstream_tries_total', failedToGcp), 5);
  assert.equal(sumSamples(text, 'meshfed_upstream_tries_total', () => true), 50);
  assert.equal(sumSamples('', 'meshfed_upstream_tries_total', () => true), 0);
});
