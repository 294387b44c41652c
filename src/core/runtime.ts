/**
 * How the program finds the parts that differ between the three ways it runs: from source
 * (`tsx`), as an esbuild bundle under `node` (`node dist/main.cjs`), and as the single
 * executable (Node SEA, `dist/orchestrator`). Every concern asks here once; nothing else
 * branches on the mode.
 *
 * The build (bundle/build.mjs) defines `__STELLA_BUNDLED__`, `__STELLA_VERSION__` and
 * `__STELLA_SQLITE_SHA256__`; from source they are undefined.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import * as sea from 'node:sea';
import { fileURLToPath } from 'node:url';
import type { WorkerOptions } from 'node:worker_threads';

export type RuntimeMode = 'source' | 'bundle' | 'sea';

declare const __STELLA_BUNDLED__: boolean | undefined;
declare const __STELLA_VERSION__: string | undefined;
declare const __STELLA_SQLITE_SHA256__: string | undefined;
declare const __STELLA_CONSOLE__: string | undefined;

const BUNDLED = typeof __STELLA_BUNDLED__ !== 'undefined' && __STELLA_BUNDLED__ === true;

/** Names of the assets embedded in the single executable (see bundle/build.mjs). */
export const SEA_ASSETS = { worker: 'worker.cjs', checkpointer: 'checkpointer.cjs', sqlite: 'better_sqlite3.node' } as const;

/** The program's worker threads: the engine's step worker and the store's WAL checkpointer. */
export type WorkerEntry = 'worker' | 'checkpointer';

let mode: RuntimeMode | undefined;

export function runtimeMode(): RuntimeMode {
  return (mode ??= !BUNDLED ? 'source' : sea.isSea() ? 'sea' : 'bundle');
}

/** The folder holding main.cjs, worker.cjs and better_sqlite3.node in bundle mode. */
function bundleDir(): string {
  // In the CJS bundle `__dirname` is main.cjs's folder; argv[1] is the fallback.
  return typeof __dirname === 'string' ? __dirname : dirname(process.argv[1] ?? '.');
}

const seaWorkerCode = new Map<WorkerEntry, string>();

/**
 * Where a worker thread's code is, and how to start it (`entry`: the engine's step worker by
 * default, or the WAL checkpointer). The caller adds its own options (`workerData`,
 * `resourceLimits`, …) on top: `new Worker(s.filename, { ...s.options, workerData })`.
 * - source: the step worker's TypeScript entry through a tsx bootstrap; the checkpointer's
 *   plain CommonJS file (src/store/checkpoint-worker.cjs);
 * - bundle: `dist/<entry>.cjs` beside `dist/main.cjs`;
 * - sea: the embedded bundle's text, run with `eval: true` (a SEA has no file to give a
 *   Worker). In there `require` works for built-ins only in practice (it resolves from the cwd),
 *   so each bundle is self-contained; plugins load with `import(pathToFileURL(path).href)`.
 *
 * @example
 * const s = workerSpec('checkpointer');
 * new Worker(s.filename, { ...s.options, workerData: { file } });
 */
export function workerSpec(entry: WorkerEntry = 'worker'): { filename: string | URL; options: WorkerOptions } {
  switch (runtimeMode()) {
    case 'sea': {
      let code = seaWorkerCode.get(entry);
      if (code === undefined) seaWorkerCode.set(entry, (code = sea.getAsset(SEA_ASSETS[entry], 'utf8')));
      return { filename: code, options: { eval: true } };
    }
    case 'bundle':
      return { filename: join(bundleDir(), SEA_ASSETS[entry]), options: {} };
    case 'source':
      return entry === 'worker' ? sourceWorkerSpec() : { filename: new URL('../store/checkpoint-worker.cjs', import.meta.url), options: {} };
  }
}

/**
 * Source mode (owned by the engine): a plain-ESM bootstrap that registers tsx inside the worker,
 * then imports worker.ts. On Node 20 tsx's `--import` hooks apply to the main thread only (a
 * worker inherits the flag but tsx skips registering there), so a .ts entry alone would fail.
 */
function sourceWorkerSpec(): { filename: string | URL; options: WorkerOptions } {
  return { filename: new URL('../engine/pool/worker-source.mjs', import.meta.url), options: {} };
}

/** How to start the program as a plugin host, and which of its files that host must read. */
export interface HostRuntime {
  command: string;
  /** Arguments before the host-mode word (the entry script, when there is one). */
  args: string[];
  /** The program's own files the host reads (its permission model allows exactly these). */
  readPaths: string[];
}

const hostRuntimes = new Map<string, Promise<HostRuntime>>();

/**
 * How the worker pool starts a plugin host (src/engine/host.ts) — the program itself in host
 * mode, `<command> ...args __plugin-host`:
 * - sea: the executable re-executing itself (Node flags go through `NODE_OPTIONS`);
 * - bundle: `node dist/main.cjs`, reading main.cjs and worker.cjs;
 * - source: `node <dir>/host.cjs`, a bundle of the host and worker entries built once per
 *   process into `<cacheDir>/host-<hash>/` (tsx cannot run inside a host: see
 *   runtime-source.ts). The host is then a bundle itself, so its own `workerSpec()` is the
 *   bundle's.
 */
export function hostRuntime(cacheDir: string): Promise<HostRuntime> {
  let p = hostRuntimes.get(cacheDir);
  if (!p) {
    p = makeHostRuntime(cacheDir);
    hostRuntimes.set(cacheDir, p);
    p.catch(() => hostRuntimes.delete(cacheDir));
  }
  return p;
}

