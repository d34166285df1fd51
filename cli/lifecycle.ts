// The lifecycle of long-running commands: announce the bound ports once, then run until SIGINT or SIGTERM.

/**
 * Prints one machine-readable line on stdout, `{"event":"listening",...}`, so supervisors (meshfed up) and tests
 * learn the bound ports without parsing logs.
 */
export function announceListening(fields: Readonly<Record<string, string | number | undefined>>): void {
  process.stdout.write(JSON.stringify({ event: 'listening', ...fields }) + '\n');
}

/** Resolves with the signal's name at the first SIGINT or SIGTERM. */
export function untilStopSignal(): Promise<'SIGINT' | 'SIGTERM'> {
  return new Promise((resolve) => {
    const onInt = () => done('SIGINT');
    const onTerm = () => done('SIGTERM');
    const done = (signal: 'SIGINT' | 'SIGTERM') => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(signal);
    };
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
  });
}
