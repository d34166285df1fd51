// Finds free TCP ports on loopback for servers that cannot be told to bind port 0 (etcd) or whose ports must be known in advance.
import { createServer, type Server } from 'node:net';

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

/** Ports held open by this process until the component that binds them is about to start. */
export interface PortPool {
  readonly ports: readonly number[];
  /** Closes the holders of these ports (resolves once they are closed); ports not held are ignored. */
  release(ports: readonly number[]): Promise<void>;
  /** Closes every holder still open. */
  releaseAll(): Promise<void>;
}

/**
 * Picks n distinct loopback ports and keeps each one bound (listening, never accepting) until release().
 *
 * Why hold rather than probe: `meshfed up` must name every port in files before the components start (the agent
 * advertises its gateway's port, discovery lists each sidecar's inbound port, sidecars dial the agent's relay), so
 * a component cannot simply be moved to fresh ports when its bind fails: the others already point at the old ones.
 * Probing and letting go (freePorts) left the ports open to any other process for the whole start (tens of seconds);
 * holding them shrinks that window to the moment between release() and the child's own bind. Connections that reach
 * a holder are reset (RST, so no TIME_WAIT is left on the port), and the child can bind at once.
 */
export async function holdPorts(n: number, host = '127.0.0.1'): Promise<PortPool> {
  const held = new Map<number, Server>();
  try {
    while (held.size < n) {
      // A client may dial a held port before its component runs (a poller of the port's last owner, a component
      // probing a peer that is not up yet): reset it at once. An accepted socket left open would also keep close() in
      // release() waiting for it forever, and the component would never start.
      const server = createServer((socket) => socket.resetAndDestroy());
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, host, () => resolve());
      });
      server.unref();
      const address = server.address();
      held.set(typeof address === 'object' && address !== null ? address.port : 0, server);
    }
  } catch (e) {
    await Promise.all([...held.values()].map((s) => new Promise<void>((r) => s.close(() => r()))));
    throw e;
  }
  const release = async (ports: readonly number[]) => {
    await Promise.all(ports.map((p) => {
      const server = held.get(p);
      held.delete(p);
      return server ? new Promise<void>((r) => server.close(() => r())) : undefined;
    }));
  };
  return { ports: [...held.keys()], release, releaseAll: () => release([...held.keys()]) };
}

/** A pool over ports someone else chose (tests): nothing is held, release does nothing. */
export function unheldPorts(ports: readonly number[]): PortPool {
  return { ports, release: async () => {}, releaseAll: async () => {} };
}
