// Test access to a real single-member etcd: the one implementation lives in local/etcd.ts (also used by `meshfed up`).
import { etcdAvailable } from '../../local/etcd.ts';

export { startEtcd, etcdAvailable, type EtcdServer, type StartEtcdOptions } from '../../local/etcd.ts';

/**
 * The `skip` option for a test that needs etcd: a reason when etcd is missing outside CI (scripts/setup-system.ts
 * says so too), and false otherwise. In CI a missing etcd is never skipped: the test runs and fails, loudly.
 */
export function skipWithoutEtcd(): string | false {
  const ci = process.env['CI'] === 'true' || process.env['CI'] === '1';
  return !ci && !etcdAvailable() ? 'etcd is not installed (apt-get install -y etcd-server; npm test installs it when run as root)' : false;
}
