// `meshfed trust ...`: root and intermediate CAs, workload certs, CSR signing, verification, inspection, bundles.
import { existsSync, readFileSync } from 'node:fs';
import { X509Certificate, createHash } from 'node:crypto';
import { parseCommand, parseDuration, parseOutput, renderTable, required, UsageError, type CommandSpec, type OptionSpec } from './args.ts';
import {
  KEY_TYPES, addAlias, addRoots, createIntermediateCa, createRootCa, issueWorkload, makeBundle, readBundleFile, readPluginCaDir,
  readRootDir, removeRoot, revokeSerial, signCsr, splitPem, verifyPeer, writeBundleFile, writePluginCaDir, writeRootDir,
  writeWorkloadDir, rootFingerprint, trustError, signBundle, bundleToJson, type KeyType, type TrustBundle,
} from '../trust/index.ts';
import { ADMIN_OPTION, AdminClient, resolveAdminUrl } from './admin-client.ts';
import { parseSpiffeId, sanUris } from '../api/identity.ts';

const SUBCOMMANDS = 'init | intermediate | issue | sign-csr | verify | inspect | bundle | publish';

const TOP: CommandSpec<Record<string, OptionSpec>> = {
  name: 'trust',
  summary: 'manage the federation CA: roots, cluster intermediates (Istio plug-in files), workload certs, bundles',
  usage: `meshfed trust <${SUBCOMMANDS}> [options]`,
  options: {},
  allowPositionals: true,
  details: `
Subcommands:
  init           create a root CA:                  --trust-domain D --out DIR [--key-type ec-p256|rsa-3072] [--ttl 10y]
  intermediate   create a cluster intermediate CA:  --root DIR --cluster NAME --out DIR2 [--ttl 1y] [--name-constraints]
  issue          issue a workload certificate:      --ca DIR2 --spiffe-id URI --out DIR3 [--ttl 24h]
  sign-csr       sign a PKCS#10 CSR (prints PEM):   --ca DIR2 --csr FILE [--ttl 24h]
  verify         verify a certificate (chain):      --bundle FILE | --root FILE  CERT [--spiffe-id URI]
  inspect        show a certificate:                CERT [--output json]
  bundle         edit a bundle file:                add-root | remove-root | add-alias | revoke | show  --bundle FILE ...
  publish        sign a bundle file and store it:   --bundle FILE (--root DIR | --signing-key FILE) [--admin URL]
Every subcommand has --help. Key files are written with mode 0600 and never overwritten without --force.
Exit codes: 0 success, 1 failure (the MESHFED_E_* code is printed), 2 usage error.`,
};

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw trustError('MESHFED_E_TRUST_FILE', `${path}: cannot read the ${what}: ${(cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (cause as Error).message}`, cause);
  }
}

function keyType(text: string | undefined): KeyType {
  if (text === undefined) return 'ec-p256';
  if ((KEY_TYPES as readonly string[]).includes(text)) return text as KeyType;
  throw new UsageError(`--key-type: "${text}" is not supported (use ${KEY_TYPES.join(' or ')})`);
}

const FORCE = { type: 'boolean', description: 'replace existing files (keys included)' } as const;

async function init(argv: readonly string[]): Promise<number> {
  const spec = {
    name: 'trust init', summary: 'create the federation root CA (keep root-key.pem offline afterwards)',
    usage: 'meshfed trust init --trust-domain D --out DIR [--key-type ec-p256|rsa-3072] [--ttl 10y] [--force]',
    options: {
      'trust-domain': { type: 'string', value: 'D', description: 'the SPIFFE trust domain, e.g. example.org' },
      out: { type: 'string', value: 'DIR', description: 'directory for root-cert.pem and root-key.pem' },
      'key-type': { type: 'string', value: 'TYPE', description: 'ec-p256 or rsa-3072', default: 'ec-p256' },
      ttl: { type: 'string', value: 'DURATION', description: 'lifetime', default: '10y' },
      force: FORCE,
    },
  } as const;
  const p = parseCommand(spec, argv);
  if (!p) return 0;
  const trustDomain = required(p.values['trust-domain'], 'trust-domain');
  const dir = required(p.values.out, 'out');
  const root = await createRootCa({ trustDomain, keyType: keyType(p.values['key-type']), ttlMs: parseDuration(p.values.ttl, 'ttl') });
  for (const f of writeRootDir(dir, root, p.values.force)) out(`wrote ${f}`);
  out(`root fingerprint (sha256): ${rootFingerprint(root.certPem)}`);
  return 0;
}

