// Two zone agents on different networks through the real global-lb: each sidecar gets the other zone's endpoints
// with that zone's east-west gateway, and sidecar stats reach the zone's report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../common/logger.ts';
import { openStore } from '../../global-lb/store/index.ts';
import { startGlobalLb } from '../../global-lb/index.ts';
import { startZoneAgent, type ZoneAgent } from '../../zone-agent/agent.ts';
import { TestSidecar, until } from './agent-support.ts';

const quiet = (component: string) => createLogger({ component, level: process.env['MESHFED_TEST_LOG'] ?? 'silent' });

test('every zone\'s endpoints reach the sidecars, with the gateway for zones on another network', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-agent-dir-'));
  const store = await openStore({ kind: 'memory' });
  const lb = await startGlobalLb({
    store, replicaId: 'r1', insecure: true, grpcListen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 },
    heartbeatMs: 300, leaseTtlSeconds: 3, processMetrics: false, debounceMinMs: 20, debounceMaxMs: 200, logger: quiet('global-lb'),
  });
  t.after(async () => {
    await lb.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const start = async (zone: string, region: string, network: string, gateway: string, ip: string): Promise<ZoneAgent> => {
    const file = join(dir, `${zone}.yaml`);
    writeFileSync(file, `services:\n  - namespace: shop\n    name: cart\n    capacityRps: 100\n    endpoints: ["${ip}:8080"]\n`);
    const a = await startZoneAgent({
      locality: { cloud: 'sim', region, zone }, cluster: zone, network, trustDomain: 'meshfed.local', gatewayAddress: gateway,
      globalLb: [lb.grpcAddress], insecure: true, discovery: { kind: 'static', file }, stateDir: join(dir, `state-${zone}`),
      relayListen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 }, reportIntervalMs: 200, heartbeatMs: 200,
      rttIntervalMs: 0, logger: quiet('zone-agent'), processMetrics: false,
    });
    t.after(() => a.stop());
    return a;
  };
  const a1 = await start('a1', 'r1', 'net-a', 'gw-a1.example:15443', '10.1.0.1');
  await start('a2', 'r1', 'net-a', 'gw-a2.example:15443', '10.1.0.2');
  await start('b1', 'r2', 'net-b', 'gw-b1.example:15443', '10.2.0.1');
  const sc = new TestSidecar(a1.relayPort, { zone: 'a1' });
  t.after(() => sc.close());
  const zones = await until('directory relayed', () => {
    const z = sc.latest()?.zones ?? [];
    return z.length === 3 && z.every((x) => x.services.length === 1) ? z : undefined;
  }, 20_000);
  const view = Object.fromEntries(zones.map((z) => [z.locality?.zone, { gw: z.gateway_address, eps: z.services[0]?.endpoints.map((e) => e.address) }]));
  assert.deepEqual(view, {
    a1: { gw: '', eps: ['10.1.0.1'] },
    a2: { gw: '', eps: ['10.1.0.2'] },
    b1: { gw: 'gw-b1.example:15443', eps: ['10.2.0.1'] },
  });

  // Stats from a sidecar show up in the zone's next report: what it served as the zone's own cart, what its
  // clients asked of cart in b1 under asked[], charged to b1.
  const served = { namespace: 'shop', name: 'cart', requests: '40', successes: '38', errors: { http_5xx: '2' }, in_flight: 3 };
  const asked = { namespace: 'shop', name: 'cart', requests: '10', successes: '4', errors: { http_5xx: '6' }, in_flight: 1, destination_zone: 'b1' };
  sc.call.write({ stats: { window_ms: 200, served: [served], services: [asked] } });
  const report = await until('stats in a report', () => {
    const s = a1.lastReport()?.services?.find((x) => x.name === 'cart');
    return s && Number(s.successes) === 38 ? s : undefined;
  });
  assert.equal(report.errors?.http_5xx, '2');
  assert.equal(report.in_flight, 3);
  assert.ok(Number(report.rps) > 0);
  const toB = a1.lastReport()?.asked?.find((x) => x.name === 'cart')?.destinations?.find((d) => d.zone === 'b1');
  assert.deepEqual([toB?.requests, toB?.errors?.http_5xx], ['10', '6'], 'the clients\' failures are charged to b1');
});