async function makeHostRuntime(cacheDir: string): Promise<HostRuntime> {
  switch (runtimeMode()) {
    case 'sea':
      return { command: process.execPath, args: [], readPaths: [] };
    case 'bundle': {
      const main = join(bundleDir(), 'main.cjs');
      return { command: process.execPath, args: [main], readPaths: [main, join(bundleDir(), 'worker.cjs')] };
    }
    case 'source': {
      const { buildSourceHost } = await import('./runtime-source.js');
      const dir = await buildSourceHost(cacheDir, VERSION);
      return { command: process.execPath, args: [join(dir, 'host.cjs')], readPaths: [dir] };
    }
  }
}

let sqliteAddon: object | undefined;
let sqliteAddonFile: string | undefined;

/**
 * The better-sqlite3 native binding to pass as its `nativeBinding` option (the loaded addon
 * OBJECT), or undefined to let better-sqlite3 find its own (source mode).
 * - bundle: `dist/better_sqlite3.node` (copied there by the build; the bundled better-sqlite3
 *   cannot use `bindings`, which searches relative to the calling file);
 * - sea: the embedded addon, written once to `<cacheDir>/better_sqlite3-<sha256>.node` (temp
 *   file + rename), its hash checked before every load (re-extracted if it differs), then
 *   `process.dlopen`ed. `cacheDir` is a folder beside the data folder (not /tmp: may be noexec);
 *   if it cannot be written, `$XDG_CACHE_HOME/stella-orchestrator` (default ~/.cache/…).
 * Loaded once per process; later calls return the same object.
 */
export function sqliteNativeBinding(cacheDir: string): object | undefined {
  const m = runtimeMode();
  if (m === 'source') return undefined;
  if (sqliteAddon) return sqliteAddon;
  const file = m === 'sea' ? extractSeaSqlite(cacheDir) : bundledSqlitePath();
  const mod = { exports: {} as object };
  process.dlopen(mod, file);
  sqliteAddon = mod.exports;
  sqliteAddonFile = file;
  return sqliteAddon;
}

/**
 * The file {@link sqliteNativeBinding} loaded the addon from, for a worker thread that opens
 * its own connection (it dlopens the same file); undefined from source or before the first load.
 */
export function sqliteNativeBindingFile(): string | undefined {
  return sqliteAddonFile;
}

function bundledSqlitePath(): string {
  const beside = join(bundleDir(), SEA_ASSETS.sqlite);
  if (existsSync(beside)) return beside;
  throw new Error(`better-sqlite3 native addon not found at ${beside}; rebuild with npm run build`);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Where the addon may be written: the caller's folder, else the user's cache folder. */
function cacheCandidates(cacheDir: string): string[] {
  const xdg = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return [cacheDir, join(xdg, 'stella-orchestrator')];
}

function extractSeaSqlite(cacheDir: string): string {
  const expected = typeof __STELLA_SQLITE_SHA256__ === 'string' ? __STELLA_SQLITE_SHA256__ : undefined;
  let bytes: Buffer | undefined;
  const asset = (): Buffer => (bytes ??= Buffer.from(sea.getAsset(SEA_ASSETS.sqlite)));
  const hash = expected ?? sha256(asset());
  const failures: string[] = [];
  let assetChecked = false;
  for (const dir of cacheCandidates(cacheDir)) {
    const file = join(dir, `better_sqlite3-${hash}.node`);
    if (intact(file, hash)) return file;
    if (!assetChecked && sha256(asset()) !== hash) throw new Error('embedded better-sqlite3 addon is corrupt (hash mismatch); rebuild the executable');
    assetChecked = true;
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeFileSync(tmp, asset(), { mode: 0o755, flag: 'wx' });
      renameSync(tmp, file);
    } catch (e) {
      failures.push(`${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      continue;
    } finally {
      try {
        rmSync(tmp, { force: true });
      } catch {
        /* the folder itself is unusable; reported above */
      }
    }
    if (intact(file, hash)) return file;
    failures.push(`${dir}: hash mismatch after write`);
  }
  throw new Error(`cannot extract the better-sqlite3 addon (${failures.join('; ')})`);
}

/**
 * Whether `file` has the SHA-256 `hash`, read in 64 KiB chunks: the addon is checked at every
 * start, and reading it whole left a 2 MB buffer for the garbage collector (idle RSS).
 */
function intact(file: string, hash: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const h = createHash('sha256');
    const chunk = Buffer.allocUnsafe(65536);
    for (let n; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0; ) h.update(chunk.subarray(0, n));
    return h.digest('hex') === hash;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function sourceVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    if (typeof pkg.version === 'string') return pkg.version;
  } catch {
    /* fall through */
  }
  return process.env.npm_package_version ?? '0.0.0';
}

/** The program's version (package.json's, baked in by the build; read from package.json from source). */
export const VERSION: string = BUNDLED && typeof __STELLA_VERSION__ === 'string' ? __STELLA_VERSION__ : sourceVersion();

/** The checkout's root (source mode); the folder above dist/ (bundle); the executable's folder (sea). */
export function sourceRoot(): string {
  switch (runtimeMode()) {
    case 'source':
      return fileURLToPath(new URL('../..', import.meta.url));
    case 'bundle':
      return dirname(bundleDir());
    case 'sea':
      return dirname(process.execPath);
  }
}

/**
 * The web console's assets as the build embedded them (the JSON of src/console/build.cjs's
 * result), or undefined from source, where src/console builds them on first use.
 */
export function embeddedConsole(): string | undefined {
  return typeof __STELLA_CONSOLE__ === 'string' ? __STELLA_CONSOLE__ : undefined;
}