function trustDomainOf(certPem: string): string | undefined {
  return /(?:^|\n)OU=([^\n]+)/.exec(new X509Certificate(certPem).subject ?? '')?.[1];
}

async function intermediate(argv: readonly string[]): Promise<number> {
  const spec = {
    name: 'trust intermediate', summary: 'create a cluster intermediate CA in the Istio plug-in layout',
    usage: 'meshfed trust intermediate --root DIR --cluster NAME --out DIR2 [--ttl 1y] [--name-constraints] [--force]',
    details: 'Writes root-cert.pem, ca-cert.pem, ca-key.pem (0600) and cert-chain.pem (intermediate then root): the files\nIstio reads from its cacerts secret. Path length is 0: the intermediate signs workloads only.',
    options: {
      root: { type: 'string', value: 'DIR', description: 'the root directory made by `trust init`' },
      cluster: { type: 'string', value: 'NAME', description: 'the cluster this intermediate serves' },
      out: { type: 'string', value: 'DIR2', description: 'directory for the plug-in CA files' },
      ttl: { type: 'string', value: 'DURATION', description: 'lifetime (clamped to the root\'s)', default: '1y' },
      'trust-domain': { type: 'string', value: 'D', description: 'trust domain (default: the root\'s)' },
      'name-constraints': { type: 'boolean', description: 'permit only URIs of the trust domain (X.509 name constraints)' },
      force: FORCE,
    },
  } as const;
  const p = parseCommand(spec, argv);
  if (!p) return 0;
  const root = readRootDir(required(p.values.root, 'root'));
  const cluster = required(p.values.cluster, 'cluster');
  const dir = required(p.values.out, 'out');
  const trustDomain = p.values['trust-domain'] ?? trustDomainOf(root.certPem);
  if (!trustDomain) throw new UsageError('the root names no trust domain; pass --trust-domain');
  const ca = await createIntermediateCa({ root, cluster, trustDomain, ttlMs: parseDuration(p.values.ttl, 'ttl'), nameConstraints: p.values['name-constraints'] });
  for (const f of writePluginCaDir(dir, ca, p.values.force)) out(`wrote ${f}`);
  out(`intermediate serial: ${new X509Certificate(ca.certPem).serialNumber.toLowerCase()}`);
  return 0;
}

async function issue(argv: readonly string[]): Promise<number> {
  const spec = {
    name: 'trust issue', summary: 'issue a workload certificate with a fresh key',
    usage: 'meshfed trust issue --ca DIR2 --spiffe-id URI --out DIR3 [--ttl 24h] [--key-type ec-p256|rsa-3072] [--force]',
    details: 'Writes cert.pem (the leaf), key.pem (0600), chain.pem (leaf then intermediate) and root-cert.pem.',
    options: {
      ca: { type: 'string', value: 'DIR2', description: 'the plug-in CA directory made by `trust intermediate`' },
      'spiffe-id': { type: 'string', value: 'URI', description: 'spiffe://<trust-domain>/ns/<ns>/sa/<sa>' },
      out: { type: 'string', value: 'DIR3', description: 'directory for the workload files' },
      ttl: { type: 'string', value: 'DURATION', description: 'lifetime', default: '24h' },
      'key-type': { type: 'string', value: 'TYPE', description: 'ec-p256 or rsa-3072', default: 'ec-p256' },
      force: FORCE,
    },
  } as const;
  const p = parseCommand(spec, argv);
  if (!p) return 0;
  const ca = readPluginCaDir(required(p.values.ca, 'ca'));
  const id = required(p.values['spiffe-id'], 'spiffe-id');
  if (!parseSpiffeId(id)) throw new UsageError(`--spiffe-id: "${id}" is not a SPIFFE ID (spiffe://<trust-domain>/ns/<ns>/sa/<sa>)`);
  const dir = required(p.values.out, 'out');
  const cert = await issueWorkload(ca, id, { ttlMs: parseDuration(p.values.ttl, 'ttl'), keyType: keyType(p.values['key-type']) });
  for (const f of writeWorkloadDir(dir, cert, ca.rootPem, p.values.force)) out(`wrote ${f}`);
  out(`${id} valid until ${cert.notAfter.toISOString()}`);
  return 0;
}

