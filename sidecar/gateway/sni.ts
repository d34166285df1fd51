// Pure parsing of a TLS ClientHello's server name (SNI) from a connection's first bytes, and of Istio's SNI routing form.

/**
 * What the first bytes of a connection say. `incomplete` asks for more bytes; every other kind is final.
 * Invariant: the parser never reads outside the given buffer and never throws, whatever the bytes.
 */
export type SniResult =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'sni'; readonly serverName: string }
  | { readonly kind: 'no-sni' }
  | { readonly kind: 'not-tls'; readonly reason: string }
  | { readonly kind: 'malformed'; readonly reason: string };

/** A ClientHello larger than this (over all its records) is refused rather than buffered. */
export const MAX_CLIENT_HELLO_BYTES = 64 * 1024;

const RECORD_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0x0000;
const NAME_TYPE_HOST = 0x00;

/**
 * Reads the SNI from the bytes received so far. Handles a ClientHello split across several TLS records
 * (large post-quantum key shares do that) and across several TCP segments.
 */
export function parseClientHello(data: Uint8Array): SniResult {
  if (data.length === 0) return { kind: 'incomplete' };
  if (data[0] !== RECORD_HANDSHAKE) return { kind: 'not-tls', reason: `first byte 0x${hex(data[0] ?? 0)} is not a TLS handshake record` };
  if (data.length >= 2 && data[1] !== 0x03) return { kind: 'not-tls', reason: `record version major ${data[1]} is not 3` };
  // Gather the handshake bytes from consecutive handshake records until the ClientHello is whole.
  const chunks: Uint8Array[] = [];
  let gathered = 0;
  let off = 0;
  let needed = -1;
  while (needed < 0 || gathered < needed) {
    if (off + 5 > data.length) return off >= MAX_CLIENT_HELLO_BYTES ? tooBig() : { kind: 'incomplete' };
    if (data[off] !== RECORD_HANDSHAKE) return { kind: 'malformed', reason: 'ClientHello interrupted by a non-handshake record' };
    if (data[off + 1] !== 0x03) return { kind: 'malformed', reason: 'bad record version' };
    const len = u16(data, off + 3);
    if (len === 0 || len > 16384 + 2048) return { kind: 'malformed', reason: `record length ${len} out of range` };
    const end = off + 5 + len;
    const avail = Math.min(end, data.length);
    chunks.push(data.subarray(off + 5, avail));
    gathered += avail - (off + 5);
    if (needed < 0 && gathered >= 4) {
      const head = concat(chunks, 4);
      if (head[0] !== HANDSHAKE_CLIENT_HELLO) return { kind: 'malformed', reason: `handshake type ${head[0]} is not ClientHello` };
      needed = 4 + ((head[1]! << 16) | (head[2]! << 8) | head[3]!);
      if (needed > MAX_CLIENT_HELLO_BYTES) return tooBig();
    }
    if (avail < end) {
      if (needed >= 0 && gathered >= needed) break;
      return { kind: 'incomplete' };
    }
    off = end;
  }
  const hello = concat(chunks, needed);
  return parseHelloBody(hello.subarray(4, needed));
}

function parseHelloBody(b: Uint8Array): SniResult {
  let p = 2 + 32; // client_version, random
  if (p + 1 > b.length) return bad('truncated before session id');
  p += 1 + b[p]!;
  if (p + 2 > b.length) return bad('truncated before cipher suites');
  p += 2 + u16(b, p);
  if (p + 1 > b.length) return bad('truncated before compression methods');
  p += 1 + b[p]!;
  if (p === b.length) return { kind: 'no-sni' }; // no extensions at all
  if (p + 2 > b.length) return bad('truncated extensions length');
  const extEnd = p + 2 + u16(b, p);
  if (extEnd > b.length) return bad('extensions overrun the ClientHello');
  p += 2;
  while (p + 4 <= extEnd) {
    const type = u16(b, p);
    const len = u16(b, p + 2);
    p += 4;
    if (p + len > extEnd) return bad('extension overruns the extensions block');
    if (type === EXT_SERVER_NAME) return parseServerName(b.subarray(p, p + len));
    p += len;
  }
  if (p !== extEnd) return bad('trailing bytes in extensions block');
  return { kind: 'no-sni' };
}

function parseServerName(b: Uint8Array): SniResult {
  if (b.length < 2) return bad('server_name extension too short');
  const listEnd = 2 + u16(b, 0);
  if (listEnd > b.length) return bad('server_name list overruns its extension');
  let p = 2;
  while (p + 3 <= listEnd) {
    const type = b[p]!;
    const len = u16(b, p + 1);
    p += 3;
    if (p + len > listEnd) return bad('server name overruns its list');
    if (type === NAME_TYPE_HOST) {
      const name = new TextDecoder('latin1').decode(b.subarray(p, p + len));
      if (!/^[A-Za-z0-9._-]{1,253}$/.test(name)) return bad('server name has characters a DNS name cannot have');
      return { kind: 'sni', serverName: name.toLowerCase() };
    }
    p += len;
  }
  return { kind: 'no-sni' };
}

/** A parsed `outbound_.PORT_.SUBSET_.HOST` name; subset is '' when the name carries `_`. */
export interface GatewayTarget {
  readonly port: number;
  readonly subset: string;
  readonly host: string;
}

/** Parses Istio's east-west SNI form, e.g. `outbound_.8080_.v1_.catalog.shop.svc.meshfed`; undefined when it is not one. */
export function parseGatewaySni(serverName: string): GatewayTarget | undefined {
  const m = /^outbound_\.(\d{1,5})_\.([A-Za-z0-9-]*)_\.([a-z0-9][a-z0-9.-]*)$/.exec(serverName.toLowerCase());
  if (!m) return undefined;
  const port = Number(m[1]);
  if (port < 1 || port > 65535) return undefined;
  return { port, subset: m[2] === '' ? '' : m[2]!, host: m[3]! };
}

/** Builds the SNI for a target: the inverse of parseGatewaySni. An empty subset is written `_`, as Istio does. */
export function gatewaySni(target: GatewayTarget): string {
  return `outbound_.${target.port}_.${target.subset}_.${target.host}`;
}

function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

function concat(chunks: readonly Uint8Array[], want: number): Uint8Array {
  const out = new Uint8Array(want);
  let o = 0;
  for (const c of chunks) {
    if (o >= want) break;
    const n = Math.min(c.length, want - o);
    out.set(c.subarray(0, n), o);
    o += n;
  }
  return out;
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}

function bad(reason: string): SniResult {
  return { kind: 'malformed', reason };
}

function tooBig(): SniResult {
  return { kind: 'malformed', reason: `ClientHello exceeds ${MAX_CLIENT_HELLO_BYTES} bytes` };
}
