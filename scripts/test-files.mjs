// The test files bundled for scripts/test.mjs: every *.test.ts (src/, test/, plugins/) built by one
// esbuild call (ES modules, code splitting, source maps) into
// `node_modules/.cache/stella-test-files/<hash>/`, where `<hash>` covers every source the build
// reads (src/, test/, plugins/, bundle/, scripts/, package.json, package-lock.json,
// tsconfig.json, the Node version): one build per content, shared by the files of a run and by
// later runs.
//
// Why: `node --import tsx --test <file>` transforms every module of src/ the file imports through
// tsx's loader hooks, which Node 20 runs on a separate thread, one round trip per module: ~3 s of
// CPU before a file's first test (a trivial test importing test/helpers/server.ts: 3.0 s under
// tsx, 0.6 s from this bundle), times every file. The test files themselves do not change: they
// stay TypeScript run by the node test runner, and `node --import tsx --test <file>` runs one
// from source as before (so does `TEST_FROM_SOURCE=1 npm test`).
//
// What stays as from source:
// - `import.meta.url`, `import.meta.dirname` and `import.meta.filename` in our own modules (.ts,
//   and the .mjs of bundle/ and scripts/ that tests import) are
//   replaced by the module's source file, so paths to fixtures, to src/ files (the step worker's
//   tsx bootstrap, src/core/runtime.ts) and `createRequire(import.meta.url)` resolve as from
//   source. The program still runs in source mode (`__STELLA_BUNDLED__` is not defined): worker
//   threads and plugin hosts start as they do under tsx.
// - Packages that find their own files at run time (pino's transports through `__dirname`, the
//   SQLite addon through `bindings`, esbuild, tsx, typescript, playwright-core) stay external and
//   load from node_modules, as the bundle lives inside it; the other packages are bundled (their
//   many small modules cost CPU to load too), with `require` given to their CommonJS code.
// - Stack traces point at the .ts sources (the runner passes --enable-source-maps).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { putInPlace, removeStale } from './test-bundle.mjs';

const ROOT = join(import.meta.dirname, '..');
const CACHE = join(ROOT, 'node_modules', '.cache', 'stella-test-files');
/** Packages loaded from node_modules rather than bundled (see above). */
const EXTERNAL = ['bindings', 'better-sqlite3', 'esbuild', 'pino', 'playwright-core', 'tsx', 'typescript'];
const SOURCE = /\.(?:[cm]?ts|tsx|[cm]?js|json)$/;

function walk(dir, out) {
  let names;
  try {
    names = readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const name of names) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (SOURCE.test(name)) out.push(p);
  }
  return out;
}

/** The hash of everything the build reads. */
function filesHash() {
  const h = createHash('sha256').update(process.version);
  const inputs = [
    // bundle/ and scripts/: tests import bundle/esbuild-config.mjs and scripts/test-bundle.mjs.
    ...['src', 'test', 'plugins', 'bundle', 'scripts'].flatMap((d) => walk(join(ROOT, d), [])),
    ...['package.json', 'package-lock.json', 'tsconfig.json'].map((f) => join(ROOT, f)),
  ];
  for (const f of inputs) h.update(relative(ROOT, f)).update('\0').update(readFileSync(f)).update('\0');
  return h.digest('hex').slice(0, 16);
}

/** Gives each of our modules its own source file as `import.meta.url` / `dirname` / `filename`. */
const sourceMeta = {
  name: 'source-import-meta',
  setup(build) {
    build.onLoad({ filter: /\.(?:[cm]?ts|tsx|m?js)$/ }, async (args) => {
      if (args.path.includes(`${join('node_modules', '')}`)) return undefined;
      const value = { url: pathToFileURL(args.path).href, dirname: dirname(args.path), filename: args.path };
      // Not where it is quoted: bundle/esbuild-config.mjs's define key 'import.meta.url'.
      const text = (await readFile(args.path, 'utf8')).replace(/(?<![\w$.'"`])import\.meta\.(url|dirname|filename)\b/g, (_, k) => JSON.stringify(value[k]));
      return { contents: text, loader: /\.m?js$/.test(args.path) ? 'js' : args.path.endsWith('.tsx') ? 'tsx' : 'ts' };
    });
  },
};

/**
 * The folder holding the bundled test files (built if missing): `<folder>/<file minus .ts>.mjs`
 * for every `*.test.ts` under src/, test/ and plugins/ (`<file>` relative to the checkout, as
 * scripts/test.mjs lists them), whatever a run selects, and for every other TypeScript file of
 * test/ outside test/fixtures/ (the entry points that tests run as child processes, such as
 * test/schedules/shifted-server.ts: test/helpers/program.ts's tsEntry() runs them from here
 * when the runner gives this folder in STELLA_TEST_FILES).
 * @example const dir = await testFiles(); // then node --enable-source-maps `${dir}/test/cli/basics.test.mjs`
 * @returns {Promise<string>}
 */
export async function testFiles() {
  const files = ['src', 'test', 'plugins']
    .flatMap((d) => walk(join(ROOT, d), []))
    .map((f) => relative(ROOT, f))
    .filter((f) => f.endsWith('.test.ts') || (f.startsWith(join('test', '')) && f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith(join('test', 'fixtures', ''))));
  const dir = join(CACHE, filesHash());
  if (existsSync(join(dir, 'done'))) return dir;
  const esbuild = await import('esbuild');
  mkdirSync(CACHE, { recursive: true });
  const tmp = mkdtempSync(join(CACHE, 'tmp-'));
  try {
    await esbuild.build({
      absWorkingDir: ROOT,
      entryPoints: files.map((f) => ({ in: f, out: f.replace(/\.ts$/, '') })),
      outdir: tmp,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      splitting: true,
      chunkNames: 'chunks/[name]-[hash]',
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: 'linked',
      external: EXTERNAL,
      plugins: [sourceMeta],
      // CommonJS packages bundled into ES modules call `require` for built-ins and their own parts.
      banner: { js: 'import { createRequire as __stellaCreateRequire } from "node:module"; const require = __stellaCreateRequire(import.meta.url);' },
      logLevel: 'error',
    });
    // A marker written last: a folder without it is a build that did not finish.
    mkdirSync(join(tmp, 'done'));
    putInPlace(tmp, dir, 'done');
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  removeStale(CACHE, '', dir);
  return dir;
}
