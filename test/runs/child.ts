/**
 * The real server as a child process (`orchestrator serve --dev …` from the test bundle, or from
 * source with `TEST_CLI_FROM_SOURCE=1`: ../helpers/program.ts), for crash and drain tests: waits
 * for the `listening on` line and the dev token, gives a small client. Started and awaited by
 * ../helpers/serve-child.ts (a server that does not become ready is killed).
 */
import type { ChildProcess } from 'node:child_process';
import { PROGRAM_ARGS, tsEntry } from '../helpers/program.js';
import { childClient, spawnServe, type ChildAnswer, type Exit } from '../helpers/serve-child.js';

export interface Child {
  proc: ChildProcess;
  url: string;
  token: string;
  output(): string;
  req(method: string, path: string, body?: unknown): Promise<ChildAnswer>;
  exited: Promise<Exit>;
}

/** `opts.entry`/`opts.env`: another entry point printing the same lines (test/schedules/shifted-server.ts). */
export async function startChild(dataDir: string, extra: string[] = [], opts: { entry?: string; env?: Record<string, string> } = {}): Promise<Child> {
  // Another entry point is TypeScript of test/, run from the bundled test files (or with tsx:
  // tsEntry); the program itself starts from the bundle (about 0.5 s; from source, tsx compiles
  // src/ in the child: seconds of CPU on this machine).
  const argv = opts.entry
    ? [...tsEntry(opts.entry), dataDir, ...extra]
    : [...PROGRAM_ARGS, 'serve', '--dev', '--port', '0', '--data-dir', dataDir, '--allow-unsigned', '--workers', '2', '--log-level', 'warn', ...extra];
  const s = await spawnServe(argv, { env: opts.env, token: true });
  const req = childClient(s.url, s.token);
  return { proc: s.proc, url: s.url, token: s.token, exited: s.exited, output: () => s.stdout() + s.stderr(), req: (method, path, body) => req(method, path, body) };
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
