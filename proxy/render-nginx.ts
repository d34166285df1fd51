// Pure rendering of an outbound-only nginx.conf from the proxy model (measured, not wired to an adapter: docs/native-proxies.md, "nginx").
import type { ProxyModel } from './model.ts';

/** Where nginx listens and the files it reads. */
export interface NginxRenderOptions {
  readonly host: string;
  readonly outboundPort: number;
  readonly dir: string;
  /** Workload certificate chain and key, as separate files (nginx's proxy_ssl_certificate / _key). */
  readonly certFile?: string;
  readonly keyFile?: string;
  /** Plain HTTP to the upstreams (for measuring reload cost without TLS); default mTLS. */
  readonly plainUpstreams?: boolean;
}

/**
 * The weighted backend of each service as an nginx upstream: servers with weight > 0 as themselves (nginx weights
 * are positive integers, so the 0..256 weights carry over), and the servers of the nearest fallback tier as `backup`
 * — nginx has one backup level, not a tier chain. Servers with weight 0 and no fallback role, or in maintenance, are
 * left out (nginx has no weight 0): any such change is a new file and a reload.
 */
export function renderNginxConfig(m: ProxyModel, o: NginxRenderOptions): string {
  const upstreams: string[] = [];
  const hosts: string[] = [];
  for (const svc of m.services) {
    const [weighted, ...tiers] = svc.backends;
    const fallback = tiers.find((b) => svc.servers.some((s) => s.healthy && (b.weights[s.name] ?? 0) > 0 && (weighted!.weights[s.name] ?? 0) === 0));
    const lines: string[] = [];
    for (const s of svc.servers) {
      if (!s.healthy) continue;
      const w = weighted!.weights[s.name] ?? 0;
      if (w > 0) lines.push(`    server ${s.host}:${s.port} weight=${w} max_fails=2 fail_timeout=1s;`);
      else if (fallback && (fallback.weights[s.name] ?? 0) > 0) lines.push(`    server ${s.host}:${s.port} backup;`);
    }
    if (lines.length === 0) continue;
    upstreams.push(`  upstream ${weighted!.name} {`, ...lines, '    keepalive 64;', '  }');
    for (const h of svc.hosts) hosts.push(`    ${h} ${weighted!.name};`);
  }
  // nginx's proxy_ssl_verify checks the peer's DNS name against proxy_ssl_name, and SPIFFE certificates carry none,
  // so with verification on no meshfed upstream would pass: chain verification is off (docs/native-proxies.md).
  const tls = o.plainUpstreams ? [] : [
    `      proxy_ssl_certificate ${o.certFile};`, `      proxy_ssl_certificate_key ${o.keyFile};`, '      proxy_ssl_verify off;', '      proxy_ssl_session_reuse on;',
  ];
  return [
    `# Rendered by meshfed for zone ${m.zone}: outbound only.`,
    `worker_processes 1; daemon off; pid ${o.dir}/nginx.pid; error_log ${o.dir}/nginx.err warn;`,
    'events { worker_connections 4096; }',
    'http {',
    `  access_log off; client_body_temp_path ${o.dir}/cb; proxy_temp_path ${o.dir}/pt; fastcgi_temp_path ${o.dir}/ft; uwsgi_temp_path ${o.dir}/ut; scgi_temp_path ${o.dir}/st;`,
    '  map $host $mf_upstream {', '    hostnames;', '    default "";', ...hosts, '  }',
    ...upstreams,
    '  server {',
    `    listen ${o.host}:${o.outboundPort};`,
    '    location / {',
    '      if ($mf_upstream = "") { return 404; }',
    `      proxy_pass ${o.plainUpstreams ? 'http' : 'https'}://$mf_upstream;`,
    '      proxy_http_version 1.1;', '      proxy_set_header Connection "";', '      proxy_set_header Host $host;',
    '      proxy_next_upstream error timeout http_502 http_503;',
    ...tls,
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
}
