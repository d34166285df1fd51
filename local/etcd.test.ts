// Unit tests for the flags of an etcd member: names, ports, the --initial-cluster string, timing, and the one set of flags startEtcd shares.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etcdHealthUrl, etcdInitialCluster, etcdMemberArgs, etcdTiming, type EtcdMemberAddress } from './etcd.ts';

const cluster: EtcdMemberAddress[] = [
  { name: 'etcd-1', clientPort: 41001, peerPort: 41002 },
  { name: 'etcd-2', clientPort: 41003, peerPort: 41004 },
  { name: 'etcd-3', clientPort: 41005, peerPort: 41006 },
];

/** The value following `flag` (etcd takes the last one when a flag repeats). */
function flag(args: readonly string[], name: string): string | undefined {
  const i = args.lastIndexOf(name);
  return i < 0 ? undefined : args[i + 1];
}

test('--initial-cluster names every member by its peer URL, in order', () => {
  assert.equal(etcdInitialCluster(cluster), 'etcd-1=http://127.0.0.1:41002,etcd-2=http://127.0.0.1:41004,etcd-3=http://127.0.0.1:41006');
  assert.equal(etcdInitialCluster([cluster[0]!]), 'etcd-1=http://127.0.0.1:41002');
});

test('each member listens and advertises on its own loopback ports and names the whole cluster', () => {
  const args = etcdMemberArgs(cluster[1]!, cluster, { dataDir: '/run/etcd/etcd-2', clusterToken: 'meshfed-123' });
  assert.equal(flag(args, '--name'), 'etcd-2');
  assert.equal(flag(args, '--data-dir'), '/run/etcd/etcd-2');
  assert.equal(flag(args, '--listen-client-urls'), 'http://127.0.0.1:41003');
  assert.equal(flag(args, '--advertise-client-urls'), 'http://127.0.0.1:41003');
  assert.equal(flag(args, '--listen-peer-urls'), 'http://127.0.0.1:41004');
  assert.equal(flag(args, '--initial-advertise-peer-urls'), 'http://127.0.0.1:41004');
  assert.equal(flag(args, '--initial-cluster'), etcdInitialCluster(cluster));
  assert.equal(flag(args, '--initial-cluster-token'), 'meshfed-123');
  assert.equal(flag(args, '--initial-cluster-state'), 'new');
  assert.equal(args.length % 2, 0, 'every flag has its value');
});

test('one member keeps 50/250 ms; a cluster gets 100/1000 ms unless told otherwise', () => {
  assert.deepEqual(etcdTiming(1), { heartbeatMs: 50, electionMs: 250 });
  assert.deepEqual(etcdTiming(3), { heartbeatMs: 100, electionMs: 1000 });
  const single = etcdMemberArgs(cluster[0]!, [cluster[0]!], { dataDir: '/d', clusterToken: 't' });
  assert.deepEqual([flag(single, '--heartbeat-interval'), flag(single, '--election-timeout')], ['50', '250']);
  const three = etcdMemberArgs(cluster[0]!, cluster, { dataDir: '/d', clusterToken: 't' });
  assert.deepEqual([flag(three, '--heartbeat-interval'), flag(three, '--election-timeout')], ['100', '1000']);
  const told = etcdMemberArgs(cluster[0]!, cluster, { dataDir: '/d', clusterToken: 't', timing: { heartbeatMs: 20, electionMs: 200 } });
  assert.deepEqual([flag(told, '--heartbeat-interval'), flag(told, '--election-timeout')], ['20', '200']);
});

test('extra flags come last, so they win over the defaults', () => {
  const args = etcdMemberArgs(cluster[0]!, [cluster[0]!], { dataDir: '/d', clusterToken: 't', extraArgs: ['--log-level', 'debug'] });
  assert.deepEqual(args.slice(-2), ['--log-level', 'debug']);
  assert.equal(flag(args, '--log-level'), 'debug');
});

test('a member outside its cluster, or repeated names, are programming errors', () => {
  assert.throws(() => etcdMemberArgs({ name: 'etcd-9', clientPort: 1, peerPort: 2 }, cluster, { dataDir: '/d', clusterToken: 't' }), /etcd-9 is not in its cluster/);
  assert.throws(() => etcdMemberArgs(cluster[0]!, [cluster[0]!, cluster[0]!], { dataDir: '/d', clusterToken: 't' }), /names repeat/);
});

test('a TLS member serves https to clients and peers, requires certificates under its CA on both, and keeps /health on a plain metrics port', () => {
  const tlsCluster = cluster.map((m, i) => ({ ...m, tls: true, metricsPort: 42001 + i }));
  const files = { ca: '/pki/ca.pem', cert: '/pki/member.pem', key: '/pki/member-key.pem' };
  const args = etcdMemberArgs(tlsCluster[1]!, tlsCluster, { dataDir: '/d', clusterToken: 't', tls: files });
  assert.equal(flag(args, '--listen-client-urls'), 'https://127.0.0.1:41003');
  assert.equal(flag(args, '--listen-peer-urls'), 'https://127.0.0.1:41004');
  assert.equal(flag(args, '--initial-cluster'), 'etcd-1=https://127.0.0.1:41002,etcd-2=https://127.0.0.1:41004,etcd-3=https://127.0.0.1:41006');
  assert.equal(flag(args, '--listen-metrics-urls'), 'http://127.0.0.1:42002');
  assert.equal(etcdHealthUrl(tlsCluster[1]!), 'http://127.0.0.1:42002');
  assert.equal(etcdHealthUrl(cluster[1]!), 'http://127.0.0.1:41003', 'without a metrics port /health is on the client URL');
  for (const f of ['--client-cert-auth', '--peer-client-cert-auth']) assert.ok(args.includes(f), f);
  assert.deepEqual([flag(args, '--trusted-ca-file'), flag(args, '--cert-file'), flag(args, '--key-file')], [files.ca, files.cert, files.key]);
  assert.deepEqual([flag(args, '--peer-trusted-ca-file'), flag(args, '--peer-cert-file'), flag(args, '--peer-key-file')], [files.ca, files.cert, files.key]);
  assert.throws(() => etcdMemberArgs(tlsCluster[0]!, tlsCluster, { dataDir: '/d', clusterToken: 't' }), /uses TLS: give its certificate files/);
  assert.throws(() => etcdMemberArgs(tlsCluster[0]!, [tlsCluster[0]!, cluster[1]!], { dataDir: '/d', clusterToken: 't', tls: files }), /all use TLS or none/);
});
