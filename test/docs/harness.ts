/**
 * Runs the examples of docs/*.md: code blocks preceded by `<!-- test: NAME -->` are read by
 * name; shell blocks run in bash (`orchestrator` is the server bundle, as the single
 * executable would be), `orchestrator serve` lines start a real server child process.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { testBundle } from '../../scripts/test-bundle.mjs';
import { until } from '../helpers/wait.js';
import { send } from '../helpers/base.js';
export { startServer, type ServeChild } from '../helpers/serve-child.js';
export { until };

export const ROOT = join(import.meta.dirname, '..', '..');

/**
 * The test file's work folder, removed with the server bundle after its tests. Plugin hosts run
 * as another user (docs/SECURITY.md): they must reach it, so it is 0755.
 */
export function docsTmp(prefix: string): string {
  const tmp = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(tmp, 0o755);
  after(() => {
    rmSync(tmp, { recursive: true, force: true });
  });
  return tmp;
}

/** Calls the API of a doc's server as tenant `demo`; a JSON answer is parsed, any other is text. */
export function docsApi(url: string, token: string) {
  return async (method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> => {
    const res = await send(`${url}/api/v1/orchestrator${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': 'demo', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: res.headers.get('content-type')?.startsWith('application/json') ? await res.json() : await res.text() };
  };
}

/** The run once it has ended (completed, failed or cancelled). */
export async function runEnded(api: ReturnType<typeof docsApi>, runId: string): Promise<any> {
  let run: any;
  await until(async () => {
    run = (await api('GET', `/runs/${runId}`)).body;
    return ['completed', 'failed', 'cancelled'].includes(run.status);
  }, `run ${runId} ends`);
  return run;
}

/** The named example blocks of a doc: name → the code between the fences. */
export function docBlocks(doc: string): Map<string, string> {
  const text = readFileSync(join(ROOT, 'docs', doc), 'utf8');
  const out = new Map<string, string>();
  for (const m of text.matchAll(/<!-- test: ([\w-]+) -->\n(?: *)```[a-z]*\n([\s\S]*?)\n *```/g)) {
    assert.ok(!out.has(m[1]!), `${doc}: example ${m[1]} appears twice`);
    out.set(m[1]!, m[2]!);
  }
  return out;
}

export function block(blocks: Map<string, string>, name: string): string {
  const b = blocks.get(name);
  assert.ok(b !== undefined, `the doc has an example named ${name}`);
  return b;
}

/** Runs a shell script in bash -euo pipefail, with `orchestrator` on hand; fails the test on a non-zero exit. */
export async function bash(script: string, cwd: string, env: Record<string, string> = {}): Promise<string> {
  const main = join(await testBundle(), 'main.cjs');
  const prelude = `set -euo pipefail\norchestrator() { ${JSON.stringify(process.execPath)} ${JSON.stringify(main)} "$@"; }\n`;
  const r = spawnSync('bash', ['-c', prelude + script], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, ...env } });
  assert.equal(r.status, 0, `example failed (exit ${r.status}):\n${script}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r.stdout;
}

/** The arguments of an `orchestrator serve …` line (continuations joined), `--port 0` and `--data-dir` replaced. */
export function serveArgs(line: string, dataDir: string): string[] {
  const words = line.replace(/\\\n/g, ' ').trim().split(/\s+/);
  assert.deepEqual(words.slice(0, 2), ['orchestrator', 'serve'], line);
  const args = words.slice(2);
  const i = args.indexOf('--data-dir');
  if (i >= 0) args.splice(i, 2);
  return [...args, '--data-dir', dataDir, '--port', '0', '--workers', '1'];
}

/** The doc's `http://127.0.0.1:8080` replaced by the test server's URL. */
export function atUrl(script: string, url: string): string {
  return script.replaceAll('http://127.0.0.1:8080', url);
}
