// End to end: `meshfed up --etcd-members 3` runs three supervised etcd members; one held down keeps the store in quorum (traffic, weights, writes go on), it rejoins under a new pid, and `meshfed down` leaves no etcd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { skipWithoutEtcd } from '../support/etcd.ts';
import { cli, startUp, steady, until, weights } from '../support/up-harness.ts';
import { Agent, fetch as undiciFetch } from 'undici';
import { isAlive } from '../../local/supervisor.ts';
import type { UpState } from '../../local/state.ts';

const MEMBERS = ['etcd-1', 'etcd-2', 'etcd-3'];

/** The command line of a live process, one argument per entry. */
function argvOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
}

function flagOf(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i < 0 ? undefined : argv[i + 1];
}

/** TLS to the members: their CA, with or without meshfed's client certificate (which up.json names). */
function etcdAgent(state: UpState, withCert: boolean): Agent {
  const files = state.etcdTls!;
  return new Agent({ connect: { ca: readFileSync(files.ca), ...(withCert ? { cert: readFileSync(files.cert), key: readFileSync(files.key) } : {}) } });
}

/** A call to etcd's JSON gateway (keys and values are base64 there); undefined when the member does not answer. */
async function etcdCall(dispatcher: Agent, clientUrl: string, path: string, body: unknown): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await undiciFetch(`${clientUrl}${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(3000), dispatcher });
    return res.ok ? ((await res.json()) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** /health of a member, on its plain metrics port (the client port answers only certificate holders). */
async function healthy(healthUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${healthUrl}/health`, { signal: AbortSignal.timeout(2000) });
    return ((await res.json()) as { health?: string }).health === 'true';
  } catch {
    return false;
  }
}

/** Pids of live processes whose command line mentions `needle` (pgrep -f). */
function pgrep(needle: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', needle], { encoding: 'utf8' }).split('\n').filter((l) => l !== '').map(Number);
  } catch {
    return []; // exit 1: none
  }
}

