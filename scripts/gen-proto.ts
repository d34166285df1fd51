// Regenerates api/generated/ from api/meshfed/v1/*.proto (`npm run gen`). A test fails when the output differs.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, cpSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';

export const ROOT = join(import.meta.dirname, '..');
export const PROTO_DIR = join(ROOT, 'api');
export const GENERATED_DIR = join(ROOT, 'api', 'generated');
const HEADER = '// Generated from api/meshfed/v1/*.proto by `npm run gen` (proto-loader-gen-types). Do not edit.\n';

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** The proto files, relative to api/. */
export function protoFiles(): string[] {
  return walk(join(PROTO_DIR, 'meshfed')).filter((f) => f.endsWith('.proto')).map((f) => relative(PROTO_DIR, f)).sort();
}

/** Generates the types into outDir. */
export function generate(outDir: string): void {
  const bin = join(ROOT, 'node_modules', '@grpc', 'proto-loader', 'build', 'bin', 'proto-loader-gen-types.js');
  execFileSync(process.execPath, [
    bin, ...protoFiles(), '--grpcLib=@grpc/grpc-js', '--keepCase', '--longs=String', '--enums=String', '--defaults', '--oneofs',
    '--includeComments', '--importFileExtension=.ts', `--outDir=${outDir}`, `--includeDirs=${PROTO_DIR}`,
  ], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  for (const f of walk(outDir)) writeFileSync(f, HEADER + readFileSync(f, 'utf8').replaceAll(`${ROOT}/`, ''));
}

if (import.meta.main) {
  const tmp = mkdtempSync(join(tmpdir(), 'meshfed-gen-'));
  try {
    generate(tmp);
    rmSync(GENERATED_DIR, { recursive: true, force: true });
    cpSync(tmp, GENERATED_DIR, { recursive: true });
    console.log(`generated ${walk(GENERATED_DIR).length} files into api/generated/`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
