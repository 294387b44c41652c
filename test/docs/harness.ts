/**
 * Runs the examples of docs/*.md: code blocks preceded by `<!-- test: NAME -->` are read by
 * name; shell blocks run in bash (`orchestrator` is the server bundle, as the single
 * executable would be), `orchestrator serve` lines start a real server child process.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serverBundle } from '../hostile/child.js';
export { startServer, until, type ServeChild } from '../helpers/serve-child.js';

export const ROOT = join(import.meta.dirname, '..', '..');

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
  const main = join(await serverBundle(), 'main.cjs');
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
