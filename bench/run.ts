// `npm run bench -- NAME [args]` runs bench/NAME.ts; with no name it lists the benchmarks.
import { readdirSync } from 'node:fs';

const names = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.test.ts'))
  .map((f) => f.slice(0, -3))
  .sort();
const [name, ...args] = process.argv.slice(2);
if (name === undefined || name === '--help' || !names.includes(name)) {
  console.log(`usage: npm run bench -- <name> [args]\nbenchmarks: ${names.join(', ') || '(none yet)'}\nresults are recorded in bench/README.md`);
  process.exit(name === undefined || name === '--help' ? 0 : 2);
}
const mod = (await import(`./${name}.ts`)) as { main(args: string[]): Promise<void> };
await mod.main(args);
