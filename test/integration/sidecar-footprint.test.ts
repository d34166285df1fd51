// The data plane's module footprint: loading the sidecar does not load @peculiar/x509 (and its tsyringe/reflect-metadata).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

test('importing the sidecar (the `meshfed sidecar --config` path) leaves @peculiar/x509 unloaded; the CA side still loads it', () => {
  const loaded = (entry: string): string[] => {
    const script = `import { createRequire } from 'node:module';
await import(${JSON.stringify(join(root, entry))});
console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as string[];
  };
  const heavy = (mods: string[]) => mods.filter((m) => /node_modules\/(@peculiar\/x509|tsyringe)\//.test(m));
  // ~4.5 MB of RSS and ~100 ms of start-up (bench/README.md): certificate issuance needs it, a proxy does not.
  assert.deepEqual(heavy(loaded('sidecar/index.ts')), []);
  assert.notDeepEqual(heavy(loaded('trust/index.ts')), [], 'control: the full trust API does load it');
});
