// node:tls helpers for SPIFFE mTLS: credential sources, server/client options that verify peers, hot reload.
//
// How to use (the sidecar, gateway, zone agent and global-lb all do it this way):
//
//   const source = new TlsCredentialSource({ certChainPem, keyPem, bundle });   // or watchCredentialFiles(...).source
//   const mtls = createMtlsServer(source, { spiffeId: allowedIds }, (socket, peer) => {
//     peer.spiffeId === peerIdentity(socket);                                    // 'spiffe://td/ns/x/sa/y', verified
//   });
//   await mtls.listen(0, '127.0.0.1');                                           // HTTP/1.1: serveHttp(mtls, http.createServer(h))
//
//   const sock = tls.connect({ host, port, ...mtlsClientOptions(source, { spiffeId: 'spiffe://td/ns/y/sa/z' }) });
//   sock.on('secureConnect', () => peerIdentity(sock));                           // the server's verified ID
//
// - createMtlsServer demands a client certificate and runs verifyPeer on it (chain to a bundle root, validity,
//   revocation, clientAuth EKU, SPIFFE ID, trust domain or alias, expectations) before any listener sees the socket;
//   refused sockets are destroyed and counted in mtls.stats (and on a prom-client registry if given).
// - Hot reload: every handshake uses the source's current credentials, so source.update(...) (or a file change seen
//   by watchCredentialFiles) applies to new connections at once and never touches open ones.
// - mtlsClientOptions reads the source's current credentials: call it for each new connection so rotations apply.
//   It verifies the server with verifyPeer inside checkServerIdentity (usage 'server'); a refusal fails the connect
//   with an Error whose `code` is the MESHFED_E_CERT_* code.
// - Expectations are verifyPeer's: an exact SPIFFE ID, a list of IDs, a trust domain, or a predicate.
import { createSecureContext, TLSSocket, type PeerCertificate, type SecureContext, type ConnectionOptions } from 'node:tls';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import type { Http2Server } from 'node:http2';
import type { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { X509Certificate, constants as cryptoConstants } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import type { Registry } from '../common/metrics.ts';
import { counter } from '../common/metrics.ts';
import { MeshfedError } from '../common/errors.ts';
import { parseSpiffeId, sanUris } from '../api/identity.ts';
import type { TrustBundle } from '../api/trust-bundle.ts';
import { makeBundle, bundleFromJson } from './bundle.ts';
import { verifyPeer, type PeerExpectations, type PeerRejection, type VerifiedPeer } from './verify.ts';
import { checkKeyMatches } from './files.ts';
import { splitPem } from './pem.ts';
import { trustError } from './errors.ts';

/** What a workload presents and trusts: its chain (leaf first), its key, and the bundle it verifies peers with. */
export interface TlsCredentials {
  readonly certChainPem: string;
  readonly keyPem: string;
  readonly bundle: TrustBundle;
}

/**
 * Options handed to createSecureContext for a set of credentials. Sessions are never resumed: a resumed handshake
 * carries no client chain, so verifyPeer could not re-check the intermediates (revocation) of a returning client;
 * and a server that asks for client certificates must have a session id context, or OpenSSL fails any handshake in
 * which the client offers a saved session (ERR_SSL_SESSION_ID_CONTEXT_UNINITIALIZED; undici offers one on reconnect).
 */
function contextOptions(c: TlsCredentials): { cert: string; key: string; ca: string[]; sessionIdContext: string; secureOptions: number } {
  return { cert: c.certChainPem, key: c.keyPem, ca: [...c.bundle.roots], sessionIdContext: 'meshfed-mtls', secureOptions: cryptoConstants.SSL_OP_NO_TICKET };
}

/**
 * Holds the current credentials and tells subscribers when they change.
 * Invariant: `current` always holds a key that matches the leaf of its chain (update() refuses anything else).
 */
export class TlsCredentialSource {
  #current: TlsCredentials;
  #context: SecureContext | undefined;
  #generation = 0;
  readonly #listeners = new Set<(c: TlsCredentials) => void>();

  constructor(initial: TlsCredentials) {
    TlsCredentialSource.check(initial);
    this.#current = initial;
  }

  /** Throws MESHFED_E_TRUST_CA_INVALID when the key is not the leaf's, or there is no leaf or no root. */
  static check(c: TlsCredentials): void {
    const leaf = splitPem(c.certChainPem)[0];
    if (!leaf) throw trustError('MESHFED_E_TRUST_CA_INVALID', 'the certificate chain holds no PEM certificate');
    if (c.bundle.roots.length === 0) throw trustError('MESHFED_E_TRUST_BUNDLE_INVALID', 'the trust bundle holds no root');
    checkKeyMatches(leaf, c.keyPem, 'credentials');
  }

  get current(): TlsCredentials {
    return this.#current;
  }

  /** Increments on every update; lets callers tell which credentials a connection was made with. */
  get generation(): number {
    return this.#generation;
  }

  /** A secure context for the current credentials, built once per update (clients reuse it per connection). */
  secureContext(): SecureContext {
    this.#context ??= createSecureContext(contextOptions(this.#current));
    return this.#context;
  }

  /** Swaps in new credentials (validated first; on error the old ones stay) and notifies subscribers. */
  update(next: TlsCredentials): void {
    TlsCredentialSource.check(next);
    this.#current = next;
    this.#context = undefined;
    this.#generation++;
    for (const l of this.#listeners) l(next);
  }

  /** Replaces only the bundle (a new root, alias or revocation arrived). */
  updateBundle(bundle: TrustBundle): void {
    this.update({ ...this.#current, bundle });
  }

  /** Subscribes to changes; returns the unsubscribe function. */
  onChange(cb: (c: TlsCredentials) => void): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }
}

/** Where watchCredentialFiles reads from. Give a bundle file, or a root PEM file (the bundle is then built from it). */
export interface CredentialFiles {
  /** The leaf certificate, or the full chain (leaf first). */
  readonly cert: string;
  readonly key: string;
  /** The chain to present (leaf then intermediates); when given, used instead of `cert`. */
  readonly chain?: string;
  /** A bundle JSON file (see docs/trust.md). */
  readonly bundle?: string;
  /** A PEM file of one or more roots; the trust domain comes from the leaf's SPIFFE ID. */
  readonly root?: string;
}

function loadCredentialFiles(files: CredentialFiles): TlsCredentials {
  const certChainPem = readFileSync(files.chain ?? files.cert, 'utf8');
  const keyPem = readFileSync(files.key, 'utf8');
  let bundle: TrustBundle;
  if (files.bundle) {
    bundle = bundleFromJson(readFileSync(files.bundle, 'utf8'), files.bundle);
  } else if (files.root) {
    const leaf = splitPem(certChainPem)[0] ?? '';
    const id = leafSpiffeId(leaf);
    const parsed = id ? parseSpiffeId(id) : undefined;
    if (!parsed) throw trustError('MESHFED_E_CERT_NO_SPIFFE_ID', `${files.cert}: the leaf carries no SPIFFE ID, so the trust domain of ${files.root} is unknown (use a bundle file)`);
    bundle = makeBundle({ trustDomain: parsed.trustDomain, roots: splitPem(readFileSync(files.root, 'utf8')) });
  } else {
    throw trustError('MESHFED_E_TRUST_BUNDLE_INVALID', 'watchCredentialFiles needs a bundle or a root file');
  }
  const creds = { certChainPem, keyPem, bundle };
  TlsCredentialSource.check(creds);
  return creds;
}

function leafSpiffeId(leafPem: string): string | undefined {
  try {
    return sanUris(new X509Certificate(leafPem).subjectAltName).find((u) => u.startsWith('spiffe://'));
  } catch {
    return undefined;
  }
}

/** A running file watcher and the source it feeds. */
export interface CredentialWatch {
  readonly source: TlsCredentialSource;
  /** Re-reads the files now (also what a file event triggers). Resolves false when they are inconsistent. */
  reload(): boolean;
  close(): void;
}

/**
 * Loads credentials from files and reloads them whenever a file changes (cert-manager, Istio, `meshfed trust issue
 * --force` and the zone agent all replace files). A half-written rotation (new cert, old key) is not applied: the old
 * credentials stay until the files agree, and onError hears why.
 */
export function watchCredentialFiles(files: CredentialFiles, opts: { debounceMs?: number; onError?: (e: Error) => void } = {}): CredentialWatch {
  const source = new TlsCredentialSource(loadCredentialFiles(files));
  const paths = [files.cert, files.key, files.chain, files.bundle, files.root].filter((p): p is string => p !== undefined).map((p) => resolve(p));
  const dirs = [...new Set(paths.map((p) => dirname(p)))];
  let timer: NodeJS.Timeout | undefined;
  let lastText = '';
  const reload = (): boolean => {
    try {
      const next = loadCredentialFiles(files);
      const text = next.certChainPem + next.keyPem + next.bundle.version;
      if (text !== lastText) {
        lastText = text;
        source.update(next);
      }
      return true;
    } catch (e) {
      opts.onError?.(e as Error);
      return false;
    }
  };
  lastText = source.current.certChainPem + source.current.keyPem + source.current.bundle.version;
  // Directories, not files: rotations usually rename a new file over the old one, which a file watch would miss.
  const watchers: FSWatcher[] = dirs.map((d) => watch(d, () => {
    clearTimeout(timer);
    timer = setTimeout(reload, opts.debounceMs ?? 25);
  }));
  return {
    source,
    reload,
    close() {
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}

/** Counts of what an MtlsServer decided. */
export interface MtlsStats {
  accepted: number;
  rejected: number;
  /** Refusals by code: MESHFED_E_CERT_* from verifyPeer, or the socket error code for handshakes that failed. */
  readonly rejectedByCode: Map<string, number>;
}

export interface MtlsServerOptions {
  /** Counts refusals as meshfed_trust_peer_rejected_total{code} and acceptances as meshfed_trust_peer_accepted_total. */
  readonly registry?: Registry;
  /** Hears every refusal (code and reason; never key material). */
  readonly onReject?: (r: PeerRejection) => void;
  /** A handshake that has not completed by then is dropped (slowloris guard). Default 10 s. */
  readonly handshakeTimeoutMs?: number;
  /** ALPN protocols to offer, e.g. ['h2', 'http/1.1']. */
  readonly alpnProtocols?: readonly string[];
  /**
   * Sees each accepted TCP socket before TLS and returns the stream TLS runs over (the same socket, or a wrapper
   * that shapes it, as L4 fault injection does), or undefined to drop the connection without a handshake.
   */
  readonly accept?: (raw: Socket) => Duplex | undefined;
}

/**
 * An mTLS listener. `secureConnection` is emitted only for verified peers, with (socket, peer).
 * Invariant: no socket reaches a 'secureConnection' listener without a successful verifyPeer against the source's
 * bundle at handshake time; peerIdentity(socket) is then its SPIFFE ID.
 */
export interface MtlsServer {
  /** The TCP listener: listen(), close(), address() live here. */
  readonly server: NetServer;
  readonly stats: MtlsStats;
  on(event: 'secureConnection', listener: (socket: TLSSocket, peer: VerifiedPeer) => void): this;
  /** Binds (127.0.0.1 unless told otherwise) and resolves with the port. */
  listen(port?: number, host?: string): Promise<number>;
  /** Stops accepting and destroys open connections; resolves when the listener is closed. */
  close(): Promise<void>;
}

/**
 * Creates an mTLS server for a credential source. Each handshake uses the source's current credentials, so a
 * rotation (source.update) applies to new connections at once while open connections keep theirs: hot reload
 * without dropping anything. Clients must present a certificate; every one is checked with verifyPeer (usage
 * 'client', plus `expectations`); refused sockets are destroyed and counted.
 *
 * Why not tls.createServer: tls.Server's own post-handshake hook consumes the client's intermediate from the
 * peer chain (nodejs/node#65579), so getPeerCertificate(true) cannot show it and intermediate revocation could not
 * be checked. Wrapping accepted TCP sockets in a server-mode TLSSocket keeps the whole chain.
 */
export function createMtlsServer(
  source: TlsCredentialSource,
  expectations: PeerExpectations = {},
  onSecureConnection?: (socket: TLSSocket, peer: VerifiedPeer) => void,
  opts: MtlsServerOptions = {},
): MtlsServer {
  const stats: MtlsStats = { accepted: 0, rejected: 0, rejectedByCode: new Map() };
  const rejectedMetric = opts.registry ? counter(opts.registry, 'meshfed_trust_peer_rejected_total', 'mTLS peers refused, by code', ['code']) : undefined;
  const acceptedMetric = opts.registry ? counter(opts.registry, 'meshfed_trust_peer_accepted_total', 'mTLS peers verified') : undefined;
  const emitter = new EventEmitter();
  const open = new Set<TLSSocket>();
  const expect: PeerExpectations = { ...expectations, usage: 'client' };
  const refuse = (r: PeerRejection) => {
    stats.rejected++;
    stats.rejectedByCode.set(r.code, (stats.rejectedByCode.get(r.code) ?? 0) + 1);
    rejectedMetric?.inc({ code: r.code });
    opts.onReject?.(r);
  };
  const server = createNetServer({ noDelay: true }, (tcp) => {
    const raw = opts.accept ? opts.accept(tcp) : tcp;
    if (!raw) return;
    const socket = new TLSSocket(raw, {
      isServer: true, secureContext: source.secureContext(), requestCert: true, rejectUnauthorized: true,
      ...(opts.alpnProtocols ? { ALPNProtocols: [...opts.alpnProtocols] } : {}),
    });
    open.add(socket);
    let secure = false;
    const timer = setTimeout(() => socket.destroy(), opts.handshakeTimeoutMs ?? 10_000);
    socket.on('close', () => {
      clearTimeout(timer);
      open.delete(socket);
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (!secure) refuse({ code: 'MESHFED_E_CERT_MALFORMED', reason: `handshake failed: ${e.code ?? e.message}` });
    });
    socket.once('secure', () => {
      secure = true;
      clearTimeout(timer);
      const result = verifyPeer(chainFromPeer(socket.getPeerCertificate(true)), source.current.bundle, Date.now(), expect);
      if (!result.ok) {
        refuse(result.error);
        socket.destroy();
        return;
      }
      verifiedPeers.set(socket, result.value);
      // tls.Server clears this in its own handshake hook; a standalone server-mode TLSSocket never does, and an
      // http2 session handed a socket that still says "connecting" waits for a 'secureConnect' that never comes.
      (socket as TLSSocket & { secureConnecting: boolean }).secureConnecting = false;
      stats.accepted++;
      acceptedMetric?.inc();
      emitter.emit('secureConnection', socket, result.value);
    });
  });
  if (onSecureConnection) emitter.on('secureConnection', onSecureConnection);
  const handle: MtlsServer = {
    server,
    stats,
    on(event, listener) {
      emitter.on(event, listener);
      return handle;
    },
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of open) s.destroy();
      });
    },
  };
  return handle;
}

/**
 * Serves HTTP over an MtlsServer: verified sockets are handed to `http` (an http.Server that never listens), or to
 * `h2` (an http2.createServer() server that never listens) when ALPN chose 'h2' (offer it with alpnProtocols).
 */
export function serveHttp(mtls: MtlsServer, http: HttpServer, h2?: Http2Server): void {
  mtls.on('secureConnection', (socket) => (h2 && socket.alpnProtocol === 'h2' ? h2 : http).emit('connection', socket));
}

const verifiedPeers = new WeakMap<TLSSocket, VerifiedPeer>();
/** Leaf fingerprints the client side verified (checkServerIdentity cannot see its socket). Bounded, oldest dropped. */
const verifiedServerLeaves = new Map<string, VerifiedPeer>();
const MAX_VERIFIED_LEAVES = 4096;

function chainFromPeer(cert: PeerCertificate | undefined): Buffer[] {
  const out: Buffer[] = [];
  // getPeerCertificate(true) links issuers; the root points at itself.
  for (let c = cert as (PeerCertificate & { issuerCertificate?: PeerCertificate }) | undefined; c && c.raw && out.length < 8;) {
    out.push(c.raw);
    const next = c.issuerCertificate as (PeerCertificate & { issuerCertificate?: PeerCertificate }) | undefined;
    if (!next || next === c || next.fingerprint256 === c.fingerprint256) break;
    c = next;
  }
  return out;
}

/** Client options: present the source's chain, trust the bundle roots, and verify the server's SPIFFE ID. */
export function mtlsClientOptions(source: TlsCredentialSource, expectations: PeerExpectations & { servername?: string } = {}): ConnectionOptions {
  const { servername, ...rest } = expectations;
  const expect: PeerExpectations = { ...rest, usage: 'server' };
  const bundle = source.current.bundle;
  return {
    secureContext: source.secureContext(),
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    ...(servername !== undefined ? { servername } : {}),
    checkServerIdentity(_host: string, cert: PeerCertificate): Error | undefined {
      const result = verifyPeer(chainFromPeer(cert), bundle, Date.now(), expect);
      if (!result.ok) return new MeshfedError(result.error.code, `server refused: ${result.error.reason}`);
      if (verifiedServerLeaves.size >= MAX_VERIFIED_LEAVES) verifiedServerLeaves.delete(verifiedServerLeaves.keys().next().value as string);
      verifiedServerLeaves.set(cert.fingerprint256, result.value);
      return undefined;
    },
  };
}

/** The verified peer of a socket made with these helpers (server or client side), or undefined. */
export function verifiedPeer(socket: TLSSocket): VerifiedPeer | undefined {
  const known = verifiedPeers.get(socket);
  if (known) return known;
  if (!socket.authorized) return undefined;
  const fp = socket.getPeerCertificate()?.fingerprint256;
  const v = fp ? verifiedServerLeaves.get(fp) : undefined;
  if (v) verifiedPeers.set(socket, v);
  return v;
}

/** The verified SPIFFE ID of the peer of a socket made with these helpers, or undefined. */
export function peerIdentity(socket: TLSSocket): string | undefined {
  return verifiedPeer(socket)?.spiffeId;
}
