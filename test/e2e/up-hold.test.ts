// `meshfed hold` / `meshfed release` on a real `meshfed up`: held components stay dead for the hold, show as held, and come back (same ports, new pids) when it ends or is released.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, httpOk as ok, startUp, until } from '../support/up-harness.ts';
import { isAlive } from '../../local/supervisor.ts';
import type { UpState } from '../../local/state.ts';

test('hold --kill keeps every catalog of us-east-1a dead for 8 s, then they restart; a held agent restarts as soon as it is released', { timeout: 200_000 }, async (t) => {
  const up = await startUp(['--store', 'memory']);
  t.after(() => up.stop());
  const read = () => JSON.parse(readFileSync(join(up.stateDir, 'up.json'), 'utf8')) as UpState;
  const component = (s: UpState, name: string) => s.components.find((c) => c.name === name)!;
  const catalogs = up.state.components.filter((c) => c.name.startsWith('app-us-east-1a-catalog-'));
  assert.deepEqual(catalogs.map((c) => c.name), ['app-us-east-1a-catalog-v1-0', 'app-us-east-1a-catalog-v1-1', 'app-us-east-1a-catalog-v2-0']);

  const unknown = await cli(up.env, 'hold', 'agent-nowhere', '--for', '5s');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown component "agent-nowhere" \(components: .*agent-us-east-1b/);

  const held = await cli(up.env, 'hold', 'app-us-east-1a-catalog-*', '--for', '8s', '--kill');
  assert.equal(held.code, 0, held.stderr);
  for (const c of catalogs) assert.match(held.stdout, new RegExp(`^held +${c.name} for 8\\.0s \\(killed pid ${c.pid}\\)`, 'm'));
  const during = read();
  const holdUntil = Date.parse(component(during, catalogs[0]!.name).hold!.until);
  for (const c of catalogs) {
    assert.equal(component(during, c.name).hold?.down, true, `${c.name} is recorded as held down`);
    assert.equal(isAlive(c.pid), false, `${c.name} was killed`);
  }
  const status = await cli(up.env, 'status');
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /^HELD {2}.*app-us-east-1a-catalog-v1-0 \(down, \d+s left\)/m);

  // Meanwhile: hold an agent for 3 s, and release it at once: it must come back before its hold would have expired.
  const agent = component(read(), 'agent-us-east-1b');
  const heldAgent = await cli(up.env, 'hold', 'agent-us-east-1b', '--for', '3s', '--kill');
  assert.equal(heldAgent.code, 0, heldAgent.stderr);
  const agentUntil = Date.parse(component(read(), 'agent-us-east-1b').hold!.until);
  assert.equal(isAlive(agent.pid), false);
  const released = await cli(up.env, 'release', 'agent-us-east-1b');
  assert.equal(released.code, 0, released.stderr);
  assert.match(released.stdout, /^released {2}agent-us-east-1b after \d+\.\ds; meshfed up is starting it again$/m);
  const agentAgain = await until('the released agent to run under a new pid', 10_000, async () => {
    const c = component(read(), 'agent-us-east-1b');
    return c.pid !== agent.pid && isAlive(c.pid) && c.hold === undefined ? c : undefined;
  }, 50);
  assert.ok(Date.now() < agentUntil, `restarted on release, before the hold would have expired (${agentUntil - Date.now()} ms early)`);
  const east1b = up.state.zones.find((z) => z.name === 'us-east-1b')!;
  await until('the released agent to be ready', 30_000, async () => ((await ok(`${east1b.agentAdminUrl}/healthz`)) ? true : undefined));
  assert.equal(agentAgain.restarts, 0, 'a held exit is not counted as a restart');

  // The catalogs stay dead until their hold ends: observed at every poll up to just before the end.
  while (Date.now() < holdUntil - 300) {
    const s = read();
    for (const c of catalogs) {
      assert.equal(component(s, c.name).pid, c.pid, `${c.name} was not restarted during its hold`);
      assert.equal(isAlive(c.pid), false, `${c.name} stays dead during its hold`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const after = await until('every catalog to run again under a new pid, hold gone', 30_000, async () => {
    const s = read();
    return catalogs.every((c) => { const n = component(s, c.name); return n.pid !== c.pid && isAlive(n.pid) && n.hold === undefined; }) ? s : undefined;
  });
  assert.ok(Date.now() >= holdUntil, 'not restarted before the hold ended');
  const east = up.state.zones.find((z) => z.name === 'us-east-1a')!;
  for (const c of catalogs) {
    const sidecar = east.sidecars.find((x) => x.component === c.name)!;
    await until(`${c.name} ready again on its old admin port`, 60_000, async () => ((await ok(`${sidecar.adminUrl}/ready`)) ? true : undefined));
    const now = component(after, c.name);
    assert.equal(now.restarts, 0, `${c.name}: a held exit is not counted as a restart`);
    await until(`the released line of ${c.name}`, 30_000, async () =>
      new RegExp(`^ {2}released {4}${c.name} after \\d+\\.\\ds, restarted: pid ${now.pid}$`, 'm').test(up.output()) ? true : undefined);
  }
  assert.match(up.output(), /^ {2}released {4}agent-us-east-1b after \d+\.\ds, restarted: pid \d+$/m);
  const noHold = await cli(up.env, 'status');
  assert.doesNotMatch(noHold.stdout, /^HELD/m);
});
