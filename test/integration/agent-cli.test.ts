// `meshfed zone-agent` as a process: usage errors exit 2 with a clear message; a started agent reports its ports,
// serves /v1/status while global-lb is unreachable, and exits 0 on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { until } from './agent-support.ts';
import { parseHostPortText } from '../../api/fields.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'cli', 'meshfed.ts');

function runSync(args: string[]) {
  return spawnSync(process.execPath, [CLI, 'zone-agent', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, MESHFED_LOG_LEVEL: 'silent' }, timeout: 60_000 });
}

test('usage errors exit 2 and say what to fix', () => {
  const base = ['--cluster', 'c1', '--network', 'n1', '--global-lb', '127.0.0.1:1', '--static', 'x.yaml', '--insecure'];
  const cases: [string[], RegExp][] = [
    [['--zone', 'not-a-locality', ...base], /--zone: "not-a-locality" is not CLOUD\/REGION\/ZONE/],
    [['--zone', 'a/b/c', '--cluster', 'c1', '--network', 'n1', '--static', 'x', '--insecure'], /--global-lb/],
    [['--zone', 'a/b/c', ...base, '--kubeconfig', 'k'], /exclude each other/],
    [['--zone', 'a/b/c', '--cluster', 'c1', '--network', 'n1', '--global-lb', '127.0.0.1:1', '--static', 'x'], /--ca DIR/],
    [['--zone', 'a/b/c', ...base.slice(0, 4), '--global-lb', 'nope', '--static', 'x', '--insecure'], /"nope" is not HOST:PORT/],
    [['--zone', 'a/b/c', ...base, '--bogus'], /bogus/],
    [['--zone', 'a/b/c', ...base, '--identity-ttl', '5s'], /--identity-ttl: must be at least 1m/],
  ];
  for (const [args, pattern] of cases) {
    const r = runSync(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
  const help = runSync(['--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--global-lb ADDR\[,ADDR\.\.\.\]/);
});

test('the agent process starts without a balancer, serves status, and stops on SIGTERM', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-agent-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 's.yaml'), 'services:\n  - namespace: shop\n    name: cart\n    endpoints: ["127.0.0.1:8080", "127.0.0.1:8081"]\n');
  const child = spawn(process.execPath, [CLI, 'zone-agent', '--zone', 'sim/r1/a1', '--cluster', 'c1', '--network', 'n1',
    '--global-lb', '127.0.0.1:1', '--static', join(dir, 's.yaml'), '--insecure', '--state-dir', join(dir, 'state'),
    '--relay-listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0'], { cwd: ROOT, env: { ...process.env, MESHFED_LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  const lines = createInterface(child.stdout);
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`exited ${code}`)));
  });
  const listening = JSON.parse(first) as { event: string; admin: string; relay: string };
  assert.equal(listening.event, 'listening');
  const status = await until('status', async () => {
    const r = await fetch(`${listening.admin}/v1/status`);
    return (await r.json()) as { zone: string; services: number; endpoints: number; balancer: { connected: boolean }; weights: { stale: boolean; ageSeconds: number | null } };
  });
  assert.equal(status.zone, 'a1');
  assert.equal(status.services, 1);
  assert.equal(status.endpoints, 2);
  assert.equal(status.balancer.connected, false);
  assert.equal(status.weights.stale, true);
  assert.equal(status.weights.ageSeconds, null, 'never received weights');
  const metrics = await (await fetch(`${listening.admin}/metrics`)).text();
  assert.match(metrics, /^meshfed_weights_age_seconds -1$/m);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
});

test('on IPv6 the listening line brackets hosts, so its addresses can be pasted back into flags and URLs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-agent-cli6-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 's.yaml'), 'services: []\n');
  const child = spawn(process.execPath, [CLI, 'zone-agent', '--zone', 'sim/r1/a1', '--cluster', 'c1', '--network', 'n1',
    '--global-lb', '127.0.0.1:1', '--static', join(dir, 's.yaml'), '--insecure', '--state-dir', join(dir, 'state'),
    '--relay-listen', '[::1]:0', '--admin-listen', '[::1]:0'], { cwd: ROOT, env: { ...process.env, MESHFED_LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  const first = await new Promise<string>((resolve, reject) => {
    createInterface(child.stdout).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`exited ${code}`)));
  });
  const listening = JSON.parse(first) as { event: string; admin: string; relay: string };
  assert.match(listening.relay, /^\[::1\]:\d+$/);
  assert.match(listening.admin, /^http:\/\/\[::1\]:\d+$/);
  // The relay address is what a sidecar's --agent flag takes: it must parse back to the same host and port.
  const relay = parseHostPortText(listening.relay);
  assert.equal(relay?.host, '::1');
  assert.ok(relay.port > 0);
  const status = await until('status over IPv6', async () => (await fetch(`${listening.admin}/v1/status`)).json() as Promise<{ zone: string }>);
  assert.equal(status.zone, 'a1');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
});
