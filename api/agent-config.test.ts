// The zone-agent config file: defaults, path resolution, freezing, and one clear, path-named error per malformed file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MeshfedError } from '../common/errors.ts';
import { loadAgentConfigFile, parseAgentConfig } from './agent-config.ts';
import { singleConfigError } from './testing.ts';

const MINIMAL = `
zone: aws/us-east-1/us-east-1a
cluster: aws-use1
network: aws-net
globalLb: { addresses: ["127.0.0.1:15200"] }
discovery: { type: static, file: endpoints.yaml }
caDir: certs
`;

function errorOf(text: string): string {
  return singleConfigError(() => parseAgentConfig(text, 'agent.yaml', '/etc/meshfed'));
}

test('a minimal agent config gets every default, resolves relative paths and is deep-frozen', () => {
  const c = parseAgentConfig(MINIMAL, 'agent.yaml', '/etc/meshfed');
  assert.deepEqual(c, {
    zone: { cloud: 'aws', region: 'us-east-1', zone: 'us-east-1a' },
    cluster: 'aws-use1',
    network: 'aws-net',
    trustDomain: 'meshfed.local',
    globalLb: { addresses: [{ host: '127.0.0.1', port: 15200 }], insecure: false },
    discovery: { type: 'static', file: '/etc/meshfed/endpoints.yaml' },
    caDir: '/etc/meshfed/certs',
    adminListen: { host: '127.0.0.1', port: 15100 },
    relayListen: { host: '127.0.0.1', port: 15101 },
    healthCheck: { interval: 5000, timeout: 1000, healthyThreshold: 2, unhealthyThreshold: 3 },
    reportInterval: 1000,
    evidenceWindow: 5000,
    certTtl: 86_400_000,
    identityTtl: 86_400_000,
    stateDir: '/etc/meshfed/.meshfed/agent-state',
  });
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.healthCheck) && Object.isFrozen(c.globalLb.addresses[0]) && Object.isFrozen(c.discovery));
});

test('kubernetes discovery takes a kubeconfig (resolved) or inCluster', () => {
  const kube = parseAgentConfig(MINIMAL.replace('{ type: static, file: endpoints.yaml }', '{ type: kubernetes, kubeconfig: /abs/kubeconfig, namespaces: [shop] }'), 'a.yaml', '/x');
  assert.deepEqual(kube.discovery, { type: 'kubernetes', kubeconfig: '/abs/kubeconfig', inCluster: false, namespaces: ['shop'] });
  const inCluster = parseAgentConfig(MINIMAL.replace('{ type: static, file: endpoints.yaml }', '{ type: kubernetes, inCluster: true }'), 'a.yaml', '/x');
  assert.deepEqual(inCluster.discovery, { type: 'kubernetes', inCluster: true, namespaces: [] });
});

test('insecure agents may omit caDir', () => {
  const c = parseAgentConfig(MINIMAL.replace('caDir: certs', '').replace('["127.0.0.1:15200"] }', '["127.0.0.1:15200"], insecure: true }'), 'a.yaml', '/x');
  assert.equal(c.caDir, undefined);
  assert.equal(c.globalLb.insecure, true);
});

