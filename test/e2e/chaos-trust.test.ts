// E2E of the trust faults on a real `meshfed up` under steady load: a root rotated by overlap fails no request, and a revoked cluster's zone is failed over and serves again after revert.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hit, startUp, steady, tableOf, until, type Hit, type Up } from '../support/up-harness.ts';
import { DEFAULT_TOPOLOGY } from '../../api/topology.ts';
import { readUpState, type UpState } from '../../local/state.ts';
import type { FaultContext } from '../../scenarios/faults/fault.ts';
import { injectTrustFault, type TrustActiveFault } from '../../scenarios/faults/trust.ts';

function faultContext(up: Up, log: (line: string) => void): FaultContext {
  const t0 = Date.now();
  return {
    stateDir: up.stateDir,
    state: () => readUpState(up.stateDir) as UpState,
    topology: DEFAULT_TOPOLOGY,
    log: (line) => log(`+${((Date.now() - t0) / 1000).toFixed(1)}s ${line}`),
  };
}

function failures(hits: readonly Hit[]): Hit[] {
  return hits.filter((h) => h.status !== 200);
}

function describeFailures(hits: readonly Hit[], t0: number): string {
  return failures(hits).slice(0, 8).map((h) => `+${((h.start - t0) / 1000).toFixed(1)}s ${h.status} ${h.body.slice(0, 160)}`).join('\n');
}

test('trust faults on meshfed up under load: rotate-root fails no request; revoke-intermediate fails gcp over and reverts', { timeout: 900_000 }, async (t) => {
  const up = await startUp(['--store', 'etcd']);
  t.after(() => up.stop());
  const ctx = faultContext(up, (l) => t.diagnostic(l));
  const frontends = up.state.zones.filter((z) => z.frontendUrl).map((z) => ({ zone: z.name, url: z.frontendUrl! }));
  for (const f of frontends) await until(`${f.zone} frontend to serve`, 60_000, async () => ((await hit(up.agent, f.url)).status === 200 ? true : undefined));

  await t.test('rotate-root by overlap under 20 rps: every sidecar ends on the new root, zero failed requests', async () => {
    // ~20 rps across the three frontends (one request every 150 ms at each).
    const loads = frontends.map((f) => steady(up.agent, f.url, 150));
    const t0 = Date.now();
    const fault = (await injectTrustFault(ctx, { kind: 'trust', id: 'rotate', at: 0, duration: 0, action: 'rotate-root' })) as TrustActiveFault;
    const applied = await fault.applied();
    const effect = await fault.effect();
    await fault.revert();
    const cleared = await fault.cleared();
    // A few more seconds of load on the rotated federation: connections opened after the old root was retired.
    const settleUntil = Date.now() + 5000;
    await until('5 s of load after the rotation', 10_000, () => (Date.now() >= settleUntil ? true : undefined));
    const hits = (await Promise.all(loads.map((l) => l.stop()))).flat();
    const failed = failures(hits);
    t.diagnostic(`rotation: ${Date.now() - t0} ms in all; ${hits.length} requests, ${failed.length} failed`);
    for (const s of fault.steps) t.diagnostic(`  step "${s.name}": ${s.ms} ms ${s.ok ? 'ok' : 'FAILED'} — ${s.detail}`);
    t.diagnostic(`applied: ${applied.detail}\neffect: ${effect.detail}\ncleared: ${cleared.detail}`);
    assert.ok(fault.steps.length === 6 && fault.steps.every((s) => s.ok), `every step completed: ${JSON.stringify(fault.steps, null, 1)}`);
    assert.ok(applied.ok, applied.detail);
    assert.ok(effect.ok, effect.detail);
    assert.ok(cleared.ok, cleared.detail);
    assert.ok(hits.length > 100, `the load ran (${hits.length} requests)`);
    assert.equal(failed.length, 0, `failed requests during the rotation:\n${describeFailures(hits, t0)}`);
    // The agents and balancers were restarted under holds: none of it was charged to their restart budget.
    const charged = ctx.state().components.filter((c) => /^(agent|global-lb)-/.test(c.name) && (c.restarts ?? 0) > 0);
    assert.deepEqual(charged.map((c) => `${c.name}: ${c.restarts}`), [], 'no restart counted against a budget');
  });

  await t.test('revoke-intermediate gcp-euw1: the other zones keep serving (failover), the effect shows, and after revert europe-west1-b serves again', async () => {
    const gcpZone = 'europe-west1-b';
    const others = frontends.filter((f) => f.zone !== gcpZone);
    const gcp = frontends.find((f) => f.zone === gcpZone)!;
    const loads = others.map((f) => steady(up.agent, f.url, 100));
    const t0 = Date.now();
    const fault = await injectTrustFault(ctx, { kind: 'trust', id: 'revoke', at: 0, duration: 15_000, action: 'revoke-intermediate', cluster: 'gcp-euw1' });
    const applied = await fault.applied();
    const appliedAt = Date.now();
    t.diagnostic(`applied after ${appliedAt - t0} ms: ${applied.detail}`);
    assert.ok(applied.ok, applied.detail);
    const effect = await fault.effect();
    assert.ok(effect.ok, effect.detail);
    t.diagnostic(`effect after ${Date.now() - t0} ms: ${effect.detail}`);
    const row = (await tableOf(up, 'catalog'))?.rows.find((r) => r.sourceZone === 'us-east-1a');
    t.diagnostic(`global weights of catalog from us-east-1a under the revocation: ${row?.targets.map((x) => `${x.zone} ${x.basisPoints}bp (${x.reason})`).join('; ') ?? 'none'}`);
    const gcpDuring = await hit(up.agent, gcp.url);
    t.diagnostic(`europe-west1-b frontend while revoked: ${gcpDuring.status} ${gcpDuring.body.slice(0, 160)}`);
    // Hold the revocation for a while under load: the other zones must keep answering.
    const holdUntil = Date.now() + 10_000;
    await until('10 s of load under the revocation', 15_000, () => (Date.now() >= holdUntil ? true : undefined));
    const revertAt = Date.now();
    await fault.revert();
    const cleared = await fault.cleared();
    t.diagnostic(`cleared after ${Date.now() - revertAt} ms: ${cleared.detail}`);
    assert.ok(cleared.ok, cleared.detail);
    const servedAgain = await until('europe-west1-b frontend to serve again', 60_000, async () => {
      const h = await hit(up.agent, gcp.url);
      return h.status === 200 && h.hops.every((x) => x.zone === gcpZone) ? Date.now() - revertAt : undefined;
    });
    t.diagnostic(`europe-west1-b served again ${servedAgain} ms after revert`);
    const hits = (await Promise.all(loads.map((l) => l.stop()))).flat();
    const during = hits.filter((h) => h.start >= t0 && h.start < revertAt);
    const failed = failures(during);
    const viaGcp = during.filter((h) => h.hops.some((x) => x.zone === gcpZone));
    const lastViaGcp = viaGcp.length > 0 ? Math.max(...viaGcp.map((h) => h.start)) - t0 : undefined;
    t.diagnostic(`during the revocation: ${during.length} requests from ${others.map((f) => f.zone).join(', ')}, ${failed.length} failed, ${viaGcp.length} served with a hop in ${gcpZone}`
      + ` (${viaGcp.filter((h) => h.start >= appliedAt).length} after applied(); the last one started ${lastViaGcp ?? '-'} ms after inject)`);
    assert.ok(during.length > 100, `the load ran (${during.length} requests)`);
    assert.ok(failed.length <= Math.ceil(during.length * 0.01), `at most 1% failed from the other zones (failover):\n${describeFailures(during, t0)}`);
  });
});
