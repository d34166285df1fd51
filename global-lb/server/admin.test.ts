// Unit tests of the zone list the admin API and metrics derive from the replica's mirror and the leader's verdicts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { zoneViews } from './admin.ts';
import type { ReplicaView } from './view.ts';
import type { StoredZoneReport } from './report.ts';

function stored(zone: string, receivedAt: number): StoredZoneReport {
  return {
    identity: { locality: { cloud: 'c', region: 'r', zone }, cluster: 'k', network: 'n', gatewayAddress: '', agentId: 'a', agentVersion: 'v' },
    report: { zone, sequence: '1', sent_at_unix_ms: '0', window_ms: 1000, services: [], rtts: [], asked: [] },
    receivedAt,
    replicaId: 'r1',
  };
}

function view(): ReplicaView {
  return {
    reports: new Map([['live', stored('live', 1000)], ['drained', stored('drained', 1000)], ['ejected', stored('ejected', 1000)]]),
    departed: new Map([['gone', { last: stored('gone', 500), departedAt: 900 }]]),
    drains: new Set(['drained', 'never-seen']),
  } as unknown as ReplicaView;
}

test('zones merge live reports, departed zones and drains, with liveness, drain and report age', () => {
  const zones = zoneViews(view(), [], false, 3000);
  assert.deepEqual(zones.map((z) => z.zone), ['drained', 'ejected', 'gone', 'live', 'never-seen']);
  const by = Object.fromEntries(zones.map((z) => [z.zone, z]));
  assert.equal(by['live']!.eligible, true);
  assert.equal(by['live']!.reportAgeSeconds, 2);
  assert.equal(by['drained']!.eligible, false);
  assert.equal(by['gone']!.alive, false);
  assert.equal(by['gone']!.eligible, false);
  assert.equal(by['never-seen']!.alive, false);
  assert.equal(by['never-seen']!.reportAgeSeconds, undefined);
});

test('on the leader, a zone out for every service is not eligible, and says why', () => {
  const verdicts = [
    { zone: 'ejected', service: 'shop/cart', eligible: false, reason: 'error rate 40% > 5%' },
    { zone: 'live', service: 'shop/cart', eligible: true, reason: 'ok' },
    { zone: 'live', service: 'shop/pay', eligible: false, reason: 'no healthy endpoint' },
  ];
  const by = Object.fromEntries(zoneViews(view(), verdicts, true, 3000).map((z) => [z.zone, z]));
  assert.equal(by['ejected']!.eligible, false);
  assert.deepEqual(by['ejected']!.outFor, [{ service: 'shop/cart', reason: 'error rate 40% > 5%' }]);
  assert.equal(by['live']!.eligible, true, 'eligible for at least one service');
  assert.equal(by['live']!.outFor.length, 1);
  // A follower has no verdicts and shows liveness and drain only.
  assert.equal(Object.fromEntries(zoneViews(view(), verdicts, false, 3000).map((z) => [z.zone, z]))['ejected']!.eligible, true);
});

test('a zone view sums the local failures its sidecars made, which count against nobody', async () => {
  const { localFailuresOf } = await import('./admin.ts');
  const { localFailures } = await import('../../cli/status.ts');
  const s = stored('a', 1000);
  const local = (fault: string, overflow: string) => ({ fault_injected: fault, overflow, denied: '0', no_endpoint: '0', timeout: '0' });
  const withLocal: StoredZoneReport = {
    ...s,
    report: {
      ...s.report,
      window_ms: 5000,
      asked: [
        { namespace: 'shop', name: 'cart', rps: 1, in_flight: 0, destinations: [], local: local('12', '1') },
        { namespace: 'shop', name: 'catalog', rps: 1, in_flight: 0, destinations: [], local: local('3', '0') },
      ],
    },
  };
  const counts = localFailuresOf(withLocal);
  assert.deepEqual(counts, { fault_injected: 15, overflow: 1, denied: 0, no_endpoint: 0, timeout: 0 });
  assert.equal(localFailures({ localFailures: { ...counts }, windowSeconds: 5 }), '16 in 5s: fault 15, overflow 1');
  assert.equal(localFailures({ localFailures: { ...localFailuresOf(undefined) }, windowSeconds: 0 }), '0');
});
