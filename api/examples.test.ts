// Every file in examples/ loads with its loader, so the documented examples can never rot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  loadAgentConfigFile, loadBalancerConfigFile, loadPolicyFile, loadSidecarConfig, loadStaticDiscovery, loadTopologyFile, topologyZones,
} from './index.ts';
import { loadFederationFile } from './federation-file.ts';

const EXAMPLES = join(import.meta.dirname, '..', 'examples');
const DOC = readFileSync(join(import.meta.dirname, '..', 'docs', 'configuration.md'), 'utf8');

/** Which loader reads each example; an example missing here fails the test, so new ones get checked too. */
const LOADERS: Record<string, (path: string) => unknown> = {
  'topology.yaml': loadTopologyFile,
  'zone-agent.yaml': loadAgentConfigFile,
  'global-lb.yaml': loadBalancerConfigFile,
  'policy.yaml': loadPolicyFile,
  'endpoints.yaml': loadStaticDiscovery,
  'sidecar.yaml': loadSidecarConfig,
  'federation-5-zones.yaml': loadFederationFile,
};

const files = readdirSync(EXAMPLES).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();

test('examples/ holds an example of every config file', () => {
  assert.deepEqual(files, Object.keys(LOADERS).sort());
});

for (const file of files) {
  test(`examples/${file} loads, frozen, and is described in docs/configuration.md`, () => {
    const load = LOADERS[file];
    assert.ok(load, `no loader registered for examples/${file}; add it to LOADERS`);
    const value = load(join(EXAMPLES, file));
    assert.ok(value !== null && typeof value === 'object' && Object.isFrozen(value));
    assert.ok(DOC.includes(`examples/${file}`), `docs/configuration.md does not mention examples/${file}`);
  });
}

test('the example topology is the default demo plus gateways', () => {
  const t = loadTopologyFile(join(EXAMPLES, 'topology.yaml'));
  assert.deepEqual(topologyZones(t).map((z) => `${z.locality.zone}:${z.network}:${z.gateway ? z.gateway.port : '-'}`), [
    'us-east-1a:aws-net:15443', 'us-east-1b:aws-net:-', 'europe-west1-b:gcp-net:15444',
  ]);
});

test('relative paths in the example agent and balancer configs resolve against examples/', () => {
  const agent = loadAgentConfigFile(join(EXAMPLES, 'zone-agent.yaml'));
  assert.equal(agent.caDir, join(EXAMPLES, 'certs', 'aws-use1'));
  const lb = loadBalancerConfigFile(join(EXAMPLES, 'global-lb.yaml'));
  assert.equal(lb.tls?.bundle, join(EXAMPLES, 'certs', 'root-cert.pem'));
});
