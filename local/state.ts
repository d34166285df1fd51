// The `.meshfed/up.json` file: how `down`, `status`, `fault` and the admin client find a running local federation.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { localError } from './errors.ts';

/** The default state directory, relative to the working directory. */
export const DEFAULT_STATE_DIR = '.meshfed';

/** The state directory every command uses unless told otherwise: $MESHFED_STATE_DIR, else DEFAULT_STATE_DIR. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env['MESHFED_STATE_DIR'];
  return dir !== undefined && dir !== '' ? dir : DEFAULT_STATE_DIR;
}

const sidecarSchema = z.object({
  service: z.string(), version: z.string(), instance: z.string(), adminUrl: z.string(),
  /** The supervised process running this instance's app and sidecar, `app-<zone>-<instance>` (see components). */
  component: z.string().optional(),
  /** The sample app's own URL (behind the sidecar). */
  appUrl: z.string().optional(),
});

const holdSchema = z.object({
  id: z.string(),
  since: z.string(),
  until: z.string(),
  kill: z.boolean(),
  down: z.boolean(),
});

const componentSchema = z.object({
  name: z.string(),
  /** The current process; updated when the component restarts. */
  pid: z.number().int(),
  logFile: z.string(),
  /** The zone of agent-, gateway- and app- components. */
  zone: z.string().optional(),
  /** Restarts since `meshfed up` started (absent in files written before restarts). */
  restarts: z.number().int().optional(),
  /** How the last exit went, e.g. "signal SIGKILL", once it restarted. */
  lastExit: z.string().optional(),
  /** The `meshfed hold` in force, as the supervisor applied it; `down` while the process is kept down (pid is then the last one). */
  hold: holdSchema.optional(),
});
const zoneSchema = z.object({
  name: z.string(),
  locality: z.string(),
  frontendUrl: z.string().optional(),
  agentAdminUrl: z.string(),
  /** The east-west gateway's listener, host:port. */
  gateway: z.string(),
  /** The gateway's admin URL (/ready, /stats, /metrics); absent in files written before the gateway ran on its own. */
  gatewayAdminUrl: z.string().optional(),
  sidecars: z.array(sidecarSchema),
});

/** What up.json holds. Machine-readable; fields are only ever added. */
export const upStateSchema = z.object({
  version: z.literal(1),
  /** The `meshfed up` process; SIGTERM to it stops everything. */
  pid: z.number().int(),
  startedAt: z.string(),
  store: z.enum(['etcd', 'memory']),
  /** Client URLs of every etcd member when store is etcd, in member order (the k-th is component etcd-k's); absent in older files. */
  etcdEndpoints: z.array(z.string()).optional(),
  /** Where each member answers /health without a certificate (its plain metrics port), in member order. */
  etcdHealthUrls: z.array(z.string()).optional(),
  /** The client certificate meshfed's own tools use on etcd (members require one), and the CA of the members. */
  etcdTls: z.object({ ca: z.string(), cert: z.string(), key: z.string() }).optional(),
  /** Files (0600) holding the bearer tokens every admin port of this federation takes, by role. */
  adminTokens: z.object({ read: z.string(), write: z.string() }).optional(),
  adminUrl: z.string(),
  adminUrls: z.array(z.string()),
  metricsUrls: z.array(z.string()),
  logDir: z.string(),
  runDir: z.string(),
  zones: z.array(zoneSchema),
  components: z.array(componentSchema),
});

export type UpState = z.infer<typeof upStateSchema>;

/** The path of up.json in a state directory. */
export function upStatePath(stateDir: string = DEFAULT_STATE_DIR): string {
  return resolve(join(stateDir, 'up.json'));
}

/** Writes up.json atomically (a reader never sees half a file). */
export function writeUpState(stateDir: string, state: UpState): void {
  const path = upStatePath(stateDir);
  writeFileSync(`${path}.tmp`, JSON.stringify(state, null, 2) + '\n');
  renameSync(`${path}.tmp`, path);
}

/** Reads up.json; undefined when there is none. Throws with the file name when it is not a valid state file. */
export function readUpState(stateDir: string = DEFAULT_STATE_DIR): UpState | undefined {
  const path = upStatePath(stateDir);
  if (!existsSync(path)) return undefined;
  const parsed = upStateSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) throw localError('MESHFED_E_UP_STATE_INVALID', `${path}: not a meshfed up state file (${parsed.error.issues[0]?.message ?? 'invalid'}); remove it and run meshfed up again`);
  return parsed.data;
}

/** up.json, or undefined when there is none or it cannot be read right now (mid-rename, or not a state file). */
export function readUpStateQuiet(stateDir: string = DEFAULT_STATE_DIR): UpState | undefined {
  try {
    return readUpState(stateDir);
  } catch {
    return undefined;
  }
}

/** The bearer token of `role` for this federation's admin ports, read from up.json's token file; undefined without one. */
export function upAdminToken(state: UpState | undefined, role: 'read' | 'write' = 'write'): string | undefined {
  const file = state?.adminTokens?.[role];
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}
