// Workload certificates through the relay: two sidecars get short-lived certificates from their zone agent and
// rotate them several times under real mTLS traffic between them, with zero failed requests.
import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { freePorts } from '../../local/ports.ts';
import type { ZoneAgent } from '../../zone-agent/agent.ts';
import { until } from './agent-support.ts';
import { agent, agentWorld, relayedSidecar, TD, Traffic, writeStatic } from './relay-support.ts';

test('certificates are issued and rotated through the relay with zero failed requests', { timeout: 120_000 }, async (t) => {
  const { dir, caDir } = await agentWorld(t, 'meshfed-relay-certs-');
  const [cartPort, deadBalancer] = await freePorts(2);
  writeStatic(join(dir, 'a', 'static.json'), [cartPort!]);
  // No balancer is needed for certificates: the agent signs with its cluster CA alone (equal shares, one zone).
  // A 3 s life rotates at half-life, every ~1.5 s.
  const a: ZoneAgent = await agent({ zone: 'a', grpcPort: deadBalancer!, staticFile: join(dir, 'a', 'static.json'), stateDir: join(dir, 'a', 'state'), caDir, certTtlMs: 3000 });
  t.after(async () => {
    await a.stop();
    // Again after the agent stopped: its last fail-static write may land after tempDir's own cleanup ran.
    rmSync(dir, { recursive: true, force: true });
  });

  const cart = await relayedSidecar(t, { service: 'shop/cart', zone: 'a', relayPort: a.relayPort, inboundPort: cartPort! });
  const web = await relayedSidecar(t, { service: 'shop/web', zone: 'a', relayPort: a.relayPort });
  const first = { web: web.intake().certificate!, cart: cart.intake().certificate! };
  assert.equal(new X509Certificate(first.web.certChainPem).subjectAltName, `URI:spiffe://${TD}/ns/shop/sa/web`);
  assert.equal(new X509Certificate(first.cart.certChainPem).subjectAltName, `URI:spiffe://${TD}/ns/shop/sa/cart`);

  const traffic = new Traffic(web.sidecar.outboundPort, 'cart.shop');
  t.after(() => traffic.stop());
  await until('three rotations on both sidecars', () => web.intake().certificatesInstalled >= 4 && cart.intake().certificatesInstalled >= 4, 60_000);
  // Run on past the last rotation so connections made with every generation are exercised.
  const at = traffic.total;
  await until('200 more requests', () => traffic.total >= at + 200, 30_000);
  await traffic.stop();

  assert.deepEqual(traffic.failures, [], 'no request failed across the rotations');
  assert.ok(traffic.total > 300, `${traffic.total} requests`);
  const now = { web: web.intake().certificate!, cart: cart.intake().certificate! };
  assert.notEqual(now.web.keyPem, first.web.keyPem, 'a rotation makes a new key, not just a new certificate');
  assert.notEqual(now.cart.certChainPem, first.cart.certChainPem);
  assert.ok(new X509Certificate(now.web.certChainPem).validToDate.getTime() > new X509Certificate(first.web.certChainPem).validToDate.getTime());
  // The first certificate has expired by now: the traffic after it was served on rotated credentials only.
  assert.ok(first.web.notAfterMs < Date.now(), 'the first certificate expired during the test');
});
