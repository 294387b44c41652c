/**
 * The program's `serve` as a real child process, started and awaited one way for every test
 * that needs a server in its own process (crash, drain, sandbox, reload, several nodes):
 * {@link spawnServe} waits for the `listening on` line (and the dev token when asked), kills a
 * server that does not get there, and keeps its output; {@link childClient} is the small client
 * the tests drive it with; {@link startServer} adds readiness, SIGHUP and JSON log lines.
 *
 * @example const s = await spawnServe([...PROGRAM_ARGS, 'serve', '--dev', '--port', '0', '--data-dir', dir], { token: true });
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
export { childClient, type ChildAnswer } from './base.js';
import { PROGRAM_ARGS } from './program.js';
import { until } from './wait.js';

const ROOT = join(import.meta.dirname, '..', '..');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A spawned server that printed its URL (and its dev token when asked for). */
export interface Spawned {
  proc: ChildProcess;
  url: string;
  /** The dev token (`export TOKEN=…` on stderr); '' unless `token` was asked for. */
  token: string;
  /** Milliseconds from spawn to the lines awaited. */
  startMs: number;
  stdout(): string;
  stderr(): string;
  exited: Promise<Exit>;
}

/**
 * Spawns `node ARGV` and waits for its `listening on URL` line (and, with `token`, the dev
 * token's line). A child that exits first, or is not there in 30 s, is killed and fails the
 * call with its output, so that it cannot keep the test file's process alive.
 */
export async function spawnServe(argv: string[], opts: { cwd?: string; env?: Record<string, string>; token?: boolean } = {}): Promise<Spawned> {
  const t0 = Date.now();
  const proc = spawn(process.execPath, argv, { cwd: opts.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  let out = '';
  let err = '';
  const exited = new Promise<Exit>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise<{ url: string; token: string }>((resolve, reject) => {
    const check = () => {
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      const token = opts.token ? /export TOKEN=(\S+)/.exec(err)?.[1] : '';
      if (url && token !== undefined) resolve({ url, token });
    };
    proc.stdout!.setEncoding('utf8').on('data', (c: string) => ((out += c), check()));
    proc.stderr!.setEncoding('utf8').on('data', (c: string) => ((err += c), check()));
    void exited.then(({ code, signal }) => reject(new Error(`server exited (${code ?? signal}) before it listened:\n${out}\n${err}`)));
    setTimeout(() => reject(new Error(`server did not start in 30 s:\n${out}\n${err}`)), 30_000).unref();
  });
  const { url, token } = await ready.catch((e: unknown) => {
    proc.kill('SIGKILL');
    throw e;
  });
  return { proc, url, token, startMs: Date.now() - t0, stdout: () => out, stderr: () => err, exited };
}

export interface ServeChild {
  url: string;
  logs(): Array<Record<string, any>>;
  hup(): void;
  alive(): boolean;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (a node that dies); resolves once it has exited. */
  kill(): Promise<void>;
}

/** Starts `orchestrator serve ARGS` in `cwd` and waits until it is ready (health 200). */
export async function startServer(args: string[], cwd: string): Promise<ServeChild> {
  const s = await spawnServe([...PROGRAM_ARGS, 'serve', ...args], { cwd });
  let exited = false;
  const exit = s.exited.then(({ code }) => ((exited = true), code));
  await until(async () => (await fetch(`${s.url}/api/v1/orchestrator/admin/health`)).status === 200, 'the server is ready');
  return {
    url: s.url,
    logs: () => s.stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>),
    hup: () => s.proc.kill('SIGHUP'),
    alive: () => !exited,
    async stop() {
      if (!exited) s.proc.kill('SIGTERM');
      return exit;
    },
    async kill() {
      if (!exited) s.proc.kill('SIGKILL');
      await exit;
    },
  };
}