async function signCsrCmd(argv: readonly string[]): Promise<number> {
  const spec = {
    name: 'trust sign-csr', summary: 'sign a PKCS#10 CSR carrying a SPIFFE ID; prints the certificate (PEM)',
    usage: 'meshfed trust sign-csr --ca DIR2 --csr FILE [--ttl 24h] [--spiffe-id URI]',
    options: {
      ca: { type: 'string', value: 'DIR2', description: 'the plug-in CA directory' },
      csr: { type: 'string', value: 'FILE', description: 'the PEM CSR' },
      ttl: { type: 'string', value: 'DURATION', description: 'lifetime', default: '24h' },
      'spiffe-id': { type: 'string', value: 'URI', description: 'refuse unless the CSR asks for exactly this ID' },
    },
  } as const;
  const p = parseCommand(spec, argv);
  if (!p) return 0;
  const ca = readPluginCaDir(required(p.values.ca, 'ca'));
  const csr = readText(required(p.values.csr, 'csr'), 'CSR');
  const signed = await signCsr(ca, csr, { ttlMs: parseDuration(p.values.ttl, 'ttl'), ...(p.values['spiffe-id'] ? { spiffeId: p.values['spiffe-id'] } : {}) });
  process.stdout.write(signed.certPem);
  return 0;
}

function leafTrustDomain(pemText: string): string | undefined {
  const leaf = splitPem(pemText)[0];
  if (!leaf) return undefined;
  const uri = sanUris(new X509Certificate(leaf).subjectAltName).find((u) => u.startsWith('spiffe://'));
  return uri ? parseSpiffeId(uri)?.trustDomain : undefined;
}

async function verify(argv: readonly string[]): Promise<number> {
  const spec = {
    name: 'trust verify', summary: 'verify a certificate chain against a bundle or a root',
    usage: 'meshfed trust verify (--bundle FILE | --root FILE) CERT [--untrusted FILE] [--spiffe-id URI] [--usage server|client]',
    allowPositionals: true,
    details: 'CERT holds the leaf, optionally followed by intermediates (chain.pem). Exit 0 when valid; otherwise exit 1\nand print the failure code (MESHFED_E_CERT_*) and reason.',
    options: {
      bundle: { type: 'string', value: 'FILE', description: 'a trust bundle file (JSON)' },
      root: { type: 'string', value: 'FILE', description: 'a PEM root (the trust domain is taken from the leaf)' },
      untrusted: { type: 'string', value: 'FILE', description: 'intermediates to build the chain with (e.g. ca-cert.pem)' },
      'spiffe-id': { type: 'string', value: 'URI', description: 'the SPIFFE ID the certificate must carry' },
      usage: { type: 'string', value: 'ROLE', description: 'require serverAuth (server) or clientAuth (client)' },
    },
  } as const;
  const p = parseCommand(spec, argv);
  if (!p) return 0;
  if (p.positionals.length !== 1) throw new UsageError('give exactly one CERT file');
  if ((p.values.bundle === undefined) === (p.values.root === undefined)) throw new UsageError('give exactly one of --bundle or --root');
  const usage = p.values.usage;
  if (usage !== undefined && usage !== 'server' && usage !== 'client') throw new UsageError(`--usage: "${usage}" is not server or client`);
  const certText = readText(p.positionals[0] as string, 'certificate');
  const chain = certText + (p.values.untrusted ? readText(p.values.untrusted, 'intermediates') : '');
  let bundle: TrustBundle;
  if (p.values.bundle) {
    bundle = readBundleFile(p.values.bundle);
  } else {
    const td = leafTrustDomain(certText);
    if (!td) {
      process.stderr.write('MESHFED_E_CERT_NO_SPIFFE_ID: the leaf carries no SPIFFE ID, so --root gives no trust domain (use --bundle)\n');
      return 1;
    }
    bundle = makeBundle({ trustDomain: td, roots: splitPem(readText(p.values.root as string, 'root')) });
  }
  const result = verifyPeer(chain, bundle, new Date(), {
    ...(p.values['spiffe-id'] ? { spiffeId: p.values['spiffe-id'] } : {}),
    ...(usage ? { usage } : {}),
  });
  if (!result.ok) {
    process.stderr.write(`${result.error.code}: ${result.error.reason}\n`);
    return 1;
  }
  out(`OK ${result.value.spiffeId} (expires ${result.value.notAfter.toISOString()}, root ${result.value.rootFingerprint.slice(0, 16)})`);
  return 0;
}

interface CertInfo {
  subject: string;
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  sans: string[];
  spiffeId: string | null;
  isCa: boolean;
  fingerprintSha256: string;
}

