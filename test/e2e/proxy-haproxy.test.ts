// End to end: `meshfed up --proxy haproxy`: HAProxy enforces meshfed's weights (shares, weight churn without reload, drain, tier failover, certificate rotation) under load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { defaultPolicies } from '../../local/plan.ts';
import type { UpState } from '../../local/state.ts';
import { runtimeCommand, parseInfo, parseShowStat, reloadsOf } from '../../proxy/index.ts';
import { assertShares, burst, cli, observed, sharesOf, startUp, steady, tableOf, until, type Hit, type TableJson, type Up } from '../support/up-harness.ts';


/** Shares (fractions) per target zone of one source's row. */

/** One instance's HAProxy, as `meshfed up --proxy haproxy` lays it out (<run>/zones/<zone>/haproxy/<instance>/). */
interface Haproxy { readonly zone: string; readonly instance: string; readonly dir: string }

function haproxies(up: Up): Haproxy[] {
  return up.state.zones.flatMap((z) => z.sidecars.map((s) => ({ zone: z.name, instance: s.instance, dir: join(up.state.runDir, 'zones', z.name, 'haproxy', s.instance) })));
}

/** HAProxy's own view of whether it reloaded: the worker's pid (`show info`) and the master's reload counter (`show proc`). */
async function processOf(h: Haproxy): Promise<{ pid: number; reloads: number }> {
  const info = parseInfo(await runtimeCommand(join(h.dir, 'admin.sock'), 'show info'));
  const reloads = reloadsOf(await runtimeCommand(join(h.dir, 'master.sock'), 'show proc; quit'));
  assert.ok(Number(info['Pid']) > 0 && reloads !== undefined, `${h.instance}: show info / show proc answered`);
  return { pid: Number(info['Pid']), reloads };
}

/** The weights HAProxy runs for a backend, server -> weight, from `show stat`. */
async function weightsIn(h: Haproxy, backend: string): Promise<string> {
  const rows = parseShowStat(await runtimeCommand(join(h.dir, 'admin.sock'), 'show stat'));
  return rows.filter((r) => r['pxname'] === backend && r['svname'] !== 'BACKEND').map((r) => `${r['svname']}=${r['weight']}`).join(',');
}

async function serialOf(h: Haproxy): Promise<string> {
  const text = await runtimeCommand(join(h.dir, 'admin.sock'), `show ssl cert ${join(h.dir, 'workload.pem')}`);
  return /^Serial: (\S+)/m.exec(text)?.[1] ?? '';
}

const failed = (hits: readonly Hit[]) => hits.filter((h) => h.status !== 200);
const current = (up: Up): UpState => JSON.parse(readFileSync(join(up.stateDir, 'up.json'), 'utf8')) as UpState;

async function putPolicy(up: Up, body: unknown): Promise<void> {
  // The write token when the federation's admin API asks for one (the harness names it `auth`).
  const auth = (up as { auth?: Readonly<Record<string, string>> }).auth ?? {};
  const res = await request(`${up.state.adminUrl}/v1/policies/shop/catalog`, { method: 'PUT', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...auth }, dispatcher: up.agent });
  const text = await res.body.text();
  assert.ok(res.statusCode < 300, `PUT policy: ${res.statusCode} ${text}`);
}

