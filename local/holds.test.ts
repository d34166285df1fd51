// Unit tests of hold decisions on a fake clock: restart now, keep down until T, kill once per hold, latest hold wins; and the hold files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { activeHold, decideHold, decodeHold, formatHeld, matchComponents, readHolds, removeHold, staleHolds, writeHold, type Hold } from './holds.ts';

const hold = (component: string, since: number, until: number, kill = false, id = `h${since}`): Hold => ({ id, component, since, until, kill });

test('no hold: an exit follows the restart policy, a running component is left alone', () => {
  assert.deepEqual(decideHold([], 'agent-a', { kind: 'exited' }, 1000), { kind: 'not-held' });
  assert.deepEqual(decideHold([hold('agent-b', 0, 5000)], 'agent-a', { kind: 'running' }, 1000), { kind: 'not-held' });
});

test('an exit under a hold is kept down until the hold ends at T (not restarted, not counted)', () => {
  const h = hold('agent-a', 0, 8000);
  assert.deepEqual(decideHold([h], 'agent-a', { kind: 'exited' }, 1000), { kind: 'keep-down', hold: h, until: 8000 });
  assert.deepEqual(decideHold([h], 'agent-a', { kind: 'kept-down', since: 1000 }, 7999), { kind: 'keep-down', hold: h, until: 8000 });
});

test('a kept-down component restarts at the first look once the hold expired, and says how long it was down', () => {
  const h = hold('agent-a', 0, 8000);
  assert.deepEqual(decideHold([h], 'agent-a', { kind: 'kept-down', since: 1000 }, 8000), { kind: 'restart-now', heldMs: 7000 });
});

test('a released hold (its file gone) restarts a kept-down component now, long before its expiry', () => {
  assert.deepEqual(decideHold([], 'agent-a', { kind: 'kept-down', since: 1000 }, 2500), { kind: 'restart-now', heldMs: 1500 });
});

test('a --kill hold kills a running component once; after that it only keeps it down', () => {
  const h = hold('app-z-catalog-v1-0', 0, 8000, true);
  assert.deepEqual(decideHold([h], h.component, { kind: 'running' }, 100), { kind: 'kill', hold: h });
  // The kill was sent but the exit is not in yet: do not send it again.
  assert.deepEqual(decideHold([h], h.component, { kind: 'running' }, 350, new Set([h.id])), { kind: 'keep-down', hold: h, until: 8000 });
  // Without --kill a running component keeps running, but is held should it exit.
  const soft = hold('agent-a', 0, 8000, false);
  assert.deepEqual(decideHold([soft], 'agent-a', { kind: 'running' }, 100), { kind: 'keep-down', hold: soft, until: 8000 });
});

test('the latest hold of a component wins, so a shorter hold set later ends it sooner; stale files are the others', () => {
  const long = hold('agent-a', 0, 30_000, false, 'a');
  const short = hold('agent-a', 1000, 4000, false, 'b');
  assert.equal(activeHold([long, short], 'agent-a', 2000)?.id, 'b');
  assert.equal(activeHold([long, short], 'agent-a', 4000), undefined);
  assert.deepEqual(decideHold([long, short], 'agent-a', { kind: 'kept-down', since: 1000 }, 4000), { kind: 'restart-now', heldMs: 3000 });
  assert.deepEqual(staleHolds([long, short], 2000).map((h) => h.id), ['a']);
  assert.deepEqual(staleHolds([long, short], 4000).map((h) => h.id).sort(), ['a', 'b']);
});

test('component patterns: exact names and a trailing * prefix; what matches nothing is reported', () => {
  const names = ['global-lb-1', 'agent-us-east-1a', 'app-us-east-1a-catalog-v1-0', 'app-us-east-1a-catalog-v1-1', 'app-us-east-1a-catalog-v2-0', 'app-us-east-1a-frontend-v1-0'];
  assert.deepEqual(matchComponents(['app-us-east-1a-catalog-*'], names), { matched: names.slice(2, 5), unknown: [] });
  assert.deepEqual(matchComponents(['agent-us-east-1a', 'agent-nowhere', 'app-x-*'], names), { matched: ['agent-us-east-1a'], unknown: ['agent-nowhere', 'app-x-*'] });
  assert.deepEqual(matchComponents(['agent-us-east-1'], names).unknown, ['agent-us-east-1'], 'no implicit prefix without *');
});

test('hold files: written atomically, read back typed, foreign files ignored, removed by id only', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-holds-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.deepEqual(readHolds(join(dir, 'missing')), []);
  const a = writeHold(dir, 'agent-a', 1000, 5000, true);
  const b = writeHold(dir, 'agent-a', 2000, 5000, false);
  writeFileSync(join(dir, 'junk.json'), '{"component": 3}');
  writeFileSync(join(dir, 'half.json'), '{"id": "x", ');
  assert.deepEqual(readHolds(dir).sort((x, y) => x.since - y.since), [a, b]);
  assert.deepEqual(a, { id: a.id, component: 'agent-a', since: 1000, until: 6000, kill: true });
  removeHold(dir, a);
  assert.deepEqual(readHolds(dir), [b]);
  assert.ok(!readdirSync(dir).some((f) => f.endsWith('.tmp')));
  assert.equal(decodeHold({ id: 'x', component: 'c', since: 1, until: 'soon', kill: false }), undefined);
});

test('held durations read in seconds, then minutes', () => {
  assert.equal(formatHeld(8040), '8.0s');
  assert.equal(formatHeld(65_000), '1m 5s');
});
