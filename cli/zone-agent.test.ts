// `meshfed zone-agent` settings: defaults come from the agent config schema, config files override them, flags win.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAgentConfig } from '../api/agent-config.ts';
import { formatDurationMs, formatHostPort } from '../api/fields.ts';
import { resolveArgs, ZONE_AGENT_DEFAULTS } from './zone-agent.ts';

const FLAGS = ['--zone', 'sim/r1/a1', '--cluster', 'c1', '--network', 'n1', '--global-lb', '127.0.0.1:1', '--static', 's.yaml', '--insecure'];
const MINIMAL_CONFIG = 'zone: sim/r1/a1\ncluster: c1\nnetwork: n1\nglobalLb: { addresses: ["127.0.0.1:1"], insecure: true }\ndiscovery: { type: static, file: s.yaml }\n';

test('with only the required flags, every default is the one a minimal config file gets from the schema', () => {
  const fromFlags = resolveArgs(FLAGS)!;
  const fromFile = parseAgentConfig(MINIMAL_CONFIG, '/etc/meshfed/agent.yaml');
  assert.equal(fromFlags.trustDomain, fromFile.trustDomain);
  assert.deepEqual(fromFlags.relayListen, fromFile.relayListen);
  assert.deepEqual(fromFlags.adminListen, fromFile.adminListen);
  assert.equal(fromFlags.reportIntervalMs, fromFile.reportInterval);
  assert.equal(fromFlags.workloadCertTtlMs, fromFile.certTtl);
  assert.equal(fromFlags.identityTtlMs, fromFile.identityTtl);
  assert.deepEqual(fromFlags.healthCheck, fromFile.healthCheck);
  // The file's stateDir is resolved against its directory; the flag path keeps the schema's relative default.
  assert.equal(fromFile.stateDir, join('/etc/meshfed', fromFlags.stateDir));
});

test('the defaults are unchanged by reading them from the schema', () => {
  const a = resolveArgs(FLAGS)!;
  assert.equal(a.trustDomain, 'meshfed.local');
  assert.deepEqual(a.relayListen, { host: '127.0.0.1', port: 15101 });
  assert.deepEqual(a.adminListen, { host: '127.0.0.1', port: 15100 });
  assert.equal(a.stateDir, '.meshfed/agent-state');
  assert.equal(a.reportIntervalMs, 1000);
  assert.equal(a.workloadCertTtlMs, 24 * 3600_000);
  assert.equal(a.identityTtlMs, 24 * 3600_000);
  assert.deepEqual(a.healthCheck, { interval: 5000, timeout: 1000, healthyThreshold: 2, unhealthyThreshold: 3 });
});

test('a config file overrides the defaults and flags override the file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-zone-agent-args-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'agent.yaml');
  writeFileSync(file, `${MINIMAL_CONFIG}reportInterval: 2s\nrelayListen: "[::1]:7000"\ntrustDomain: example.org\n`);
  const fromFile = resolveArgs(['--config', file])!;
  assert.equal(fromFile.reportIntervalMs, 2000);
  assert.deepEqual(fromFile.relayListen, { host: '::1', port: 7000 });
  assert.equal(fromFile.trustDomain, 'example.org');
  assert.deepEqual(fromFile.adminListen, ZONE_AGENT_DEFAULTS.adminListen, 'what the file leaves out still defaults');
  const overridden = resolveArgs(['--config', file, '--report-interval', '3s', '--relay-listen', '127.0.0.1:7001'])!;
  assert.equal(overridden.reportIntervalMs, 3000);
  assert.deepEqual(overridden.relayListen, { host: '127.0.0.1', port: 7001 });
});

test('--help shows the schema defaults', () => {
  const r = spawnSync(process.execPath, [join(import.meta.dirname, 'meshfed.ts'), 'zone-agent', '--help'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const d = ZONE_AGENT_DEFAULTS;
  const expected: [string, string][] = [
    ['--trust-domain', d.trustDomain],
    ['--relay-listen', formatHostPort(d.relayListen)],
    ['--admin-listen', formatHostPort(d.adminListen)],
    ['--state-dir', d.stateDir],
    ['--report-interval', formatDurationMs(d.reportIntervalMs)],
    ['--cert-ttl', formatDurationMs(d.workloadCertTtlMs)],
    ['--identity-ttl', formatDurationMs(d.identityTtlMs)],
  ];
  for (const [flag, shown] of expected) {
    const line = r.stdout.split('\n').find((l) => l.trim().startsWith(`${flag} `));
    assert.ok(line, `--help has no ${flag} line`);
    assert.ok(line.endsWith(`(default ${shown})`), `${flag}: ${line}`);
  }
});
