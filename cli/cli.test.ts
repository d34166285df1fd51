// The meshfed CLI as users run it: top-level help lists every command, each command has --help, bad input exits 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { COMMANDS } from './commands.ts';
import { UsageError, helpText, parseCommand, parseDuration, parseHostPort, parseOutput, renderTable, required } from './args.ts';

const ROOT = join(import.meta.dirname, '..');
const MESHFED = join(ROOT, 'cli', 'meshfed.ts');

interface Run { code: number | null; stdout: string; stderr: string }

/** Runs `node cli/meshfed.ts ...args` with Node 24 (process.execPath inside the test runner). */
function meshfed(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MESHFED, ...args], { cwd: ROOT, timeout: 60_000, env: { ...process.env, MESHFED_LOG_LEVEL: 'error' } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

test('meshfed --help lists every registered command with its summary and exits 0', async () => {
  const r = await meshfed('--help');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Usage: meshfed <command>/m);
  for (const c of COMMANDS) {
    const line = r.stdout.split('\n').find((l) => l.trim().startsWith(`${c.name} `));
    assert.ok(line, `--help does not list ${c.name}`);
    assert.ok(line.includes(c.summary), `--help shows ${c.name} without its summary`);
  }
});

test('meshfed with no command prints help and exits 2', async () => {
  const r = await meshfed();
  assert.equal(r.code, 2);
  assert.match(r.stdout, /Commands:/);
});

test('command names are unique and kebab-case', () => {
  const names = COMMANDS.map((c) => c.name);
  assert.equal(new Set(names).size, names.length, `duplicate command in ${names.join(', ')}`);
  for (const n of names) assert.match(n, /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
});

// Dynamic over COMMANDS, so a command registered later is covered without touching this file.
for (const c of COMMANDS) {
  test(`meshfed ${c.name} --help exits 0 and prints its usage`, async () => {
    const r = await meshfed(c.name, '--help');
    assert.equal(r.code, 0, `exit ${String(r.code)}\n${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^Usage: meshfed ${c.name}\\b`, 'm'));
    assert.equal(r.stderr, '', 'help goes to stdout and nothing else is printed');
  });

  test(`meshfed ${c.name} rejects an unknown flag with exit 2`, async () => {
    const r = await meshfed(c.name, '--no-such-flag-xyz');
    assert.equal(r.code, 2, `exit ${String(r.code)}\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /--no-such-flag-xyz/);
    assert.match(r.stderr, new RegExp(`meshfed ${c.name} --help`));
  });
}

test('an unknown command exits 2 and names it', async () => {
  const r = await meshfed('frobnicate');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command "frobnicate"/);
});

test('meshfed version prints the package version, also as JSON', async () => {
  const r = await meshfed('version', '--output', 'json');
  assert.equal(r.code, 0, r.stderr);
  const v = JSON.parse(r.stdout) as { meshfed: string; node: string };
  assert.match(v.meshfed, /^\d+\.\d+\.\d+/);
  assert.equal(v.node, process.version);
});

test('argument helpers: durations, host:port, output format and required options fail as usage errors', () => {
  assert.equal(parseDuration('1.5s', 'timeout'), 1500);
  assert.throws(() => parseDuration('5', 'timeout'), (e: Error) => e instanceof UsageError && e.message.startsWith('--timeout: "5" is not a duration'));
  assert.deepEqual(parseHostPort('[::1]:80', 'listen'), { host: '::1', port: 80 });
  assert.throws(() => parseHostPort('localhost', 'listen'), (e: Error) => e instanceof UsageError && e.message === '--listen: "localhost" is not HOST:PORT');
  assert.equal(parseOutput(undefined), 'table');
  assert.equal(parseOutput('json'), 'json');
  assert.throws(() => parseOutput('yaml'), UsageError);
  assert.throws(() => required(undefined, 'zone'), { message: 'missing required option --zone' });
});

test('parseCommand types values, applies defaults and turns bad flags into UsageError', () => {
  const spec = {
    name: 'demo', summary: 'demo', usage: 'meshfed demo [--zone ZONE]',
    options: { zone: { type: 'string', description: 'zone', default: 'z1' }, verbose: { type: 'boolean', short: 'v', description: 'more' } },
  } as const;
  const parsed = parseCommand(spec, ['-v']);
  assert.deepEqual({ ...parsed?.values }, { zone: 'z1', verbose: true });
  assert.throws(() => parseCommand(spec, ['--zonee', 'x']), UsageError);
  assert.throws(() => parseCommand(spec, ['extra']), UsageError);
  const help = helpText(spec);
  assert.match(help, /^Usage: meshfed demo/m);
  assert.match(help, /--zone VALUE +zone \(default: z1\)/);
  assert.match(help, /-v, --verbose +more/);
});

test('renderTable aligns columns without trailing spaces', () => {
  assert.equal(renderTable(['ZONE', 'WEIGHT'], [['us-east-1a', '7000'], ['b', '3000']]), 'ZONE        WEIGHT\nus-east-1a  7000\nb           3000\n');
});
