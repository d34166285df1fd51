// Test access to a real single-member etcd: the one implementation lives in local/etcd.ts (also used by `meshfed up`).
export { startEtcd, etcdAvailable, type EtcdServer, type StartEtcdOptions } from '../../local/etcd.ts';
