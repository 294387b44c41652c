/**
 * Drives the CLI as a child process (the test bundle, `node main.cjs …`, or from source with
 * `TEST_CLI_FROM_SOURCE=1`: see ../helpers/program.ts) against a real server on port 0, with an
 * environment that holds only what the test gives it (no ORCH_* or NO_COLOR leaking in from the
 * caller).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PROGRAM_ARGS } from '../helpers/program.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { publish, type DagSpec } from '../runs/helpers.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const CLI_PLUGINS = join(ROOT, 'test', 'fixtures', 'plugins', 'cli');

export interface CliResult {
  code: number;
  stdout: string;
  /** stdout as bytes (binary output). */
  bytes: Buffer;
  stderr: string;
}

/** The caller's environment without ORCH_*, NO_COLOR and FORCE_COLOR. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ORCH_') && k !== 'NO_COLOR' && k !== 'FORCE_COLOR') env[k] = v;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** At most this many CLI children of one test file at a time: the machine is shared (2 cores). */
const MAX_CHILDREN = 2;
let running = 0;
const waiting: Array<() => void> = [];

async function slot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= MAX_CHILDREN) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Runs `orchestrator ARGS` to its end (killed after `timeoutMs`, 10 minutes by default: a safety net only). */
export function cli(args: string[], opts: { env?: Record<string, string | undefined>; input?: string; cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return slot(() => run(args, opts));
}

function run(args: string[], opts: { env?: Record<string, string | undefined>; input?: string; cwd?: string; timeoutMs?: number }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...PROGRAM_ARGS, ...args], { cwd: opts.cwd ?? ROOT, env: cleanEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const bytes = Buffer.concat(out);
      resolve({ code: code ?? (signal ? -1 : 0), stdout: bytes.toString('utf8'), bytes, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** `JSON.parse` with the CLI's output in the message when it is not JSON. */
export function parseJson(r: CliResult): any {
  try {
    return JSON.parse(r.stdout);
  } catch {
    assert.fail(`stdout is not JSON (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}

export function parseNdjson(text: string): any[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

export interface ClientWorld {
  t: TestServer;
  /** Environment pointing the CLI at the server as tenant `a` with an admin token. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** A real server (unsigned DAGs allowed, the CLI test plugins, a high rate limit) and the CLI's environment. */
export async function clientWorld(dags: DagSpec[] = [], extra: string[] = []): Promise<ClientWorld> {
  const t = await startTestServer(['--allow-unsigned', '--plugins-dir', CLI_PLUGINS, '--rate-limit', '1000', ...extra]);
  for (const d of dags) await publish(t, d);
  // Valid for a day: on a loaded machine a test file can run for longer than the default 10 minutes.
  const token = await t.token({ tenants: ['a'], scopes: ['orchestrator:admin'], ttlSec: 86_400 });
  // The test's own requests use that token too (the helper's default one lives 10 minutes).
  const longLived: TestServer = { ...t, req: (method, path, o = {}) => t.req(method, path, { ...o, token: o.token === undefined ? token : o.token }) };
  return { t: longLived, env: { ORCH_SERVER: t.url, ORCH_TOKEN: token }, stop: () => t.stop() };
}

/** The events of one run, from the server's own event export. */
export async function runEvents(t: TestServer, runId: string): Promise<any[]> {
  const r = await t.req('GET', '/events:export');
  assert.equal(r.status, 200, r.text);
  return parseNdjson(r.text)
    .filter((e) => e.runId === runId)
    .map(({ prevHash: _p, hash: _h, ...view }) => view);
}