test('meshfed up --etcd-members 3: a member held down keeps quorum (traffic, weights and writes go on), it rejoins under a new pid, a killed one restarts, down leaves no etcd', { timeout: 240_000, skip: skipWithoutEtcd() }, async (t) => {
  const up = await startUp(['--etcd-members', '3']);
  t.after(() => up.stop());
  const read = () => JSON.parse(readFileSync(join(up.stateDir, 'up.json'), 'utf8')) as UpState;
  const component = (s: UpState, name: string) => s.components.find((c) => c.name === name)!;

  // 1. Three members: supervised components with their own ports, data dir and log; every replica is given all of them.
  const endpoints = up.state.etcdEndpoints ?? [];
  const healthUrls = up.state.etcdHealthUrls ?? [];
  const withCert = etcdAgent(up.state, true);
  t.after(() => withCert.close());
  assert.equal(up.state.store, 'etcd');
  assert.equal(endpoints.length, 3, `etcdEndpoints: ${JSON.stringify(endpoints)}`);
  assert.equal(new Set(endpoints).size, 3);
  assert.deepEqual(up.state.components.filter((c) => c.name.startsWith('etcd')).map((c) => c.name), MEMBERS);
  assert.match(up.output(), /meshfed is up: 3 zones, 2 global-lb replica\(s\) on etcd \(3 members\)/);
  for (const [k, name] of MEMBERS.entries()) {
    const c = component(up.state, name);
    assert.ok(isAlive(c.pid), `${name} runs`);
    assert.equal(c.logFile, join(up.state.logDir, `${name}.log`));
    assert.ok(existsSync(c.logFile), `${name} has its own log`);
    const argv = argvOf(c.pid);
    assert.equal(flagOf(argv, '--name'), name);
    assert.equal(flagOf(argv, '--data-dir'), join(up.state.runDir, 'etcd', name));
    assert.equal(flagOf(argv, '--listen-client-urls'), endpoints[k]);
    assert.equal(flagOf(argv, '--initial-cluster')?.split(',').map((m) => m.split('=')[0]).join(','), MEMBERS.join(','));
    assert.ok(await healthy(healthUrls[k]!), `${name} answers /health`);
    assert.ok(argv.includes('--client-cert-auth') && argv.includes('--peer-client-cert-auth'), `${name} requires client and peer certificates`);
  }
  // The store is closed to anyone without a certificate under the etcd CA: plain HTTP, TLS without a client
  // certificate, and the gateway's range call all fail, while the same call with meshfed's certificate answers.
  assert.match(endpoints[0]!, /^https:/);
  const anonymous = etcdAgent(up.state, false);
  const range = { key: b64('/meshfed/v1/'), range_end: b64('/meshfed/v10') };
  assert.equal(await etcdCall(anonymous, endpoints[0]!, '/v3/kv/range', range), undefined, 'TLS without a client certificate is refused');
  await anonymous.close();
  assert.equal(await etcdCall(new Agent(), endpoints[0]!.replace('https:', 'http:'), '/v3/kv/range', range), undefined, 'plain HTTP is refused');
  const readable = await etcdCall(withCert, endpoints[0]!, '/v3/kv/range', range);
  assert.ok(Number(readable?.['count'] ?? 0) > 0, `with meshfed's client certificate the same range answers: ${JSON.stringify(readable)?.slice(0, 200)}`);
  const list = await etcdCall(withCert, endpoints[0]!, '/v3/cluster/member/list', {});
  assert.deepEqual(((list?.['members'] ?? []) as { name: string }[]).map((m) => m.name).sort(), MEMBERS, 'one cluster of three');
  for (const lb of ['global-lb-1', 'global-lb-2']) assert.equal(flagOf(argvOf(component(up.state, lb).pid), '--etcd'), endpoints.join(','), `${lb} knows every member`);

  // 2. Hold etcd-2 down for 8 s (killed): the other two keep quorum.
  const front = steady(up.agent, up.frontend('us-east-1a'), 100, 2);
  const before = component(up.state, 'etcd-2');
  const held = await cli(up.env, 'hold', 'etcd-2', '--for', '8s', '--kill');
  assert.equal(held.code, 0, held.stderr);
  assert.match(held.stdout, new RegExp(`^held +etcd-2 for 8\\.0s \\(killed pid ${before.pid}\\)`, 'm'));
  const holdUntil = Date.parse(component(read(), 'etcd-2').hold!.until);
  assert.equal(isAlive(before.pid), false, 'etcd-2 was killed');
  const put = await until('a write to the store with etcd-2 down', 15_000, () =>
    etcdCall(withCert, endpoints[0]!, '/v3/kv/put', { key: b64('meshfed-e2e/during-hold'), value: b64('quorum') }));
  assert.ok(put['header'], 'etcd-1 committed a write with one member of three down');
  const table = await weights(up.env, 'catalog');
  assert.deepEqual(table.rows.map((r) => r.sourceZone).sort(), ['europe-west1-b', 'us-east-1a', 'us-east-1b'], 'meshfed weights answers');
  // The balancer's store check is one read, and EtcdStore sends each call to one member picked at random without
  // trying another when it is down: a third of the checks land on etcd-2 and fail. The store is reachable when one passes.
  const status = await until('meshfed status to show the store reachable through the two members left', 10_000, async () => {
    const r = await cli(up.env, 'status');
    assert.equal(r.code, 0, r.stderr);
    return /store: etcd ok/.test(r.stdout) ? r : undefined;
  }, 100);
  assert.match(status.stdout, /^etcd-2 +https:\S+ +DOWN +\d+ +0$/m);
  assert.match(status.stdout, /^etcd-1 +https:\S+ +ok +\d+ +0$/m);
  assert.match(status.stdout, /^HELD {2}etcd-2 \(down, \d+s left\)/m);
  assert.equal(component(read(), 'etcd-2').pid, before.pid, 'not restarted during its hold');

  // 3. After the hold it comes back under a new pid on its data dir and ports, and has the write it missed.
  const back = await until('etcd-2 to run again under a new pid, hold gone', 30_000, () => {
    const c = component(read(), 'etcd-2');
    return c.pid !== before.pid && isAlive(c.pid) && c.hold === undefined ? c : undefined;
  });
  assert.ok(Date.now() >= holdUntil, 'not restarted before the hold ended');
  assert.equal(back.restarts, 0, 'a held exit is not counted as a restart');
  assert.deepEqual([flagOf(argvOf(back.pid), '--data-dir'), flagOf(argvOf(back.pid), '--listen-client-urls')], [join(up.state.runDir, 'etcd', 'etcd-2'), endpoints[1]]);
  await until('etcd-2 healthy and caught up (a serializable read answers from its own copy)', 30_000, async () => {
    const got = await etcdCall(withCert, endpoints[1]!, '/v3/kv/range', { key: b64('meshfed-e2e/during-hold'), serializable: true });
    const kv = (got?.['kvs'] as { value: string }[] | undefined)?.[0];
    return kv !== undefined && Buffer.from(kv.value, 'base64').toString() === 'quorum' && (await healthy(healthUrls[1]!)) ? true : undefined;
  });
  await until('the released line of etcd-2', 10_000, () => (new RegExp(`^ {2}released {4}etcd-2 after \\d+\\.\\ds, restarted: pid ${back.pid}$`, 'm').test(up.output()) ? true : undefined));
  const hits = await front.stop();
  assert.ok(hits.length >= 40, `enough requests during the hold (${hits.length})`);
  assert.deepEqual(hits.filter((h) => h.status !== 200).map((h) => `${h.status} ${h.body.slice(0, 120)}`), [], 'every request succeeded while etcd-2 was down');

  // 4. A member that dies on its own (no hold) is restarted by the supervisor, and the restart is counted.
  const third = component(read(), 'etcd-3');
  process.kill(third.pid, 'SIGKILL');
  const restarted = await until('etcd-3 restarted and counted', 30_000, () => {
    const c = component(read(), 'etcd-3');
    return c.pid !== third.pid && isAlive(c.pid) && c.restarts === 1 ? c : undefined;
  });
  assert.equal(restarted.lastExit, 'signal SIGKILL');
  await until('etcd-3 healthy again', 30_000, async () => ((await healthy(healthUrls[2]!)) ? true : undefined));
  assert.match(up.output(), /^ {2}restart {5}etcd-3 \(exit signal SIGKILL\), attempt 1$/m);
  const after = await weights(up.env, 'catalog');
  assert.equal(after.rows.length, 3, 'meshfed weights still answers');

  // 5. meshfed down stops every member with the rest: no process mentions the state dir, no recorded pid lives.
  const pids = read().components.map((c) => c.pid);
  const down = await cli(up.env, 'down');
  assert.equal(down.code, 0, down.stderr + down.stdout);
  await until('no process of the federation left', 15_000, () => (pgrep(up.stateDir).length === 0 && pids.every((p) => !isAlive(p)) ? true : undefined));
  assert.equal(existsSync(join(up.stateDir, 'up.json')), false, 'up.json removed');
});
