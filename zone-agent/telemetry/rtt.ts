// Round-trip time to peer zones' east-west gateways, measured as the time to complete a TLS handshake.
import { connect } from 'node:tls';
import { parseHostPortText } from '../../api/fields.ts';

/**
 * Measures one TLS handshake (TCP connect included) in ms. The certificate is not verified: only the time
 * matters here, and the gateway's identity is checked by the data plane on real connections.
 */
export function measureHandshake(address: string, timeoutMs: number): Promise<number | undefined> {
  const hp = parseHostPortText(address);
  if (!hp) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const socket = connect({ host: hp.host, port: hp.port, rejectUnauthorized: false, servername: 'rtt.meshfed.internal', ALPNProtocols: ['h2', 'http/1.1'] });
    const done = (v: number | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.once('secureConnect', () => done(Number(process.hrtime.bigint() - start) / 1e6));
    socket.once('error', () => done(undefined));
  });
}

/** Probes every target zone's gateway on an interval and keeps the latest RTT per zone (unreachable zones are left out). */
export class RttProber {
  private targets: Record<string, string> = {};
  private rtts: Record<string, number> = {};
  private timer: NodeJS.Timeout | undefined;
  private timeoutMs = 2000;

  start(intervalMs: number): void {
    this.timeoutMs = Math.min(2000, intervalMs);
    this.timer = setInterval(() => void this.probeAll(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Zone -> gateway host:port. */
  setTargets(targets: Readonly<Record<string, string>>): void {
    this.targets = { ...targets };
    for (const zone of Object.keys(this.rtts)) if (!(zone in this.targets)) delete this.rtts[zone];
  }

  async probeAll(): Promise<void> {
    await Promise.all(Object.entries(this.targets).map(async ([zone, address]) => {
      const ms = await measureHandshake(address, this.timeoutMs);
      if (ms === undefined) delete this.rtts[zone];
      else if (this.targets[zone] === address) this.rtts[zone] = ms;
    }));
  }

  current(): Readonly<Record<string, number>> {
    return { ...this.rtts };
  }
}
