// Finds and launches the system's headless Chromium for the browser tests and the ui bench (puppeteer-core drives it).
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import puppeteer, { type Browser } from 'puppeteer-core';

/** The system Chromium: $CHROMIUM, /usr/bin/chromium, or `chromium` on PATH (Debian's package; setup installs it). */
export function chromiumPath(): string {
  const candidates = [process.env['CHROMIUM'], '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => p !== undefined && p !== '');
  const found = candidates.find((p) => existsSync(p));
  if (found) return found;
  return execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim();
}

/** Launches headless Chromium; without a sandbox, because CI runs as root. */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return puppeteer.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', ...extraArgs] });
}
