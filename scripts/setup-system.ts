// Finds, or installs with apt-get, the system binaries the tests start (run first by `npm test` and by .ci/run).
// In CI a binary that cannot be had fails the run; elsewhere the tests that need it are skipped, and this says why.
import { execFileSync, spawnSync } from 'node:child_process';

/** A binary some tests start, and the Debian package that ships it. */
interface SystemBinary {
  readonly command: string;
  readonly pkg: string;
  readonly usedBy: string;
}

/** What the test suite starts today. nginx joins this list once a test needs it. */
export const SYSTEM_BINARIES: readonly SystemBinary[] = [
  { command: 'etcd', pkg: 'etcd-server', usedBy: 'the etcd store tests, the replica and failover tests, and `meshfed up` on etcd' },
  { command: 'chromium', pkg: 'chromium', usedBy: 'the dashboard browser test (headless, through puppeteer-core)' },
  { command: 'haproxy', pkg: 'haproxy', usedBy: 'the native data plane tests (`meshfed proxy haproxy`, `meshfed up --proxy haproxy`)' },
  { command: 'nginx', pkg: 'nginx-light', usedBy: 'the nginx renderer test (`nginx -t` on the rendered outbound config) and `npm run bench -- nginx-reload`' },
];

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function canApt(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0 && onPath('apt-get');
}

function main(): number {
  const ci = process.env['CI'] === 'true' || process.env['CI'] === '1';
  const missing = SYSTEM_BINARIES.filter((b) => !onPath(b.command));
  if (missing.length === 0) {
    console.log(`setup: found ${SYSTEM_BINARIES.map((b) => b.command).join(', ')}`);
    return 0;
  }
  const pkgs = missing.map((b) => b.pkg);
  if (canApt()) {
    console.log(`setup: installing ${pkgs.join(' ')} with apt-get (missing: ${missing.map((b) => b.command).join(', ')})`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    try {
      execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
      execFileSync('apt-get', ['install', '-y', '-qq', ...pkgs], { stdio: 'inherit', env });
    } catch (e) {
      console.error(`setup: apt-get could not install ${pkgs.join(' ')}: ${(e as Error).message}`);
    }
  }
  const still = SYSTEM_BINARIES.filter((b) => !onPath(b.command));
  if (still.length === 0) return 0;
  for (const b of still) {
    const why = `setup: ${b.command} is not installed${canApt() ? ' and apt-get could not install it' : ' (not root, or no apt-get)'}; install it with: apt-get install -y ${b.pkg}`;
    if (ci) console.error(`${why}. CI needs it for ${b.usedBy}.`);
    else console.log(`${why}. Skipping ${b.usedBy}.`);
  }
  return ci ? 1 : 0;
}

process.exit(main());
