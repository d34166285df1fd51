// Signed trust bundles through a real global-lb, zone agent and relayed sidecar: each receiver gates on its own trust.
// An agent that pins an operator key relays a bundle that key signed, and the sidecar, which does not pin it,
// refuses it; a root-signed bundle (an alias-only change) takes effect at both; an unsigned one at neither; a
// restarted agent keeps the signed bundle it saved.
import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { openStore } from '../../global-lb/store/index.ts';
import { KEYS } from '../../global-lb/store/store.ts';
import { startGlobalLb } from '../../global-lb/index.ts';
import type { ZoneAgent } from '../../zone-agent/agent.ts';
import { addAlias, bundleToJson, makeBundle, signBundle } from '../../trust/index.ts';
import { freePorts } from '../../local/ports.ts';
import { until } from './agent-support.ts';
import { agent, agentWorld, quiet, relayedSidecar, TD, writeStatic } from './relay-support.ts';
import { sumSamples } from '../../scenarios/faults/trust.ts';

test('trust bundles through global-lb, agent and sidecar: each refuses what it does not trust; a signed alias change reaches both; a restarted agent keeps its bundle', { timeout: 120_000 }, async (t) => {
  const { dir, pki, caDir } = await agentWorld(t, 'meshfed-bundle-relay-');
  const store = await openStore({ kind: 'memory' });
  const lb = await startGlobalLb({
    store, replicaId: 'r1', insecure: true, grpcListen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 },
    heartbeatMs: 300, leaseTtlSeconds: 3, processMetrics: false, logger: quiet('global-lb'),
  });
  const op = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const opKey = op.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const opPub = op.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const [cartPort] = await freePorts(1);
  writeStatic(join(dir, 'a', 'static.json'), [cartPort!]);
  const start = () => agent({ zone: 'a', grpcPort: lb.grpcPort, staticFile: join(dir, 'a', 'static.json'), stateDir: join(dir, 'a', 'state'), caDir, bundleSigners: [opPub] });
  let a: ZoneAgent = await start();
  t.after(async () => {
    await a.stop();
    await lb.close();
    await store.close();
  });
  const web = await relayedSidecar(t, { service: 'shop/web', zone: 'a', relayPort: a.relayPort });
  const sidecarRefusals = async (code: string) => sumSamples(await (await fetch(`http://127.0.0.1:${web.sidecar.adminPort}/metrics`)).text(), 'meshfed_trust_bundles_refused_total', (l) => l['code'] === code);
  const base = makeBundle({ trustDomain: TD, roots: [pki.root.certPem] });
  const t0 = Date.now();
  const at = (s: number) => new Date(t0 + s * 1000);

  // 1. Signed by the operator key the agent pins and the sidecar does not.
  const byOperator = signBundle(base, { keyPem: opKey }, at(1));
  await store.put(KEYS.trustBundle, bundleToJson(byOperator));
  await until('the agent to take the operator-signed bundle', () => a.status().trustBundle.version === byOperator.version, 15_000);
  await until('the sidecar to refuse it', () => web.intake().trustBundle.lastRefusal?.code === 'MESHFED_E_TRUST_BUNDLE_SIGNER_UNKNOWN', 15_000);
  assert.equal(web.intake().trustBundle.version, null, 'nothing in force at the sidecar');
  assert.equal(await sidecarRefusals('MESHFED_E_TRUST_BUNDLE_SIGNER_UNKNOWN'), 1, 'counted on the sidecar\'s /metrics');

  // 2. Signed by the root both trust, differing from what the sidecar trusts now only by an alias.
  const aliased = signBundle(addAlias(base, 'legacy.test'), pki.root, at(2));
  await store.put(KEYS.trustBundle, bundleToJson(aliased));
  await until('agent and sidecar to hold the root-signed bundle', () => a.status().trustBundle.version === aliased.version && web.intake().trustBundle.version === aliased.version, 15_000);

  // 3. Unsigned: the agent refuses it, keeps the one in force, and relays nothing new.
  await store.put(KEYS.trustBundle, bundleToJson(makeBundle({ trustDomain: TD, roots: [pki.root.certPem] })));
  await until('the agent to refuse the unsigned bundle', () => a.status().trustBundle.lastRefusal?.code === 'MESHFED_E_TRUST_BUNDLE_UNSIGNED', 15_000);
  assert.equal(a.status().trustBundle.version, aliased.version);
  assert.equal(web.intake().trustBundle.version, aliased.version);
  const agentMetrics = await (await fetch(`http://127.0.0.1:${a.adminPort}/metrics`)).text();
  assert.equal(sumSamples(agentMetrics, 'meshfed_agent_trust_bundles_refused_total', (l) => l['code'] === 'MESHFED_E_TRUST_BUNDLE_UNSIGNED'), 1);

  // 4. A restart restores the signed bundle it saved, before global-lb says anything.
  await a.stop();
  a = await start();
  assert.equal(a.status().trustBundle.version, aliased.version, 'the saved signed bundle is in force at once');
});
