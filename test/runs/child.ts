/**
 * The real server as a child process (`orchestrator serve --dev …` from the test bundle, or from
 * source with `TEST_CLI_FROM_SOURCE=1`: ../helpers/program.ts), for crash and drain tests: waits
 * for the `listening on` line and the dev token, gives a small client. A server that does not
 * become ready is killed, so that it cannot keep the test file's process alive.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { BASE, send } from '../helpers/base.js';
import { PROGRAM_ARGS, tsEntry } from '../helpers/program.js';

const ROOT = join(import.meta.dirname, '..', '..');

export interface Child {
  proc: ChildProcess;
  url: string;
  token: string;
  output(): string;
  req(method: string, path: string, body?: unknown): Promise<{ status: number; body: any; headers: Headers }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `opts.entry`/`opts.env`: another entry point printing the same lines (test/schedules/shifted-server.ts). */
export async function startChild(dataDir: string, extra: string[] = [], opts: { entry?: string; env?: Record<string, string> } = {}): Promise<Child> {
  // Another entry point is TypeScript of test/, run from the bundled test files (or with tsx:
  // tsEntry); the program itself starts from the bundle (about 0.5 s; from source, tsx compiles
  // src/ in the child: seconds of CPU on this machine).
  const args = opts.entry
    ? [...tsEntry(opts.entry), dataDir, ...extra]
    : [...PROGRAM_ARGS, 'serve', '--dev', '--port', '0', '--data-dir', dataDir, '--allow-unsigned', '--workers', '2', '--log-level', 'warn', ...extra];
  const proc = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  let out = '';
  let err = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<{ url: string; token: string }>((resolve, reject) => {
    const check = () => {
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      const token = /export TOKEN=(\S+)/.exec(err)?.[1];
      if (url && token) resolve({ url, token });
    };
    proc.stdout!.setEncoding('utf8').on('data', (c: string) => ((out += c), check()));
    proc.stderr!.setEncoding('utf8').on('data', (c: string) => ((err += c), check()));
    void exited.then(({ code }) => reject(new Error(`server exited (${code}) before it listened:\n${out}\n${err}`)));
    setTimeout(() => reject(new Error(`server did not start in 30 s:\n${out}\n${err}`)), 30_000).unref();
  });
  const { url, token } = await ready.catch((e: unknown) => {
    proc.kill('SIGKILL');
    throw e;
  });
  return {
    proc,
    url,
    token,
    exited,
    output: () => out + err,
    async req(method, path, body) {
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'x-stella-tenant': 'demo' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await send(url + BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
    },
  };
}

/** Polls a run until `pred` holds. */
export async function childWait(c: Child, runId: string, pred: (run: any) => boolean, timeoutMs = 30_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let last: any;
  while (Date.now() < deadline) {
    const r = await c.req('GET', `/runs/${runId}`);
    last = r.body;
    if (r.status === 200 && pred(r.body)) return r.body;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error(`run ${runId}: condition not met (last status ${last?.status})`);
}
