// `meshfed gateway --agent`: a gateway process fed by a real zone agent's relay routes SNI to the relayed endpoints,
// follows changes, keeps routing on the last state when the agent is gone, and never holds a workload certificate.
import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { AddressInfo } from 'node:net';
import type { TestPki } from '../../trust/testing.ts';
import { createCsr } from '../../trust/ca.ts';
import { freePorts } from '../../local/ports.ts';
import type { ZoneAgent } from '../../zone-agent/agent.ts';
import { tempDir, type Cleanup } from './sidecar-support.ts';
import { TestSidecar, until } from './agent-support.ts';
import { agent, agentWorld, TD, writeStatic } from './relay-support.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'cli', 'meshfed.ts');
/** The SNI a caller's sidecar sends for shop/cart on its default port 80, any subset. */
const CART_SNI = 'outbound_.80_._.cart.shop.svc.meshfed';

/** A TLS endpoint (standing in for a cart sidecar's inbound) that writes its name to every connection and closes. */
async function tlsBackend(t: Cleanup, pki: TestPki, name: string): Promise<number> {
  const cert = await pki.issue(`spiffe://${TD}/ns/shop/sa/cart`, { usages: ['server', 'client'] });
  const server = tls.createServer({ cert: cert.chainPem, key: cert.keyPem }, (s) => {
    s.on('error', () => undefined);
    s.end(name);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as AddressInfo).port;
}

/**
 * One TLS connection through the gateway with the cart's SNI. The client verifies the chain against the mesh root,
 * so a completed handshake proves the stream reached a backend end to end (the gateway has no key to answer with).
 * Resolves with the name the backend wrote, or 'refused: ...' when the gateway closed the connection.
 */
function via(gatewayPort: number, root: string, servername = CART_SNI): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const s = tls.connect({ host: '127.0.0.1', port: gatewayPort, servername, ca: root, checkServerIdentity: () => undefined });
    s.setEncoding('utf8');
    s.on('data', (d: string) => (got += d));
    s.on('end', () => resolve(s.authorized ? got : `unverified: ${String(s.authorizationError)}`));
    s.on('error', (e) => resolve(`refused: ${e.message}`));
    s.setTimeout(10_000, () => s.destroy(new Error('timeout')));
  });
}

async function counterValue(c: ZoneAgent['metrics']['certificatesIssued']): Promise<number> {
  return (await c.get()).values[0]?.value ?? 0;
}

/** Starts `meshfed gateway` as a child process and reads its listening line. */
async function startCliGateway(t: Cleanup, args: string[]): Promise<{ child: ChildProcess; port: number; adminPort: number }> {
  const child = spawn(process.execPath, [CLI, 'gateway', ...args], { cwd: ROOT, env: { ...process.env, MESHFED_LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const exited = once(child, 'exit');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface(child.stdout!).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`meshfed gateway exited ${code}: ${stderr}`)));
  });
  const m = /listening [\d.]+:(\d+) admin [\d.]+:(\d+)/.exec(line);
  assert.ok(m, `unexpected listening line: ${line}`);
  return { child, port: Number(m[1]), adminPort: Number(m[2]) };
}

interface GatewayStats {
  config_version: string;
  relay?: { connected: boolean; appliedVersion: string; connects: number; statesRefused: number };
}

async function stats(adminPort: number): Promise<GatewayStats> {
  const r = await fetch(`http://127.0.0.1:${adminPort}/stats`);
  return (await r.json()) as GatewayStats;
}

