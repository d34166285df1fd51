// End to end: `meshfed up` as a user runs it: traffic shares match `meshfed weights`, drain/undrain, and a clean stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { request, Agent } from 'undici';
import { skipWithoutEtcd } from '../support/etcd.ts';
import { isAlive, killGroup } from '../../local/supervisor.ts';
import type { UpState } from '../../local/state.ts';
import type { SampleReply } from '../../local/sample-app.ts';
import { assertShares, burst, CLI, cli, hit, observed, sharesOf, until, weights, type Hit, type TableJson } from '../support/up-harness.ts';


/** PATH without any directory holding an etcd binary: "etcd missing" as a user without it would have it. */
function pathWithoutEtcd(): string {
  return (process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== '' && !existsSync(join(d, 'etcd'))).join(delimiter);
}


for (const variant of ['embedded store (etcd missing from PATH)', 'etcd'] as const) {
  const withEtcd = variant === 'etcd';
  test(`meshfed up with ${variant}: shares match meshfed weights, drain and undrain, clean stop`, { timeout: 240_000, skip: withEtcd ? skipWithoutEtcd() : false }, async (t) => {
    const stateDir = mkdtempSync(join(tmpdir(), 'meshfed-e2e-'));
    const env: NodeJS.ProcessEnv = { ...process.env, MESHFED_STATE_DIR: stateDir, ...(withEtcd ? {} : { PATH: pathWithoutEtcd() }) };
    delete env['MESHFED_ADMIN'];
    delete env['MESHFED_ETCD_BIN'];
    const agent = new Agent({ connections: 16 });
    let output = '';
    const child: ChildProcess = spawn(process.execPath, [CLI, 'up', '--state-dir', stateDir], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    let exited = false;
    const exit = new Promise<number | null>((r) => child.once('exit', (code) => { exited = true; r(code); }));
    let state: UpState | undefined;
    t.after(async () => {
      await agent.close().catch(() => {});
      if (!exited) {
        killGroup(child.pid, 'SIGTERM');
        await Promise.race([exit, new Promise((r) => setTimeout(r, 20_000))]);
        killGroup(child.pid, 'SIGKILL');
      }
      for (const c of state?.components ?? []) killGroup(c.pid, 'SIGKILL');
      rmSync(stateDir, { recursive: true, force: true });
    });

    await until('meshfed up to print "ready"', 150_000, async () => {
      if (exited) throw new Error(`meshfed up exited early:\n${output}`);
      return /^ready$/m.test(output) ? true : undefined;
    });
    state = JSON.parse(readFileSync(join(stateDir, 'up.json'), 'utf8')) as UpState;
    assert.equal(state.store, withEtcd ? 'etcd' : 'memory');
    assert.equal(state.adminUrls.length, withEtcd ? 2 : 1);
    if (!withEtcd) assert.match(output, /apt-get install -y etcd-server/);
    const front = state.zones.find((z) => z.name === 'us-east-1a')?.frontendUrl;
    assert.ok(front);
    // Each zone's east-west gateway, and each app instance, is its own supervised process; the gateway serves /ready.
    const gatewayPids: number[] = [];
    const components: UpState['components'] = state.components;
    for (const z of state.zones) {
      const gw = components.find((c) => c.name === `gateway-${z.name}`);
      const apps = z.sidecars.map((s) => components.find((c) => c.name === `app-${z.name}-${s.instance}`));
      assert.ok(gw && apps.every(Boolean), `components of ${z.name}: ${JSON.stringify(components.map((c) => c.name))}`);
      assert.equal(new Set([gw.pid, ...apps.map((a) => a!.pid)]).size, apps.length + 1, 'one process each');
      assert.ok(isAlive(gw.pid), `gateway of ${z.name} is running`);
      assert.ok(z.gatewayAdminUrl, `up.json names the gateway admin of ${z.name}`);
      const line = `  gateway     ${z.name}: listen ${z.gateway}, admin ${z.gatewayAdminUrl}`;
      assert.ok(output.split('\n').includes(line), `a progress line "${line}"`);
      const ready = await request(`${z.gatewayAdminUrl}/ready`, { dispatcher: agent });
      await ready.body.text();
      assert.equal(ready.statusCode, 200);
      gatewayPids.push(gw.pid);
    }
    const euGateway = state.zones.find((z) => z.name === 'europe-west1-b')!.gatewayAdminUrl!;
    const forwarded = async (): Promise<number> => {
      const res = await request(`${euGateway}/metrics`, { dispatcher: agent });
      const text = await res.body.text();
      return [...text.matchAll(/^meshfed_gateway_connections_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    };

    // 1. Shares per hop match what `meshfed weights` reports; the tables must not move while we sample.
    await until('a sample taken while the weight tables stood still', 60_000, async () => {
      const [c0, p0] = [await weights(env, 'catalog'), await weights(env, 'pricing')];
      const hits = await burst(agent, front, 1200);
      const [c1, p1] = [await weights(env, 'catalog'), await weights(env, 'pricing')];
      if (c0.version !== c1.version || p0.version !== p1.version) return undefined;
      assert.equal(hits.filter((h) => h.status !== 200).length, 0, 'every request succeeds');
      const catalog = observed(hits, 1);
      assertShares('catalog from us-east-1a', sharesOf(c1, 'us-east-1a'), catalog);
      for (const zone of catalog.share.keys()) {
        const pricing = observed(hits, 2, zone);
        if (pricing.n >= 200) assertShares(`pricing from ${zone}`, sharesOf(p1, zone), pricing);
      }
      // The default demo crosses zones: us-east-1a has no pricing, and 30% of its catalog calls go to europe-west1-b.
      assert.ok((catalog.share.get('europe-west1-b') ?? 0) > 0.2, `cross-network share: ${JSON.stringify([...catalog.share])}`);
      return true;
    });
    // Calls into europe-west1-b (another network) enter through its gateway process: it counts what it forwarded.
    assert.ok((await forwarded()) > 0, 'europe-west1-b\'s gateway forwarded connections');

    // A canary call from europe-west1-b crosses networks to catalog v2 (only in us-east-1a): the frontend passes
    // x-canary on, the sidecar picks subset v2, and us-east-1a's gateway resolves outbound_.80_.v2_.catalog by the
    // overlay it was started with.
    const euFront = state.zones.find((z) => z.name === 'europe-west1-b')!.frontendUrl!;
    for (let i = 0; i < 5; i++) {
      const res = await request(euFront, { dispatcher: agent, headers: { 'x-canary': 'v2' }, headersTimeout: 10_000, bodyTimeout: 10_000 });
      const reply = JSON.parse(await res.body.text()) as SampleReply;
      assert.equal(res.statusCode, 200, JSON.stringify(reply));
      const catalog = reply.upstream as SampleReply | undefined;
      assert.deepEqual([catalog?.service, catalog?.version, catalog?.zone], ['catalog', 'v2', 'us-east-1a'], JSON.stringify(reply));
    }

    // 2. Drain europe-west1-b under continuous traffic: its share falls to 0 within 3 s, no request fails.
    const during: Hit[] = [];
    let running = true;
    const loop = Promise.all(Array.from({ length: 4 }, async () => {
      while (running) during.push(await hit(agent, front));
    }));
    await new Promise((r) => setTimeout(r, 1000));
    const drain = await cli(env, 'drain', 'europe-west1-b');
    const drainedAt = Date.now();
    assert.equal(drain.code, 0, drain.stderr);
    await new Promise((r) => setTimeout(r, 5000));
    running = false;
    await loop;
    assert.deepEqual(during.filter((h) => h.status !== 200).map((h) => h.status), [], 'no failed request while draining');
    const late = during.filter((h) => h.start >= drainedAt + 3000);
    assert.ok(late.length >= 20, `enough requests after the 3 s bound (${late.length})`);
    assert.equal(late.filter((h) => h.hops.some((x) => x.zone === 'europe-west1-b')).length, 0, 'no hop served by the drained zone after 3 s');
    const drainedTable = await weights(env, 'catalog');
    assert.equal(sharesOf(drainedTable, 'us-east-1a').get('europe-west1-b') ?? 0, 0);

    // 3. Undrain: the share comes back to what the balancer reports (30% once hold-down and damping settle).
    const undrain = await cli(env, 'undrain', 'europe-west1-b');
    assert.equal(undrain.code, 0, undrain.stderr);
    await until('europe-west1-b to recover its catalog share', 60_000, async () => {
      const before = await weights(env, 'catalog');
      const expected = sharesOf(before, 'us-east-1a');
      if ((expected.get('europe-west1-b') ?? 0) < 0.3) return undefined;
      const hits = await burst(agent, front, 600);
      const after = await weights(env, 'catalog');
      if (after.version !== before.version) return undefined;
      assert.equal(hits.filter((h) => h.status !== 200).length, 0);
      assertShares('catalog from us-east-1a after undrain', expected, observed(hits, 1));
      return true;
    });

    // 4. Stop: Ctrl-C for the embedded variant, `meshfed down` for the etcd one. Nothing it started may survive.
    const pids = [child.pid!, ...state.components.map((c) => c.pid)];
    if (withEtcd) {
      const down = await cli(env, 'down', '--state-dir', stateDir);
      assert.equal(down.code, 0, down.stderr + down.stdout);
    } else {
      child.kill('SIGINT');
    }
    const code = await Promise.race([exit, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000))]);
    assert.notEqual(code, 'timeout', `meshfed up did not exit:\n${output.slice(-2000)}`);
    assert.equal(code, 0);
    await until('every started process to be gone', 10_000, async () => (pids.every((p) => !isAlive(p)) ? true : undefined));
    assert.deepEqual(gatewayPids.filter(isAlive), [], 'no gateway process left');
    assert.equal(existsSync(join(stateDir, 'up.json')), false, 'up.json removed');
    assert.equal(existsSync(join(stateDir, 'run')), false, 'temporary state removed');
    assert.equal(existsSync(join(stateDir, 'trust', 'root', 'root-cert.pem')), true, 'trust root kept');
  });
}