function certInfo(pem: string): CertInfo {
  const c = new X509Certificate(pem);
  const sans = (c.subjectAltName ?? '').split(/,\s*/).filter((s) => s !== '');
  const uri = sans.find((s) => s.startsWith('URI:spiffe://'))?.slice(4);
  return {
    subject: (c.subject ?? '').replace(/\n/g, ', '),
    issuer: (c.issuer ?? '').replace(/\n/g, ', '),
    serial: c.serialNumber.toLowerCase(),
    notBefore: c.validFromDate.toISOString(),
    notAfter: c.validToDate.toISOString(),
    sans,
    spiffeId: uri && parseSpiffeId(uri) ? uri : null,
    isCa: c.ca,
    fingerprintSha256: createHash('sha256').update(c.raw).digest('hex'),
  };
}

async function inspect(argv: readonly string[]): Promise<number> {
  const spec = {
    name: 'trust inspect', summary: 'show subject, SANs, issuer, validity and SPIFFE ID of each certificate in a file',
    usage: 'meshfed trust inspect CERT [--output table|json]',
    allowPositionals: true,
    options: { output: { type: 'string', short: 'o', value: 'FORMAT', description: 'table or json', default: 'table' } },
  } as const;
  const p = parseCommand(spec, argv);
  if (!p) return 0;
  if (p.positionals.length !== 1) throw new UsageError('give exactly one CERT file');
  const format = parseOutput(p.values.output);
  const path = p.positionals[0] as string;
  const pems = splitPem(readText(path, 'certificate'));
  if (pems.length === 0) throw trustError('MESHFED_E_TRUST_FILE', `${path}: no PEM certificate found`);
  const infos = pems.map(certInfo);
  if (format === 'json') {
    out(JSON.stringify(infos.length === 1 ? infos[0] : infos, null, 2));
    return 0;
  }
  for (const i of infos) {
    out(renderTable(['field', 'value'], [
      ['subject', i.subject || '(empty)'], ['issuer', i.issuer], ['serial', i.serial], ['not before', i.notBefore], ['not after', i.notAfter],
      ['SANs', i.sans.join(', ') || '(none)'], ['SPIFFE ID', i.spiffeId ?? '(none)'], ['CA', String(i.isCa)], ['sha256', i.fingerprintSha256],
    ]));
  }
  return 0;
}

async function bundle(argv: readonly string[]): Promise<number> {
  const [action, ...rest] = argv;
  const spec = {
    name: 'trust bundle', summary: 'maintain a trust bundle file (JSON: trustDomain, roots, aliases, revokedSerials, version)',
    usage: 'meshfed trust bundle <add-root|remove-root|add-alias|revoke|show> --bundle FILE [ARG]',
    allowPositionals: true,
    details: `
  add-root ROOT.pem [--trust-domain D]   add a root (creates the file; D defaults to the root's trust domain)
  remove-root FINGERPRINT|SERIAL|ROOT.pem remove a root (never the last one)
  add-alias DOMAIN                        accept another trust domain as this one
  revoke SERIAL|CA-CERT.pem               revoke an intermediate CA
  show                                    print the bundle's roots, aliases and revocations`,
    options: {
      bundle: { type: 'string', value: 'FILE', description: 'the bundle file' },
      'trust-domain': { type: 'string', value: 'D', description: 'trust domain for a new bundle' },
    },
  } as const;
  if (action === undefined || action === '--help' || action === '-h') {
    parseCommand(spec, ['--help']);
    return action === undefined ? 2 : 0;
  }
  const p = parseCommand(spec, rest);
  if (!p) return 0;
  const file = required(p.values.bundle, 'bundle');
  const arg = p.positionals[0];
  const needArg = (what: string): string => {
    if (p.positionals.length !== 1 || arg === undefined) throw new UsageError(`bundle ${action}: give exactly one ${what}`);
    return arg;
  };
  const load = (): TrustBundle => readBundleFile(file);
  let next: TrustBundle;
  switch (action) {
    case 'add-root': {
      const pemText = readText(needArg('ROOT.pem file'), 'root');
      if (existsSync(file)) {
        next = addRoots(load(), pemText);
      } else {
        const first = splitPem(pemText)[0];
        const td = p.values['trust-domain'] ?? (first ? trustDomainOf(first) : undefined);
        if (!td) throw new UsageError('a new bundle needs --trust-domain');
        next = addRoots(makeBundle({ trustDomain: td }), pemText);
      }
      break;
    }
    case 'remove-root': {
      const sel = needArg('fingerprint, serial or ROOT.pem');
      next = removeRoot(load(), existsSync(sel) ? readText(sel, 'root') : sel);
      break;
    }
    case 'add-alias':
      next = addAlias(load(), needArg('trust domain'));
      break;
    case 'revoke': {
      const sel = needArg('serial or CA certificate file');
      next = revokeSerial(load(), existsSync(sel) ? new X509Certificate(readText(sel, 'CA certificate')).serialNumber : sel);
      break;
    }
    case 'show': {
      const b = load();
      out(renderTable(['kind', 'value'], [
        ['trust domain', b.trustDomain], ['version', b.version],
        ...b.roots.map((r) => ['root', `${rootFingerprint(r).slice(0, 16)} ${certInfo(r).subject} until ${certInfo(r).notAfter}`]),
        ...b.aliases.map((a) => ['alias', a]),
        ...b.revokedSerials.map((s) => ['revoked', s]),
      ]));
      return 0;
    }
    default:
      throw new UsageError(`unknown bundle action "${action}" (use add-root, remove-root, add-alias, revoke or show)`);
  }
  writeBundleFile(file, next);
  out(`wrote ${file} (version ${next.version}: ${next.roots.length} root(s), ${next.aliases.length} alias(es), ${next.revokedSerials.length} revoked)`);
  return 0;
}

