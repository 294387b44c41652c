// The program bundled for the tests: `main.cjs` + `worker.cjs` (+ the SQLite addon beside them),
// built with the project's own esbuild options (bundle/esbuild-config.mjs, as `npm run build`
// builds dist/main.cjs, minus the console assets and the single executable).
//
// Tests that run the program as a child process (the CLI client tests, crash tests, the docs'
// examples) run this bundle: from source every child compiles the whole program with tsx, seconds
// of CPU each on this 2-core machine; the bundle starts in a fraction of that, and it is what
// ships. `TEST_CLI_FROM_SOURCE=1` makes the CLI helpers run `node --import tsx src/main.ts`
// instead (test/helpers/program.ts).
//
// One build per content: the folder is `<tmpdir>/stella-test-bundle-<hash>`, the hash covering
// src/, the esbuild options, package.json, package-lock.json, this file and the Node version.
// Test files running in parallel (and other checkouts) share it safely: each builds into its own
// temp folder and renames it into place; a loser of that race uses the winner's folder.
// scripts/test.mjs builds it once before starting the files and hands its folder to them in
// STELLA_TEST_BUNDLE, so a test file does not hash src/ again to find it.
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { esbuildOptions } from '../bundle/esbuild-config.mjs';

const ROOT = join(import.meta.dirname, '..');
const PREFIX = 'stella-test-bundle-';
/** Bundles of other contents older than this are removed when a new one is built. */
const STALE_MS = 24 * 3600_000;

function files(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else out.push(p);
  }
  return out;
}

/** The hash of everything the bundle is made from. */
export function bundleHash() {
  const h = createHash('sha256').update(process.version);
  const inputs = [...files(join(ROOT, 'src'), []), ...['bundle/esbuild-config.mjs', 'package.json', 'package-lock.json'].map((f) => join(ROOT, f)), import.meta.filename];
  for (const f of inputs) h.update(relative(ROOT, f)).update('\0').update(readFileSync(f)).update('\0');
  return h.digest('hex').slice(0, 16);
}

let built;

/**
 * The folder holding the bundle of the current source, built if missing (once per process).
 * @example const main = join(await testBundle(), 'main.cjs'); spawn(process.execPath, [main, 'version']);
 * @returns {Promise<string>}
 */
export function testBundle() {
  built ??= (async () => {
    const given = process.env.STELLA_TEST_BUNDLE;
    if (given && existsSync(join(given, 'main.cjs'))) return given;
    const dir = join(tmpdir(), PREFIX + bundleHash());
    if (existsSync(join(dir, 'main.cjs'))) return dir;
    const esbuild = await import('esbuild');
    const tmp = mkdtempSync(join(tmpdir(), `${PREFIX}tmp-`));
    try {
      const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
      await esbuild.build({
        ...esbuildOptions({
          root: ROOT,
          entries: [
            { in: 'src/main.ts', out: 'main' },
            { in: 'src/engine/pool/worker.ts', out: 'worker' },
          ],
          outdir: tmp,
          version,
        }),
        logLevel: 'error',
      });
      const require = createRequire(join(ROOT, 'package.json'));
      copyFileSync(join(dirname(require.resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node'), join(tmp, 'better_sqlite3.node'));
      // Plugin hosts run the bundle as an unprivileged user when the tests run as root.
      chmodSync(tmp, 0o755);
      putInPlace(tmp, dir, 'main.cjs');
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
    removeStale(tmpdir(), PREFIX, dir);
    return dir;
  })();
  return built;
}

/**
 * Renames the finished build `tmp` to `dir`; when another process put the same content there
 * first (`dir/<marker>` exists), uses theirs and removes `tmp`.
 * @example putInPlace(tmp, join(tmpdir(), 'stella-test-bundle-ab12'), 'main.cjs');
 */
export function putInPlace(tmp, dir, marker) {
  try {
    renameSync(tmp, dir);
  } catch (e) {
    if (!existsSync(join(dir, marker))) throw e;
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Removes the other builds in `parent` whose name starts with `prefix` (and abandoned temp
 * folders) not touched for a day.
 * @example removeStale(tmpdir(), 'stella-test-bundle-', dir);
 */
export function removeStale(parent, prefix, keep) {
  for (const name of readdirSync(parent)) {
    const p = join(parent, name);
    if (!name.startsWith(prefix) || p === keep) continue;
    try {
      if (Date.now() - statSync(p).mtimeMs > STALE_MS) rmSync(p, { recursive: true, force: true });
    } catch {
      /* gone already */
    }
  }
}

// `node scripts/test-bundle.mjs` builds it and prints the folder.
if (process.argv[1] === import.meta.filename) console.log(await testBundle());
