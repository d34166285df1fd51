// `npm run bench -- NAME [args]` runs bench/NAME.ts; with no name it lists the benchmarks; `NAME --help` prints the
// leading comment of bench/NAME.ts without running it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const names = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.test.ts'))
  .map((f) => f.slice(0, -3))
  .sort();
const [name, ...args] = process.argv.slice(2);
if (name === undefined || name === '--help' || !names.includes(name)) {
  console.log(`usage: npm run bench -- <name> [args]\nbenchmarks: ${names.join(', ') || '(none yet)'}\nresults are recorded in bench/README.md`);
  process.exit(name === undefined || name === '--help' ? 0 : 2);
}
if (args.includes('--help') || args.includes('-h')) {
  const source = readFileSync(join(import.meta.dirname, `${name}.ts`), 'utf8').split('\n');
  const end = source.findIndex((l) => !l.startsWith('//'));
  const about = source.slice(0, end === -1 ? source.length : end).map((l) => l.replace(/^\/\/ ?/, ''));
  console.log(`usage: npm run bench -- ${name} [args]\n${about.join('\n')}\nflags and recorded results: bench/README.md`);
  process.exit(0);
}
const mod = (await import(`./${name}.ts`)) as { main(args: string[]): Promise<void> };
await mod.main(args);
