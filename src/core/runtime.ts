/**
 * How the program finds the parts that differ between the three ways it runs: from source
 * (`tsx`), as an esbuild bundle under `node`, and as the single executable (Node SEA).
 * Every concern asks here once; nothing else branches on the mode.
 */
import { fileURLToPath } from 'node:url';
import type { WorkerOptions } from 'node:worker_threads';

export type RuntimeMode = 'source' | 'bundle' | 'sea';

declare const __STELLA_BUNDLED__: boolean | undefined;

export function runtimeMode(): RuntimeMode {
  if (typeof __STELLA_BUNDLED__ !== 'undefined' && __STELLA_BUNDLED__) {
    return isSea() ? 'sea' : 'bundle';
  }
  return 'source';
}

function isSea(): boolean {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sea = (globalThis as { require?: NodeRequire }).require?.('node:sea');
    return Boolean(sea?.isSea?.());
  } catch {
    return false;
  }
}

/** Where the worker thread's code is, and how to start it. */
export function workerSpec(): { filename: string | URL; options: WorkerOptions } {
  // Source mode: the worker inherits the parent's execArgv (tsx's loader), so .ts works.
  return { filename: new URL('../engine/worker.ts', import.meta.url), options: {} };
}

/**
 * The better-sqlite3 native binding to use, or undefined to let better-sqlite3 find its own
 * (source and bundle modes). `cacheDir` is a folder beside the data folder.
 */
export function sqliteNativeBinding(_cacheDir: string): object | undefined {
  return undefined;
}

/** The program's version (package.json). */
export const VERSION: string = process.env.npm_package_version ?? '0.1.0';

export function sourceRoot(): string {
  return fileURLToPath(new URL('../..', import.meta.url));
}
