// Finds free TCP ports on loopback for servers that cannot be told to bind port 0 (etcd) or whose ports must be known in advance.
import { createServer } from 'node:net';

/**
 * Returns a port that was free on 127.0.0.1 a moment ago. Another process may take it before the caller binds,
 * so callers that spawn servers retry with fresh ports when the bind fails.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/** Returns n distinct free ports. */
export async function freePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort(host));
  return [...ports];
}