test('meshfed gateway --agent routes by the relayed endpoints, keeps them when the agent stops, and holds no certificate', { timeout: 180_000 }, async (t) => {
  const { dir, pki, caDir } = await agentWorld(t, 'meshfed-gateway-agent-');
  const staticFile = join(dir, 'a', 'static.json');
  const [b1, b2, b3] = [await tlsBackend(t, pki, 'b1'), await tlsBackend(t, pki, 'b2'), await tlsBackend(t, pki, 'b3')];
  const [relayPort, deadBalancer] = await freePorts(2);
  writeStatic(staticFile, [b1]);
  // The agent has a CA (--ca), so it could sign; the gateway must never ask, and it must not be given anything.
  const start = () => agent({ zone: 'a', grpcPort: deadBalancer!, staticFile, stateDir: join(dir, 'a', 'state'), caDir, relayPort: relayPort! });
  let a: ZoneAgent | undefined = await start();
  t.after(async () => {
    await a?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const gw = await startCliGateway(t, ['--zone', 'a', '--listen', '127.0.0.1:0', '--agent', `127.0.0.1:${relayPort}`, '--admin', '127.0.0.1:0']);
  const root = pki.root.certPem;
  assert.equal(await via(gw.port, root), 'b1', 'the gateway routes the SNI to the endpoint the agent relayed');
  const before = await stats(gw.adminPort);
  assert.equal(before.relay?.connected, true);
  assert.equal(before.relay?.appliedVersion, a.relayState().version);

  // The agent relays a changed endpoint set (its static discovery file changed): the gateway follows.
  writeStatic(staticFile, [b2]);
  await until('the gateway routes to the new endpoint', async () => (await via(gw.port, root)) === 'b2', 30_000);
  const after = await stats(gw.adminPort);
  assert.notEqual(after.config_version, before.config_version);
  assert.equal(a.status().relay.subscribers, 1, 'the gateway is the agent\'s one subscriber');

  // What the agent saw: no certificate signed, and no CSR (a gateway CSR would have closed its stream as a violation).
  assert.equal(await counterValue(a.metrics.certificatesIssued), 0, 'the agent signed no certificate for the gateway');
  assert.equal(await counterValue(a.metrics.relayProtocolErrors), 0, 'the gateway sent no CSR and no stats');

  // The agent goes away: the gateway notices, and keeps routing on the last state.
  await a.stop();
  a = undefined;
  await until('the gateway sees the agent gone', async () => (await stats(gw.adminPort)).relay?.connected === false, 30_000);
  for (let i = 0; i < 20; i++) assert.equal(await via(gw.port, root), 'b2', `connection ${i} after the agent stopped`);

  // A restarted agent on the same relay port with a new endpoint set: the client reconnects with backoff and follows.
  writeStatic(staticFile, [b3]);
  a = await start();
  await until('the gateway routes by the restarted agent\'s state', async () => (await via(gw.port, root)) === 'b3', 60_000);
  const reconnected = await stats(gw.adminPort);
  assert.equal(reconnected.relay?.connected, true);
  assert.ok((reconnected.relay?.connects ?? 0) >= 2, `connects=${reconnected.relay?.connects}`);
  assert.equal(await counterValue(a.metrics.certificatesIssued), 0, 'the restarted agent signed nothing either');
  assert.equal(await counterValue(a.metrics.relayProtocolErrors), 0);
});

test('the agent refuses to sign for a gateway subscription, while it does sign for a workload', { timeout: 60_000 }, async (t) => {
  const { dir, caDir } = await agentWorld(t, 'meshfed-gateway-agent-csr-');
  const [cartPort, deadBalancer] = await freePorts(2);
  writeStatic(join(dir, 'a', 'static.json'), [cartPort!]);
  const a = await agent({ zone: 'a', grpcPort: deadBalancer!, staticFile: join(dir, 'a', 'static.json'), stateDir: join(dir, 'a', 'state'), caDir });
  t.after(async () => {
    await a.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const csr = await createCsr({ spiffeId: `spiffe://${TD}/ns/shop/sa/cart` });

  // Control: the same CSR on a workload stream is signed, so the refusals below are about the role alone.
  const workload = new TestSidecar(a.relayPort, { namespace: 'shop', service: 'cart', serviceAccount: 'cart', zone: 'a', csrPem: csr.csrPem });
  t.after(() => workload.close());
  await until('the workload certificate', () => workload.certificates.length === 1);
  assert.equal(await counterValue(a.metrics.certificatesIssued), 1);

  // A gateway subscription carrying a CSR is closed before anything is signed.
  const withCsr = new TestSidecar(a.relayPort, {}, false);
  t.after(() => withCsr.close());
  withCsr.call.write({ subscribe: { gateway: true, zone: 'a', csr_pem: csr.csrPem } });
  await until('the gateway stream with a CSR closed', () => withCsr.status);
  assert.match(withCsr.status?.details ?? '', /gateway subscription never gets a certificate/);
  assert.equal(withCsr.certificates.length, 0);

  // A gateway gets the state, then a later CertificateRequest closes its stream, again unsigned.
  const later = new TestSidecar(a.relayPort, {}, false);
  t.after(() => later.close());
  later.call.write({ subscribe: { gateway: true, zone: 'a', sidecar_id: 'gw-1' } });
  await until('the gateway\'s first state', () => later.states.length > 0);
  assert.deepEqual(later.endpoints('a', 'cart'), [`127.0.0.1:${cartPort}`], 'a gateway sees its zone\'s endpoints');
  later.call.write({ csr: { csr_pem: csr.csrPem } });
  await until('the gateway stream with a late CSR closed', () => later.status);
  assert.match(later.status?.details ?? '', /gateway subscription never gets a certificate/);
  assert.equal(later.certificates.length, 0);

  // A gateway must name the agent's zone (it serves that zone's endpoints).
  const noZone = new TestSidecar(a.relayPort, {}, false);
  t.after(() => noZone.close());
  noZone.call.write({ subscribe: { gateway: true } });
  await until('the zoneless gateway stream closed', () => noZone.status);
  assert.match(noZone.status?.details ?? '', /must name this agent's zone a/);

  assert.equal(await counterValue(a.metrics.certificatesIssued), 1, 'only the workload was ever signed for');
  assert.equal(await counterValue(a.metrics.relayProtocolErrors), 3);
});

test('meshfed gateway --agent --overlay resolves canary subsets (outbound_.80_.v2_...) by the relayed endpoint labels', { timeout: 120_000 }, async (t) => {
  const { dir, pki, caDir } = await agentWorld(t, 'meshfed-gateway-overlay-');
  const staticFile = join(dir, 'a', 'static.json');
  const [v1, v2] = [await tlsBackend(t, pki, 'cart-v1'), await tlsBackend(t, pki, 'cart-v2')];
  const [relayPort, deadBalancer] = await freePorts(2);
  writeFileSync(staticFile, JSON.stringify({
    services: [{ namespace: 'shop', name: 'cart', capacityRps: 1000, endpoints: [
      { address: `127.0.0.1:${v1}`, labels: { version: 'v1' } }, { address: `127.0.0.1:${v2}`, labels: { version: 'v2' } },
    ] }],
  }));
  const a = await agent({ zone: 'a', grpcPort: deadBalancer!, staticFile, stateDir: join(dir, 'a', 'state'), caDir, relayPort: relayPort! });
  t.after(async () => {
    await a.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const overlay = join(dir, 'overlay.yaml');
  writeFileSync(overlay, 'services:\n  shop/cart:\n    subsets: { v1: { version: v1 }, v2: { version: v2 } }\n');
  const root = pki.root.certPem;
  const v2Sni = 'outbound_.80_.v2_.cart.shop.svc.meshfed';

  // Without the overlay the agent's state alone names no subsets, so a canary SNI is unknown: the gateway closes the
  // connection before any handshake (seen as an error or as an end with no verified peer), and counts it.
  const plain = await startCliGateway(t, ['--zone', 'a', '--listen', '127.0.0.1:0', '--agent', `127.0.0.1:${relayPort}`, '--admin', '127.0.0.1:0']);
  assert.match(await via(plain.port, root, v2Sni), /^(refused|unverified): /);
  const refused = await (await fetch(`http://127.0.0.1:${plain.adminPort}/metrics`)).text();
  assert.match(refused, /meshfed_gateway_connections_refused_total\{reason="unknown-sni"\} 1/);

  const gw = await startCliGateway(t, ['--zone', 'a', '--listen', '127.0.0.1:0', '--agent', `127.0.0.1:${relayPort}`, '--overlay', overlay, '--admin', '127.0.0.1:0']);
  for (let i = 0; i < 10; i++) assert.equal(await via(gw.port, root, v2Sni), 'cart-v2', 'subset v2 reaches only the v2 endpoint');
  for (let i = 0; i < 10; i++) assert.equal(await via(gw.port, root, 'outbound_.80_.v1_.cart.shop.svc.meshfed'), 'cart-v1');
  assert.equal(await counterValue(a.metrics.certificatesIssued), 0, 'an overlay gives the gateway no key either');
});

test('meshfed gateway --overlay is refused without --agent (exit 2) and a bad overlay is refused naming its path (exit 1)', (t) => {
  const dir = tempDir(t, 'meshfed-gateway-overlay-bad-');
  const run = (args: string[]) => spawnSync(process.execPath, [CLI, 'gateway', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, MESHFED_LOG_LEVEL: 'silent' }, timeout: 60_000 });
  const base = ['--zone', 'a', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'];
  const file = join(dir, 'overlay.yaml');
  writeFileSync(file, 'services: {}\n');
  const withConfig = run([...base, '--config', join(dir, 'gw.yaml'), '--overlay', file]);
  assert.equal(withConfig.status, 2, withConfig.stderr);
  assert.match(withConfig.stderr, /--overlay goes with --agent/);
  writeFileSync(file, 'services:\n  shop/cart:\n    subsets: { v1: { version: v1 } }\n    routes: [{ name: canary, match: [{ headers: [{ name: x-canary, exact: v2 }] }], subset: v2 }]\n    colour: red\n');
  const bad = run([...base, '--agent', '127.0.0.1:1', '--overlay', file]);
  assert.equal(bad.status, 1, bad.stderr);
  assert.match(bad.stderr, /overlay\.yaml: services\.shop\/cart: unknown key "colour"/);
  writeFileSync(file, 'services:\n  shop/cart:\n    subsets: { v1: { version: v1 } }\n    routes: [{ name: canary, match: [{ headers: [{ name: x-canary, exact: v2 }] }], subset: v2 }]\n');
  const undeclared = run([...base, '--agent', '127.0.0.1:1', '--overlay', file]);
  assert.equal(undeclared.status, 1, undeclared.stderr);
  assert.match(undeclared.stderr, /overlay\.yaml: services\.shop\/cart\.routes\[0\]\.subset: subset "v2" is not declared/);
});

test('meshfed gateway --help shows --agent; both or neither of --agent and --config exit 2', () => {
  const run = (args: string[]) => spawnSync(process.execPath, [CLI, 'gateway', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, MESHFED_LOG_LEVEL: 'silent' }, timeout: 60_000 });
  const help = run(['--help']);
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /--agent HOST:PORT/);
  assert.match(help.stdout, /\(--agent HOST:PORT \[--overlay FILE\] \| --config FILE\)/);
  const base = ['--zone', 'a', '--listen', '127.0.0.1:0'];
  for (const args of [base, [...base, '--agent', '127.0.0.1:1', '--config', 'x.yaml']]) {
    const r = run(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /give exactly one of --agent HOST:PORT .* or --config FILE/);
  }
  const bad = run([...base, '--agent', 'nope']);
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /--agent.*"nope" is not HOST:PORT/);
});
