// Test harness for end-to-end runs of `meshfed up`: start it as a user would, drive the CLI, send requests, poll.
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request, Agent } from 'undici';
import { killGroup } from '../../local/supervisor.ts';
import { upAdminToken, type UpState } from '../../local/state.ts';
import { hopZones, type SampleReply } from '../../local/sample-app.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(ROOT, 'cli', 'meshfed.ts');

/** Runs `meshfed ARGS` with this Node binary; never throws. */
export function cli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [CLI, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** One request to a frontend: when it started, its status, the zone of every hop, and the reply body. */
export interface Hit {
  readonly start: number;
  readonly status: number;
  readonly hops: { service: string; zone: string }[];
  readonly body: string;
}

export async function hit(agent: Agent, url: string, headers: Record<string, string> = {}): Promise<Hit> {
  const start = Date.now();
  try {
    const res = await request(url, { dispatcher: agent, headers, headersTimeout: 10_000, bodyTimeout: 10_000 });
    const body = await res.body.text();
    return { start, status: res.statusCode, hops: res.statusCode === 200 ? hopZones(JSON.parse(body) as SampleReply) : [], body };
  } catch (e) {
    return { start, status: 0, hops: [], body: String(e) };
  }
}

/** n requests with `concurrency` in flight. */
export async function burst(agent: Agent, url: string, n: number, concurrency = 8): Promise<Hit[]> {
  const out: Hit[] = [];
  let i = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (i++ < n) out.push(await hit(agent, url));
  }));
  return out;
}

/** A running steady load (see steady). */
export interface Steady {
  readonly hits: Hit[];
  stop(): Promise<Hit[]>;
}

/** Steady loads still running, stopped with their federation, so a failed assertion never leaves a request loop running. */
const stopped = new Set<Steady>();

