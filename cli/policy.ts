// `meshfed policy apply|validate|get|delete`: manages per-service routing policies through the admin API.
import { parseDocument } from 'yaml';
import { parseCommand, parseOutput, UsageError } from './args.ts';
import { ADMIN_OPTION, AdminClient, resolveAdminUrl } from './admin-client.ts';
import { MeshfedError } from '../common/errors.ts';
import { parsePolicy } from '../api/policy.ts';
import { readConfigText } from '../api/load.ts';

const SUBCOMMANDS = 'apply -f FILE | validate FILE | get NS/NAME | delete NS/NAME';

/** Validates locally; prints `FILE: path: message` lines and returns false when invalid. */
function validateText(text: string, file: string): boolean {
  try {
    parsePolicy(text, file);
    return true;
  } catch (e) {
    if (e instanceof MeshfedError && (e.code === 'MESHFED_E_CONFIG_INVALID' || e.code === 'MESHFED_E_CONFIG_PARSE')) {
      process.stderr.write((e.details.length > 0 ? e.details : [e.message]).join('\n') + '\n');
      return false;
    }
    throw e;
  }
}

function serviceArg(positionals: readonly string[]): [string, string] {
  const [service, ...extra] = positionals;
  if (service === undefined || extra.length > 0) throw new UsageError('give exactly one service as namespace/name');
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(service);
  if (!m) throw new UsageError(`"${service}" is not namespace/name`);
  return [encodeURIComponent(m[1]!), encodeURIComponent(m[2]!)];
}

async function apply(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand({
    name: 'policy apply', summary: 'validate a policy file and store it', usage: 'meshfed policy apply -f FILE [--admin URL]',
    options: { ...ADMIN_OPTION, file: { type: 'string', short: 'f', value: 'FILE', description: 'the policy file (YAML or JSON)' } },
    details: 'Exit codes: 0 applied, 1 invalid (one `FILE: path: message` line per problem) or refused, 2 usage error.',
  }, argv);
  if (!parsed) return 0;
  const file = parsed.values.file;
  if (file === undefined) throw new UsageError('missing required option -f FILE');
  const text = readConfigText(file);
  if (!validateText(text, file)) return 1;
  const raw = parseDocument(text).toJS() as { namespace: string; name: string };
  const client = new AdminClient(resolveAdminUrl(parsed.values.admin));
  try {
    await client.call('PUT', `/v1/policies/${encodeURIComponent(raw.namespace)}/${encodeURIComponent(raw.name)}`, raw);
  } catch (e) {
    if (e instanceof MeshfedError && e.code === 'MESHFED_E_POLICY_INVALID') {
      process.stderr.write(`${file}: refused by the balancer:\n${(e.details.length > 0 ? e.details : [e.message]).join('\n')}\n`);
      return 1;
    }
    throw e;
  }
  process.stdout.write(`policy ${raw.namespace}/${raw.name} applied\n`);
  return 0;
}

async function validate(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand({
    name: 'policy validate', summary: 'check a policy file without applying it', usage: 'meshfed policy validate FILE',
    options: {}, allowPositionals: true,
    details: 'Exit codes: 0 valid, 1 invalid (one `FILE: path: message` line per problem), 2 usage error.',
  }, argv);
  if (!parsed) return 0;
  const [file, ...extra] = parsed.positionals;
  if (file === undefined || extra.length > 0) throw new UsageError('give exactly one policy file');
  if (!validateText(readConfigText(file), file)) return 1;
  process.stdout.write(`${file}: valid\n`);
  return 0;
}

async function get(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand({
    name: 'policy get', summary: 'show a stored policy', usage: 'meshfed policy get NS/NAME [--admin URL]',
    options: { ...ADMIN_OPTION, output: { type: 'string', short: 'o', value: 'json', description: 'output format (json only)', default: 'json' } },
    allowPositionals: true,
  }, argv);
  if (!parsed) return 0;
  if (parseOutput(parsed.values.output) !== 'json') throw new UsageError('--output: policy get prints json only');
  const [ns, name] = serviceArg(parsed.positionals);
  const r = await new AdminClient(resolveAdminUrl(parsed.values.admin)).get<{ policy: unknown }>(`/v1/policies/${ns}/${name}`);
  process.stdout.write(JSON.stringify(r.policy, null, 2) + '\n');
  return 0;
}

async function remove(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand({
    name: 'policy delete', summary: 'delete a stored policy (the default policy applies again)', usage: 'meshfed policy delete NS/NAME [--admin URL]',
    options: { ...ADMIN_OPTION }, allowPositionals: true,
  }, argv);
  if (!parsed) return 0;
  const [ns, name] = serviceArg(parsed.positionals);
  await new AdminClient(resolveAdminUrl(parsed.values.admin)).call('DELETE', `/v1/policies/${ns}/${name}`);
  process.stdout.write(`policy ${decodeURIComponent(ns)}/${decodeURIComponent(name)} deleted\n`);
  return 0;
}

export async function run(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'apply': return apply(rest);
    case 'validate': return validate(rest);
    case 'get': return get(rest);
    case 'delete': return remove(rest);
    case '--help':
    case '-h':
    case undefined:
      process.stdout.write(`meshfed policy — manage per-service routing policies\n\nUsage: meshfed policy ${SUBCOMMANDS}\n       meshfed policy <subcommand> --help\n`);
      return sub === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown subcommand "${sub}" (use ${SUBCOMMANDS})`);
  }
}