test('meshfed up --proxy haproxy: shares, 100 weight changes without a reload, tier failover, certificate rotation and drain, all under load', { timeout: 240_000 }, async (t) => {
  const up = await startUp(['--proxy', 'haproxy']);
  t.after(() => up.stop());
  assert.match(up.output(), /data plane HAProxy/);
  const all = haproxies(up);
  const front = all.find((h) => h.zone === 'us-east-1a' && h.instance.startsWith('frontend'))!;
  const eastFront = up.frontend('us-east-1a');

  // 1. Over 1000 requests, each hop's shares match `meshfed weights` within ±5%; the tables must stand still meanwhile.
  await until('a 1000-request sample taken while the weight tables stood still', 60_000, async () => {
    const [c0, p0] = [await tableOf(up, 'catalog'), await tableOf(up, 'pricing')];
    const hits = await burst(up.agent, eastFront, 1000);
    const [c1, p1] = [await tableOf(up, 'catalog'), await tableOf(up, 'pricing')];
    if (!c0 || !c1 || !p0 || !p1 || c0.version !== c1.version || p0.version !== p1.version) return undefined;
    assert.deepEqual(failed(hits).map((h) => h.body.slice(0, 200)), [], 'every request succeeds');
    const catalog = observed(hits, 1);
    assertShares('catalog from us-east-1a', sharesOf(c1, 'us-east-1a'), catalog);
    assert.ok((catalog.share.get('europe-west1-b') ?? 0) > 0.2, 'the 30% cross-network share goes through europe-west1-b\'s gateway');
    for (const zone of catalog.share.keys()) {
      const pricing = observed(hits, 2, zone);
      if (pricing.n >= 200) assertShares(`pricing from ${zone}`, sharesOf(p1, zone), pricing);
    }
    return true;
  });

  // 2. 100 weight changes under load (the catalog policy alternates 70/30 and 50/50): none fails, no HAProxy reloads.
  const before = new Map(await Promise.all(all.map(async (h) => [h.instance + h.zone, await processOf(h)] as const)));
  const base = defaultPolicies().find((p) => p.name === 'catalog')!.body;
  const split = (east: number) => ({ ...base, distribute: [{ from: 'us-east-1a', to: { 'us-east-1a': east, 'europe-west1-b': 100 - east } }] });
  const churnLoad = steady(up.agent, eastFront, 20, 4);
  let changes = 0;
  let last = await weightsIn(front, 'shop.catalog');
  let flip = false;
  let lastPut = 0;
  await until('100 weight changes in HAProxy', 120_000, async () => {
    if (Date.now() - lastPut > 400) {
      flip = !flip;
      lastPut = Date.now();
      await putPolicy(up, split(flip ? 50 : 70));
    }
    const now = await weightsIn(front, 'shop.catalog');
    if (now !== last) {
      changes++;
      last = now;
    }
    return changes >= 100 ? true : undefined;
  }, 50);
  // Telemetry: us-east-1a has no pricing; its demand for pricing is known only from what its catalogs' HAProxy
  // served and asked (show stat, relayed as the sidecar's stats): the balancer's reason must say it measured it.
  await until('the balancer to measure us-east-1a\'s demand for pricing from HAProxy stats', 15_000, async () => {
    const reason = (await tableOf(up, 'pricing'))?.rows.find((r) => r.sourceZone === 'us-east-1a')?.targets.find((x) => x.zone === 'us-east-1b')?.reason ?? '';
    return /utilised/.test(reason) && !/no demand measured/.test(reason) ? reason : undefined;
  });
  const churnHits = await churnLoad.stop();
  assert.ok(churnHits.length > 200, `load ran (${churnHits.length} requests)`);
  assert.deepEqual(failed(churnHits).map((h) => `${h.status} ${h.body.slice(0, 120)}`), [], `no failed request of ${churnHits.length} during ${changes} weight changes`);
  for (const h of all) assert.deepEqual(await processOf(h), before.get(h.instance + h.zone), `${h.zone}/${h.instance}: same worker pid and reload count (no reload)`);
  await putPolicy(up, split(70));

  // 3. Tier failover: us-east-1b's catalog calls go 100% to us-east-1a (tier 1), with europe-west1-b (tier 3) at 0 bp.
  //    Kill every catalog of us-east-1a: HAProxy moves them to the next tier on its own.
  const table = (await tableOf(up, 'catalog'))!;
  const row = table.rows.find((r) => r.sourceZone === 'us-east-1b')!;
  const tierOf = (z: string) => row.targets.find((x) => x.zone === z)!;
  assert.ok(tierOf('us-east-1a').tier < tierOf('europe-west1-b').tier && tierOf('europe-west1-b').basisPoints === 0, JSON.stringify(row));
  const westFront = up.frontend('us-east-1b');
  const failLoad = steady(up.agent, westFront, 20, 4);
  await new Promise((r) => setTimeout(r, 1000));
  const hold = await cli(up.env, 'hold', 'app-us-east-1a-catalog-*', '--for', '12s', '--kill');
  const killedAt = Date.now();
  assert.equal(hold.code, 0, hold.stderr);
  const firstEurope = await until('a catalog call from us-east-1b served by the next tier', 10_000, () => failLoad.hits.find((h) => h.start >= killedAt && h.hops[1]?.zone === 'europe-west1-b'));
  await new Promise((r) => setTimeout(r, 3000));
  const failHits = await failLoad.stop();
  const after = failHits.filter((h) => h.start >= firstEurope.start + 1000);
  assert.ok(after.length > 20 && after.every((h) => h.status === 200 && h.hops[1]?.zone === 'europe-west1-b'), `after failover every call goes to europe-west1-b: ${JSON.stringify(after.filter((h) => h.hops[1]?.zone !== 'europe-west1-b').slice(0, 3))}`);
  const lost = failed(failHits.filter((h) => h.start >= killedAt));
  t.diagnostic(`tier failover: first next-tier answer ${firstEurope.start - killedAt} ms after the kill; ${lost.length} of ${failHits.length} requests failed around the kill`);
  assert.ok(lost.length <= 2, `at most a request or two in flight on the killed processes fail (${lost.length}: ${lost.map((h) => h.body.slice(0, 80)).join(' | ')})`);
  const release = await cli(up.env, 'release', 'app-us-east-1a-catalog-*');
  assert.equal(release.code, 0, release.stderr);
  await until('us-east-1a catalog back in service', 60_000, async () => {
    const hits = await burst(up.agent, westFront, 40, 4);
    return hits.some((h) => h.hops[1]?.zone === 'us-east-1a') ? true : undefined;
  });

  // 4. Certificate rotation under load: a restarted agent asks every workload to re-key; HAProxy swaps the pair with
  //    set/commit ssl cert, so no request fails and no worker is replaced.
  const east = all.filter((h) => h.zone === 'us-east-1a' && !h.instance.startsWith('catalog'));
  const eastCatalogs = all.filter((h) => h.zone === 'us-east-1a' && h.instance.startsWith('catalog'));
  const rotated = [...east, ...eastCatalogs];
  const serials = new Map(await Promise.all(rotated.map(async (h) => [h.instance, await serialOf(h)] as const)));
  const pidsBefore = new Map(await Promise.all(rotated.map(async (h) => [h.instance, (await processOf(h)).pid] as const)));
  const rotateLoad = steady(up.agent, eastFront, 20, 4);
  const agentPid = current(up).components.find((c) => c.name === 'agent-us-east-1a')!.pid;
  process.kill(agentPid, 'SIGKILL');
  await until('every us-east-1a HAProxy to serve a new certificate', 45_000, async () => {
    for (const h of rotated) if ((await serialOf(h)) === serials.get(h.instance)) return undefined;
    return true;
  }, 250);
  await new Promise((r) => setTimeout(r, 1000));
  const rotateHits = await rotateLoad.stop();
  assert.deepEqual(failed(rotateHits).map((h) => `${h.status} ${h.body.slice(0, 120)}`), [], `no failed request of ${rotateHits.length} across the rotation`);
  for (const h of rotated) assert.equal((await processOf(h)).pid, pidsBefore.get(h.instance), `${h.instance}: the rotation did not replace the worker`);

  // 5. Drain europe-west1-b under load: no hop lands there 3 s after the drain, and no request fails.
  const drainLoad = steady(up.agent, eastFront, 20, 4);
  await new Promise((r) => setTimeout(r, 1000));
  const drain = await cli(up.env, 'drain', 'europe-west1-b');
  const drainedAt = Date.now();
  assert.equal(drain.code, 0, drain.stderr);
  await new Promise((r) => setTimeout(r, 5000));
  const drainHits = await drainLoad.stop();
  assert.deepEqual(failed(drainHits).map((h) => h.status), [], 'no failed request while draining');
  const late = drainHits.filter((h) => h.start >= drainedAt + 3000);
  assert.ok(late.length >= 20, `enough requests after the 3 s bound (${late.length})`);
  assert.equal(late.filter((h) => h.hops.some((x) => x.zone === 'europe-west1-b')).length, 0, 'no hop served by the drained zone after 3 s');
  const lastEurope = drainHits.filter((h) => h.hops.some((x) => x.zone === 'europe-west1-b')).at(-1);
  t.diagnostic(`drain: last hop in europe-west1-b started ${lastEurope ? lastEurope.start - drainedAt : 'n/a'} ms after the drain`);
});