/** Requests at a modest steady rate (one every `everyMs` per worker) until stopped; keeps every hit. */
export function steady(agent: Agent, url: string, everyMs = 100, workers = 1): Steady {
  const hits: Hit[] = [];
  let running = true;
  const loops = Promise.all(Array.from({ length: workers }, async () => {
    while (running) {
      const t = Date.now();
      hits.push(await hit(agent, url));
      const wait = everyMs - (Date.now() - t);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }));
  const handle: Steady = {
    hits,
    stop: async () => {
      running = false;
      stopped.delete(handle);
      await loops;
      return hits;
    },
  };
  stopped.add(handle);
  return handle;
}

/** A target of a weight row, as `meshfed weights --output json` prints it. */
export interface TargetJson { zone: string; basisPoints: number; tier: number; reason: string }
export interface RowJson { sourceZone: string; targets: TargetJson[]; panic: boolean; exclusive?: boolean; unavailableReason?: string }
export interface TableJson { version: string; computedAt: number; rows: RowJson[] }

export async function weights(env: NodeJS.ProcessEnv, service: string): Promise<TableJson> {
  const r = await cli(env, 'weights', service, '--output', 'json');
  assert.equal(r.code, 0, `meshfed weights ${service}: ${r.stderr}`);
  return JSON.parse(r.stdout) as TableJson;
}

/** The same table straight from the admin API (no CLI process per poll, so polls are cheap and timing is fine). */
export async function tableOf(up: Up, service: string): Promise<TableJson | undefined> {
  const [ns, name] = service.includes('/') ? service.split('/') : ['shop', service];
  const res = await request(`${up.state.adminUrl}/v1/weights/${ns}/${name}`, { dispatcher: up.agent, headersTimeout: 5000, bodyTimeout: 5000, headers: up.auth });
  const text = await res.body.text();
  return res.statusCode === 200 ? (JSON.parse(text) as TableJson) : undefined;
}

export function rowOf(t: TableJson, source: string): RowJson {
  const row = t.rows.find((r) => r.sourceZone === source);
  assert.ok(row, `no row for ${source} in ${JSON.stringify(t)}`);
  return row;
}

/** Shares (fractions) per target zone of one source's row. */
export function sharesOf(t: TableJson, source: string): Map<string, number> {
  return new Map(rowOf(t, source).targets.map((x) => [x.zone, x.basisPoints / 10000]));
}

/** Asserts that observed shares match the weights' shares within `tolerance` (a fraction), zone by zone. */
export function assertShares(what: string, expected: Map<string, number>, got: { n: number; share: Map<string, number> }, tolerance = 0.05): void {
  for (const zone of new Set([...expected.keys(), ...got.share.keys()])) {
    const e = expected.get(zone) ?? 0;
    const g = got.share.get(zone) ?? 0;
    assert.ok(Math.abs(e - g) <= tolerance, `${what}: ${zone} served ${(100 * g).toFixed(1)}% of ${got.n}, meshfed weights says ${(100 * e).toFixed(1)}% (±${tolerance * 100}%)`);
  }
}

/** Basis points per target zone of one source's row. */
export function bpOf(t: TableJson, source: string): Map<string, number> {
  return new Map(rowOf(t, source).targets.map((x) => [x.zone, x.basisPoints]));
}

/** Polls f every 200 ms until it returns a value; a failed assertion inside is a verdict, not a reason to retry. */
export async function until<T>(what: string, ms: number, f: () => Promise<T | undefined> | T | undefined, everyMs = 200): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** True when a GET of `url` answers 2xx within 3 s. */
export async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** Observed share per zone of one hop, among hits whose previous hop (if `from` is given) ran in `from`. */
export function observed(hits: readonly Hit[], hop: number, from?: string): { n: number; share: Map<string, number> } {
  const counts = new Map<string, number>();
  let n = 0;
  for (const h of hits) {
    if (h.hops.length <= hop) continue;
    if (from !== undefined && h.hops[hop - 1]!.zone !== from) continue;
    n++;
    counts.set(h.hops[hop]!.zone, (counts.get(h.hops[hop]!.zone) ?? 0) + 1);
  }
  return { n, share: new Map([...counts].map(([z, c]) => [z, c / n])) };
}

/** A running `meshfed up`. */
export interface Up {
  readonly env: NodeJS.ProcessEnv;
  readonly state: UpState;
  readonly stateDir: string;
  readonly agent: Agent;
  /** The federation's write token (every admin port requires a token), and the header that carries it. */
  readonly token: string;
  readonly auth: { readonly authorization: string };
  /** Everything up printed so far. */
  output(): string;
  frontend(zone: string): string;
  /** Writes a file into the state dir (policies, federation files) and returns its path. */
  file(name: string, text: string): string;
  stop(): Promise<void>;
}

/**
 * Starts `meshfed up ARGS` in a fresh state dir and waits for "ready". `files` are written into the state dir first
 * (e.g. a federation file the args name as `{dir}/name`).
 */
export async function startUp(args: readonly string[], files: Record<string, string> = {}): Promise<Up> {
  const stateDir = mkdtempSync(join(tmpdir(), 'meshfed-e2e-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(stateDir, name), text);
  const env: NodeJS.ProcessEnv = { ...process.env, MESHFED_STATE_DIR: stateDir };
  delete env['MESHFED_ADMIN'];
  const agent = new Agent({ connections: 16 });
  let output = '';
  const realArgs = args.map((a) => a.replaceAll('{dir}', stateDir));
  const child: ChildProcess = spawn(process.execPath, [CLI, 'up', '--state-dir', stateDir, ...realArgs], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  let exited = false;
  const exit = new Promise<void>((r) => child.once('exit', () => { exited = true; r(); }));
  let state: UpState | undefined;
  const stop = async () => {
    await Promise.all([...stopped].map((l) => l.stop()));
    await agent.close().catch(() => {});
    if (!exited) {
      killGroup(child.pid, 'SIGTERM');
      await Promise.race([exit, new Promise((r) => setTimeout(r, 20_000))]);
      killGroup(child.pid, 'SIGKILL');
    }
    for (const c of state?.components ?? []) killGroup(c.pid, 'SIGKILL');
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    await until('meshfed up to print "ready"', 150_000, async () => {
      if (exited) throw new Error(`meshfed up exited early:\n${output}`);
      return /^ready$/m.test(output) ? true : undefined;
    }, 250);
    state = JSON.parse(readFileSync(join(stateDir, 'up.json'), 'utf8')) as UpState;
  } catch (e) {
    await stop();
    // Where it stopped is in what up printed last (the step after the last progress line is the one that hung).
    throw exited ? e : new Error(`${(e as Error).message}\nmeshfed up printed:\n${output.slice(-3000)}`, { cause: e });
  }
  const s = state;
  const token = upAdminToken(s) ?? '';
  return {
    env, state: s, stateDir, agent, token, auth: { authorization: `Bearer ${token}` },
    output: () => output,
    frontend: (zone) => {
      const url = s.zones.find((z) => z.name === zone)?.frontendUrl;
      assert.ok(url, `no frontend in ${zone}`);
      return url;
    },
    file: (name, text) => {
      const path = join(stateDir, name);
      writeFileSync(path, text);
      return path;
    },
    stop,
  };
}