const MALFORMED: ReadonlyArray<{ name: string; text: string; error: string }> = [
  { name: 'unknown key', text: `${MINIMAL}reportIntervall: 2s\n`, error: 'agent.yaml: (top level): unknown key "reportIntervall" (allowed: zone, cluster, network, trustDomain, globalLb, discovery, caDir, gatewayAddress, adminListen, relayListen, healthCheck, reportInterval, evidenceWindow, certTtl, identityTtl, stateDir)' },
  { name: 'unknown key in a nested mapping', text: `${MINIMAL}healthCheck: { intervall: 2s }\n`, error: 'agent.yaml: healthCheck: unknown key "intervall" (allowed: interval, timeout, healthyThreshold, unhealthyThreshold)' },
  { name: 'unknown key in the chosen discovery', text: MINIMAL.replace('{ type: static, file: endpoints.yaml }', '{ type: static, file: e.yaml, inCluster: true }'), error: 'agent.yaml: discovery: unknown key "inCluster" (allowed: type, file)' },
  { name: 'bad locality', text: MINIMAL.replace('aws/us-east-1/us-east-1a', 'aws/us-east-1'), error: 'agent.yaml: zone: "aws/us-east-1" is not a locality; write cloud/region/zone, each a DNS label (e.g. aws/us-east-1/us-east-1a)' },
  { name: 'bad discovery type (enum)', text: MINIMAL.replace('type: static', 'type: consul'), error: 'agent.yaml: discovery.type: unknown value "consul" (expected kubernetes | static)' },
  { name: 'kubernetes discovery without kubeconfig or inCluster', text: MINIMAL.replace('{ type: static, file: endpoints.yaml }', '{ type: kubernetes }'), error: 'agent.yaml: discovery: say how to reach Kubernetes: kubeconfig: PATH, or inCluster: true' },
  { name: 'both kubeconfig and inCluster', text: MINIMAL.replace('{ type: static, file: endpoints.yaml }', '{ type: kubernetes, kubeconfig: k, inCluster: true }'), error: 'agent.yaml: discovery.kubeconfig: give either kubeconfig or inCluster: true, not both' },
  { name: 'duration without a unit', text: `${MINIMAL}reportInterval: 2\n`, error: 'agent.yaml: reportInterval: expected a duration, got 2 (write it with a unit, e.g. "2s" or "2ms")' },
  { name: 'malformed duration', text: `${MINIMAL}healthCheck: { interval: 5 seconds }\n`, error: 'agent.yaml: healthCheck.interval: "5 seconds" is not a duration (use a number with a unit, e.g. 500ms, 5s, 10m, 24h, 30d)' },
  { name: 'duration out of range', text: `${MINIMAL}reportInterval: 10ms\n`, error: 'agent.yaml: reportInterval: must be between 100ms and 1m' },
  { name: 'timeout longer than interval', text: `${MINIMAL}healthCheck: { interval: 1s, timeout: 2s }\n`, error: 'agent.yaml: healthCheck.timeout: must not exceed interval (a probe must finish before the next starts)' },
  { name: 'wrong type for a threshold', text: `${MINIMAL}healthCheck: { healthyThreshold: two }\n`, error: 'agent.yaml: healthCheck.healthyThreshold: expected a number, got "two"' },
  { name: 'no global-lb address', text: MINIMAL.replace('["127.0.0.1:15200"]', '[]'), error: 'agent.yaml: globalLb.addresses: list at least one global-lb address (host:port)' },
  { name: 'bad address', text: MINIMAL.replace('"127.0.0.1:15200"', '"127.0.0.1"'), error: 'agent.yaml: globalLb.addresses[0]: "127.0.0.1" is not host:port (e.g. 127.0.0.1:7443 or [::1]:7443)' },
  { name: 'missing caDir when secure', text: MINIMAL.replace('caDir: certs', ''), error: 'agent.yaml: caDir: required unless globalLb.insecure is true (the agent needs its cluster CA for mTLS)' },
  { name: 'missing cluster', text: MINIMAL.replace('cluster: aws-use1', ''), error: 'agent.yaml: cluster: required but missing (expected a string)' },
];

for (const c of MALFORMED) {
  test(`malformed agent config: ${c.name}`, () => {
    assert.equal(errorOf(c.text), c.error);
  });
}

test('loadAgentConfigFile resolves paths against the file directory and reports unreadable files', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-agent-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'agent.yaml');
  writeFileSync(file, MINIMAL);
  const c = loadAgentConfigFile(file);
  assert.equal(c.caDir, join(dir, 'certs'));
  assert.deepEqual(c.discovery, { type: 'static', file: join(dir, 'endpoints.yaml') });
  assert.throws(() => loadAgentConfigFile(join(dir, 'nope.yaml')), (e: MeshfedError) => e.code === 'MESHFED_E_CONFIG_READ' && e.message === `${join(dir, 'nope.yaml')}: cannot read: no such file`);
});
