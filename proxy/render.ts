// Pure rendering of haproxy.cfg from the proxy model: outbound by Host with tier fallback, inbound mTLS to the app, admin /ready and the Runtime API socket.
import type { ProxyModel, ProxyServer, ProxyService } from './model.ts';

/** Where HAProxy listens and the files it reads. */
export interface RenderOptions {
  readonly host: string;
  readonly outboundPort: number;
  readonly inboundPort: number;
  readonly adminPort: number;
  readonly appPort: number;
  /** The Runtime API (stats) socket, level admin. */
  readonly adminSocket: string;
  /** The workload certificate chain followed by its key (HAProxy's `crt` format). */
  readonly certFile: string;
  /** The trust bundle's roots. */
  readonly caFile: string;
}

/** Health checks every 500 ms, down after 2 failures, up after 1 pass: the shop's own probe timing. */
const CHECK = 'check inter 500ms fastinter 250ms fall 2 rise 1';

/**
 * The parameters of one server line, shared by the rendered config and the Runtime API's `add server` (which does
 * not apply default-server), so a server added at run time is the same as one loaded from the file. `tracks` names
 * the weighted backend's copy to follow instead of checking (static servers only: HAProxy 2.6 refuses to track a
 * dynamic one), so each endpoint is probed once per adapter, not once per backend. A `dynamic` server (for
 * `add server`) starts in maintenance anyway, so it never carries `disabled`.
 */
export function serverParams(s: ProxyServer, weight: number, svc: ProxyService, o: Pick<RenderOptions, 'certFile' | 'caFile'>, tracks?: string, dynamic = false): string {
  const observe = svc.policy.errorLimit > 0 ? ` observe layer7 error-limit ${svc.policy.errorLimit} on-error mark-down` : '';
  // Checks do not use the `sni` expression; a gateway needs the name to route the probe's handshake too.
  const check = tracks !== undefined ? `track ${tracks}/${s.name}` : `${CHECK}${s.sni !== undefined ? ` check-sni ${s.sni}` : ''}${observe}`;
  // Through a gateway the SNI is the routing name, which HAProxy 2.6 would also require in the peer's DNS names (a
  // SPIFFE certificate has none): that hop cannot verify the destination's certificate. The destination still
  // verifies ours (inbound `verify required`). docs/native-proxies.md, "mTLS", states the gap.
  const verify = s.sni !== undefined ? `verify none sni str(${s.sni})` : `ca-file ${o.caFile} verify required`;
  return `${s.host}:${s.port} weight ${weight} ${check} ssl crt ${o.certFile} ${verify} alpn http/1.1${s.healthy || dynamic ? '' : ' disabled'}`;
}

/** The service's ACL name in the outbound frontend. */
function aclOf(index: number): string {
  return `mf_svc${index}`;
}

function outboundFrontend(m: ProxyModel, o: RenderOptions): string[] {
  const lines = [
    'frontend outbound',
    `  bind ${o.host}:${o.outboundPort}`,
    '  http-request set-var(txn.mf_host) req.hdr(host),field(1,:),lower',
  ];
  m.services.forEach((s, i) => lines.push(`  acl ${aclOf(i)} var(txn.mf_host) -m str ${s.hosts.join(' ')}`));
  m.services.forEach((s, i) => {
    // The first backend with a usable server (up and weight > 0) wins: the relayed row, then tier 0, 1, ...
    for (const b of s.backends) lines.push(`  use_backend ${b.name} if ${aclOf(i)} { nbsrv(${b.name}) gt 0 }`);
    // None usable: the weighted backend answers 503 itself (no server), as the Node sidecar's no-healthy-upstream.
    lines.push(`  use_backend ${s.backends[0]!.name} if ${aclOf(i)}`);
  });
  lines.push('  default_backend mf_no_route');
  return lines;
}

function backend(svc: ProxyService, b: ProxyService['backends'][number], o: RenderOptions, tracks: string | undefined): string[] {
  const p = svc.policy;
  const lines = [
    `backend ${b.name}`,
    '  balance roundrobin',
    `  timeout server ${p.timeoutServerMs}ms`,
    `  retries ${p.retries}`,
  ];
  if (p.retries > 0 && p.retryOn.length > 0) lines.push(`  retry-on ${p.retryOn.join(' ')}`, '  option redispatch 1');
  for (const s of svc.servers) lines.push(`  server ${s.name} ${serverParams(s, b.weights[s.name] ?? 0, svc, o, tracks)}`);
  return lines;
}

/** The whole haproxy.cfg for a model. Pure: the same model and options give the same text. */
export function renderHaproxyConfig(m: ProxyModel, o: RenderOptions): string {
  const out = [
    `# Rendered by meshfed proxy haproxy for zone ${m.zone}; weights change through the Runtime API, not this file.`,
    'global',
    `  stats socket ${o.adminSocket} mode 600 level admin expose-fd listeners`,
    '  stats timeout 10s',
    '  maxconn 4096',
    '  ssl-server-verify required',
    '',
    'defaults',
    '  mode http',
    '  option http-keep-alive',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 30s',
    '  timeout http-request 10s',
    '  timeout http-keep-alive 30s',
    '  timeout queue 5s',
    '',
    ...outboundFrontend(m, o),
    '',
    'frontend inbound',
    `  bind ${o.host}:${o.inboundPort} ssl crt ${o.certFile} ca-file ${o.caFile} verify required alpn h2,http/1.1`,
    '  default_backend mf_local_app',
    '',
    'frontend admin',
    `  bind ${o.host}:${o.adminPort}`,
    '  monitor-uri /ready',
    '  monitor fail if { nbsrv(mf_local_app) lt 1 }',
    '  stats enable',
    '  stats uri /stats',
    '',
    'backend mf_local_app',
    `  server app 127.0.0.1:${o.appPort} check inter 500ms fall 2 rise 1`,
    '',
    'backend mf_no_route',
    '  http-request return status 404 content-type text/plain hdr x-meshfed-code MESHFED_E_SIDECAR_NO_ROUTE string "no route: the Host header names no mesh service"',
    '',
  ];
  for (const svc of m.services) {
    svc.backends.forEach((b, i) => out.push(...backend(svc, b, o, i === 0 ? undefined : svc.backends[0]!.name), ''));
  }
  return out.join('\n');
}
