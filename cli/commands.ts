// The list of meshfed commands. Each entry loads its module lazily, so `meshfed --help` stays fast.

/** What every command module exports. The return value is the process exit code. */
export interface CommandModule {
  run(argv: readonly string[]): Promise<number>;
}

export interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  readonly load: () => Promise<CommandModule>;
}

/** Ordered as `meshfed --help` shows them. */
export const COMMANDS: readonly CommandEntry[] = [
  { name: 'version', summary: 'print the meshfed and Node.js versions', load: () => import('./version.ts') },
];
