// Free loopback ports for test servers that cannot bind port 0 (such as etcd); one implementation, in local/ports.ts.
export { freePort, freePorts } from '../../local/ports.ts';
