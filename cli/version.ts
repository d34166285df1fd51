// `meshfed version`: prints the meshfed and Node.js versions.
import { readFileSync } from 'node:fs';
import { parseCommand } from './args.ts';

const spec = {
  name: 'version',
  summary: 'print the meshfed and Node.js versions',
  usage: 'meshfed version [--output table|json]',
  options: { output: { type: 'string', description: 'table or json', value: 'FORMAT' } },
} as const;

export async function run(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  if (parsed.values.output === 'json') process.stdout.write(JSON.stringify({ meshfed: pkg.version, node: process.version }) + '\n');
  else process.stdout.write(`meshfed ${pkg.version} (node ${process.version})\n`);
  return 0;
}
