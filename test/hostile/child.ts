/**
 * The real server as a child process, for crash tests that start it dozens of times: the test
 * bundle (scripts/test-bundle.mjs; about 0.5 s a start, 2-3 s from source with tsx), one
 * worker thread, errors only in its log. Started and awaited by ../helpers/serve-child.ts.
 */
import type { ChildProcess } from 'node:child_process';
import { PROGRAM_ARGS } from '../helpers/program.js';
import { childClient, spawnServe, type ChildAnswer, type Exit } from '../helpers/serve-child.js';

export interface Child {
  proc: ChildProcess;
  url: string;
  token: string;
  /** Milliseconds from spawn to ready. */
  startMs: number;
  exited: Promise<Exit>;
  req(method: string, path: string, body?: unknown, tenant?: string, extraHeaders?: Record<string, string>): Promise<ChildAnswer>;
}

/** Starts `orchestrator serve --dev` on `dataDir` (port 0) and waits for its URL and admin token. */
export async function startChild(dataDir: string, extra: string[] = []): Promise<Child> {
  const s = await spawnServe(
    [...PROGRAM_ARGS, 'serve', '--dev', '--port', '0', '--data-dir', dataDir, '--allow-unsigned', '--workers', '1', '--log-level', 'error', ...extra],
    { token: true },
  );
  return { proc: s.proc, url: s.url, token: s.token, startMs: s.startMs, exited: s.exited, req: childClient(s.url, s.token) };
}