async function publish(argv: readonly string[]): Promise<number> {
  const spec = {
    name: 'trust publish', summary: 'sign a trust bundle file and store it through the global-lb admin API',
    usage: 'meshfed trust publish --bundle FILE (--root DIR | --signing-key FILE) [--admin URL] [--dry-run]',
    allowPositionals: false,
    details: `
Agents and sidecars take a bundle only when a key they already trust signed it: a root of the bundle in force (before
any, a root of their CA directory), or an operator key pinned with --bundle-signer. Sign a rotation's first bundle
{old,new} with the OLD root, and the last one {new} with the new root (docs/trust.md, "Signed bundles").
Receivers refuse a bundle issued before the one in force, so an old signed bundle cannot be replayed.
Exit codes: 0 stored, 1 refused or unreachable (the MESHFED_E_* code is printed), 2 usage error.`,
    options: {
      bundle: { type: 'string', value: 'FILE', description: 'the bundle file (meshfed trust bundle ...)' },
      root: { type: 'string', value: 'DIR', description: 'a root CA directory (meshfed trust init): signs with the root key' },
      'signing-key': { type: 'string', value: 'FILE', description: 'an operator private key (PEM) whose public key receivers pin with --bundle-signer' },
      'dry-run': { type: 'boolean', description: 'print the signed bundle instead of storing it' },
      ...ADMIN_OPTION,
    },
  } as const;
  const p = parseCommand(spec, argv);
  if (!p) return 0;
  const file = required(p.values.bundle, 'bundle');
  if ((p.values.root === undefined) === (p.values['signing-key'] === undefined)) throw new UsageError('give exactly one of --root DIR or --signing-key FILE');
  const signer = p.values.root !== undefined
    ? readRootDir(p.values.root)
    : { keyPem: readText(p.values['signing-key']!, 'signing key') };
  const signed = signBundle(readBundleFile(file), signer, new Date());
  if (p.values['dry-run']) {
    out(bundleToJson(signed));
    return 0;
  }
  const client = new AdminClient(resolveAdminUrl(p.values.admin));
  const r = await client.call<{ version: string; issuedAt: string; signer: string; revision: number }>('PUT', '/v1/trust/bundle', JSON.parse(bundleToJson(signed)));
  out(`published bundle ${r.version} (${signed.roots.length} root(s), ${signed.aliases.length} alias(es), ${signed.revokedSerials.length} revoked), issued ${r.issuedAt}, signed by ${r.signer.slice(0, 21)}…; agents and sidecars take it within seconds`);
  return 0;
}

const HANDLERS: Record<string, (argv: readonly string[]) => Promise<number>> = {
  init, intermediate, issue, 'sign-csr': signCsrCmd, verify, inspect, bundle, publish,
};

/** Entry point of `meshfed trust`. */
export async function run(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    parseCommand(TOP, ['--help']);
    return sub === undefined ? 2 : 0;
  }
  const handler = HANDLERS[sub];
  if (!handler) throw new UsageError(`unknown subcommand "${sub}" (use ${SUBCOMMANDS})`);
  return handler(rest);
}

