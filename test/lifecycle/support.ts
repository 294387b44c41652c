/**
 * Lifecycle test support: the real command line (../helpers/program.ts) as a child
 * process (each command shown in docs/OPERATIONS.md is run this way), and a look into the
 * artifact store.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PROGRAM_ARGS } from '../helpers/program.js';

export const ROOT = join(import.meta.dirname, '..', '..');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  json: any;
}

export function cli(args: string[], opts: { env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...PROGRAM_ARGS, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    proc.once('error', reject);
    proc.once('close', (code) => {
      let json: any;
      try {
        json = JSON.parse(stdout.trim().split('\n').pop() ?? '');
      } catch {
        json = undefined;
      }
      resolve({ code, stdout, stderr, json });
    });
  });
}

/** The hashes of the objects in a data folder's artifact store. */
export function casObjects(dataDir: string): Set<string> {
  const root = join(dataDir, 'artifacts');
  const out = new Set<string>();
  if (!existsSync(root)) return out;
  for (const d of readdirSync(root).filter((n) => /^[0-9a-f]{2}$/.test(n))) {
    for (const n of readdirSync(join(root, d))) if (/^[0-9a-f]{62}$/.test(n)) out.add(d + n);
  }
  return out;
}
