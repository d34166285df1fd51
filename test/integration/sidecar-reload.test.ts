// Config intake: --config hot reload (a bad file is refused, the old config stays) and the `meshfed sidecar` process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import { freePorts } from '../../local/ports.ts';
import { join } from 'node:path';
import { request } from 'undici';
import { loadSidecarConfig } from '../../api/sidecar-config.ts';
import { startSidecar } from '../../sidecar/server/sidecar.ts';
import { diskPki, quietLogger, startEchoApp, tempDir, waitFor, writeConfig } from './sidecar-support.ts';

const root = join(import.meta.dirname, '..', '..');

test('a changed config file is applied; a bad one is refused and the old config keeps serving', async (t) => {
  const dir = tempDir(t);
  const pki = await diskPki();
  const app = await startEchoApp(t, 'catalog-1', 'a');
  const serverCerts = await pki.workload(dir, 'shop', 'catalog');
  const webCerts = await pki.workload(dir, 'shop', 'web');
  const serverFile = writeConfig(dir, { trustDomain: 'mesh.test', zones: { a: { network: 'n1' } }, certificates: serverCerts.files }, 'server.json');
  const server = await startSidecar({ service: 'shop/catalog', zone: 'a', appPort: app.port, logger: quietLogger(), config: loadSidecarConfig(serverFile) });
  t.after(() => server.close());
  const good = (hosts: string[]) => ({
    trustDomain: 'mesh.test', zones: { a: { network: 'n1' } }, certificates: webCerts.files,
    services: { 'shop/catalog': { hosts, endpoints: { a: [`127.0.0.1:${server.inboundPort}`] } } },
  });
  const file = writeConfig(dir, good([]));
  const client = await startSidecar({ service: 'shop/web', zone: 'a', appPort: 1, logger: quietLogger(), config: loadSidecarConfig(file), configFile: file });
  t.after(() => client.close());
  const status = async (host: string) => {
    const r = await request(`http://127.0.0.1:${client.outboundPort}/`, { headers: { host } });
    await r.body.dump();
    return r.statusCode;
  };
  const metric = async (re: RegExp) => re.exec(await (await request(`http://127.0.0.1:${client.adminPort}/metrics`)).body.text());
  assert.equal(await status('catalog.shop'), 200);
  assert.equal(await status('shop.example.com'), 404);

  writeConfig(dir, good(['shop.example.com']));
  await waitFor('the new host to route', async () => ((await status('shop.example.com')) === 200 ? true : undefined));

  const before = ((await (await request(`http://127.0.0.1:${client.adminPort}/config_dump`)).body.json()) as { version: string }).version;
  writeConfig(dir, { ...good([]), services: { 'shop/catalog': { endpoints: { nowhere: ['127.0.0.1:1'] }, weights: { a: 5 } } } });
  await waitFor('the refusal to be counted', async () => ((await metric(/meshfed_config_reloads_total\{result="refused"\} [1-9]/)) ? true : undefined));
  const afterBad = ((await (await request(`http://127.0.0.1:${client.adminPort}/config_dump`)).body.json()) as { version: string }).version;
  assert.equal(afterBad, before, 'the refused file must not replace the running config');
  assert.equal(await status('shop.example.com'), 200, 'the old config keeps serving');
});

for (const host of ['127.0.0.1', '::1']) {
  test(`\`meshfed sidecar --host ${host}\` runs as a process, prints addresses that can be pasted back, answers /ready, and stops cleanly on SIGTERM`, async (t) => {
    const dir = tempDir(t);
    const pki = await diskPki();
    const certs = await pki.workload(dir, 'shop', 'web');
    const file = writeConfig(dir, { trustDomain: 'mesh.test', zones: { a: { network: 'n1' } }, certificates: certs.files });
    const child = spawn(process.execPath, [join(root, 'cli/meshfed.ts'), 'sidecar', '--service', 'shop/web', '--zone', 'a', '--app-port', '1',
      '--config', file, '--host', host, '--inbound-port', '0', '--outbound-port', '0', '--admin-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MESHFED_LOG_LEVEL: 'warn' } });
    t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    // IPv6 hosts are bracketed, so HOST:PORT reads back unambiguously.
    const shown = host.includes(':') ? `[${host}]` : host;
    const at = shown.replace(/[.[\]]/g, '\\$&');
    const admin = await waitFor('the ports line', () => new RegExp(`admin ${at}:(\\d+)`).exec(out)?.[1]);
    assert.match(out, new RegExp(`outbound ${at}:\\d+ inbound ${at}:\\d+`));
    const ready = await request(`http://${shown}:${admin}/ready`);
    assert.equal(ready.statusCode, 200);
    await ready.body.dump();
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
}

test('`meshfed sidecar` with an invalid config exits 1 naming the path', async (t) => {
  const dir = tempDir(t);
  const file = writeConfig(dir, { zones: { a: { network: 'n1', color: 'red' } } });
  const child = spawn(process.execPath, [join(root, 'cli/meshfed.ts'), 'sidecar', '--service', 'shop/web', '--zone', 'a', '--app-port', '1', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  assert.equal(code, 1);
  assert.match(err, /zones\.a: unknown key "color"/);
});

test('`meshfed sidecar --overlay` goes with --agent only (exit 2), and a bad overlay stops it naming the path (exit 1)', (t) => {
  const dir = tempDir(t);
  const overlay = join(dir, 'overlay.yaml');
  writeFileSync(overlay, 'services: { shop/catalog: { routes: [{ name: r, subset: v9 }] } }\n');
  const run = (args: string[]) => spawnSync(process.execPath, [join(root, 'cli/meshfed.ts'), 'sidecar', '--service', 'shop/web', '--zone', 'a', '--app-port', '1', ...args], { encoding: 'utf8', timeout: 60_000 });
  const withConfig = run(['--config', join(dir, 'x.yaml'), '--overlay', overlay]);
  assert.equal(withConfig.status, 2, withConfig.stderr);
  assert.match(withConfig.stderr, /--overlay goes with --agent/);
  const bad = run(['--agent', '127.0.0.1:1', '--overlay', overlay]);
  assert.equal(bad.status, 1, bad.stderr);
  assert.match(bad.stderr, /overlay\.yaml: services\.shop\/catalog\.routes\[0\]\.subset: subset "v9" is not declared/);
});

test('`meshfed sidecar` with a port already taken exits 1 naming the address, instead of idling on the ports it did bind', async (t) => {
  const dir = tempDir(t);
  const pki = await diskPki();
  const certs = await pki.workload(dir, 'shop', 'web');
  const file = writeConfig(dir, { trustDomain: 'mesh.test', zones: { a: { network: 'n1' } }, certificates: certs.files });
  const taken = net.createServer().listen(0, '127.0.0.1');
  await once(taken, 'listening');
  t.after(() => taken.close());
  const port = (taken.address() as net.AddressInfo).port;
  // The admin port is bound last, after the outbound and inbound listeners are up.
  const r = spawnSync(process.execPath, [join(root, 'cli/meshfed.ts'), 'sidecar', '--service', 'shop/web', '--zone', 'a', '--app-port', '1', '--config', file,
    '--inbound-port', '0', '--outbound-port', '0', '--admin-port', String(port)], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, MESHFED_LOG_LEVEL: 'warn' } });
  assert.equal(r.error, undefined, 'the process exits by itself');
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use`));
  assert.doesNotMatch(r.stderr, /unexpected error|    at /);
});

test('startSidecar that cannot bind its admin port rejects and leaves its other listeners closed', async (t) => {
  const dir = tempDir(t);
  const pki = await diskPki();
  const certs = await pki.workload(dir, 'shop', 'web');
  const config = loadSidecarConfig(writeConfig(dir, { trustDomain: 'mesh.test', zones: { a: { network: 'n1' } }, certificates: certs.files }));
  const taken = net.createServer().listen(0, '127.0.0.1');
  await once(taken, 'listening');
  t.after(() => taken.close());
  const [outboundPort, inboundPort] = await freePorts(2);
  await assert.rejects(
    startSidecar({ service: 'shop/web', zone: 'a', appPort: 1, config, logger: quietLogger(), outboundPort, inboundPort, adminPort: (taken.address() as net.AddressInfo).port }),
    (e: NodeJS.ErrnoException) => e.code === 'EADDRINUSE',
  );
  // Both ports it had bound are free again: binding them here succeeds.
  for (const port of [outboundPort!, inboundPort!]) {
    const probe = net.createServer().listen(port, '127.0.0.1');
    await once(probe, 'listening');
    await new Promise<void>((r) => probe.close(() => r()));
  }
});
