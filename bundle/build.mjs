#!/usr/bin/env node
// Builds the single executable `dist/orchestrator` (see bundle/README.md):
//   0. the web console's browser assets (src/console/build.cjs), embedded in main.cjs;
//   1. esbuild: one self-contained CJS bundle per entry (dist/main.cjs, dist/worker.cjs, dist/checkpointer.cjs);
//   2. copies better-sqlite3's native addon to dist/ (bundle mode loads it from there);
//   3. Node SEA: writes dist/sea-config.json, `node --experimental-sea-config` → dist/sea-prep.blob;
//   4. copies this `node`, strips its symbols (if `strip` exists), injects the blob with postject.
// Usage: node bundle/build.mjs [--no-sea] [--no-strip] [--no-code-cache | --node-code-cache]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { esbuildOptions } from './esbuild-config.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const args = new Set(process.argv.slice(2));
const require = createRequire(join(ROOT, 'package.json'));

/** The sentinel Node's SEA support looks for (fixed by Node; see the Node SEA docs). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/**
 * Bundle entries. `asset` names it inside the executable (read with `sea.getAsset`); the one
 * without `asset` is the SEA's main script. `optional` entries whose source does not exist yet
 * are skipped with a warning.
 */
const ENTRIES = [
  // Also the plugin host: `orchestrator __plugin-host` (src/main.ts, src/engine/host.ts).
  { src: 'src/main.ts', out: 'main.cjs' },
  { src: 'src/engine/pool/worker.ts', out: 'worker.cjs', asset: 'worker.cjs', optional: true },
  // The store's background WAL checkpointer (src/store/checkpointer.ts), also an eval'd worker.
  { src: 'src/store/checkpoint-worker.cjs', out: 'checkpointer.cjs', asset: 'checkpointer.cjs' },
];

const SQLITE_ADDON = join(dirname(require.resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node');
const SQLITE_ASSET = 'better_sqlite3.node';

const log = (msg) => process.stdout.write(`build: ${msg}\n`);
const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

function fail(msg) {
  process.stderr.write(`build: ${msg}\n`);
  process.exit(1);
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const { buildConsole } = require('./src/console/build.cjs');
if (!existsSync(SQLITE_ADDON)) fail(`${SQLITE_ADDON} missing: run npm ci (better-sqlite3 builds it on install)`);
const sqliteBytes = readFileSync(SQLITE_ADDON);

/** dist/THIRD_PARTY_NOTICES.txt: name, version, license and license text of every bundled package. */
function writeNotices(inputs) {
  const roots = new Set();
  for (const f of inputs) {
    if (/^[\w-]+:/.test(f)) continue; // a plugin's virtual module (esbuild-config.mjs); its package is listed by its other files
    const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(f.replace(/\\/g, '/'));
    if (m) roots.add(m[1]);
  }
  const parts = [];
  for (const dir of [...roots].sort()) {
    const p = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8'));
    const lic = existsSync(join(ROOT, dir)) ? readdirSync(join(ROOT, dir)).find((n) => /^(licen[cs]e|copying)/i.test(n)) : undefined;
    const text = lic ? readFileSync(join(ROOT, dir, lic), 'utf8').trim() : '(no license file in the package)';
    parts.push(`${p.name}@${p.version} (${p.license ?? 'see text'})\n\n${text}\n`);
  }
  const head = `Third-party software bundled in orchestrator ${pkg.version} (and Node.js ${process.version}, https://github.com/nodejs/node/blob/main/LICENSE)\n`;
  writeFileSync(join(DIST, 'THIRD_PARTY_NOTICES.txt'), [head, ...parts].join('\n' + '-'.repeat(78) + '\n\n'));
  log(`dist/THIRD_PARTY_NOTICES.txt: ${parts.length} packages`);
}

const entries = ENTRIES.filter((e) => {
  if (existsSync(resolve(ROOT, e.src))) return true;
  if (!e.optional) fail(`entry ${e.src} not found`);
  process.stderr.write(`build: WARNING: ${e.src} does not exist yet; ${e.out} is not built and the executable cannot start workers\n`);
  return false;
});

rmSync(DIST, { recursive: true, force: true });
mkdirSync(DIST, { recursive: true });

// ---- 0. web console ------------------------------------------------------------------------
// Built once here and embedded in main.cjs as one JSON string (src/core/runtime.ts
// embeddedConsole()): the server serves it from memory, with no esbuild at run time.
const consoleBuild = await buildConsole({ root: ROOT });
const CONSOLE_BUDGET = 300 * 1024;
log(`console: ${Object.keys(consoleBuild.files).length} files, ${(consoleBuild.gzipBytes / 1024).toFixed(1)} KiB gzipped (budget ${CONSOLE_BUDGET / 1024} KiB)`);
if (consoleBuild.gzipBytes > CONSOLE_BUDGET) fail(`the console's assets are ${consoleBuild.gzipBytes} bytes gzipped, over the ${CONSOLE_BUDGET}-byte budget`);

// ---- 1. esbuild ---------------------------------------------------------------------------
const result = await esbuild.build({
  ...esbuildOptions({
    root: ROOT,
    entries: entries.map((e) => ({ in: e.src, out: e.out.replace(/\.cjs$/, '') })),
    outdir: DIST,
    version: pkg.version,
    sqliteSha256: sha256(sqliteBytes),
    define: {
      __STELLA_CONSOLE__: JSON.stringify(JSON.stringify({ files: consoleBuild.files, inputs: [], gzipBytes: consoleBuild.gzipBytes })),
    },
  }),
  // Keep function/class names (error names, pino, stack traces: keepNames); drop comments and dead
  // code; short local names (main.cjs 2.0 -> 1.4 MiB: the text the executable keeps for lazy
  // compilation, its code cache and pages, idle RSS -1.5 MB; issue #20).
  minifySyntax: true,
  minifyWhitespace: true,
  minifyIdentifiers: true,
  keepNames: true,
  legalComments: 'none',
  sourcemap: false,
  metafile: true,
});
for (const [file, info] of Object.entries(result.metafile.outputs)) log(`${file}: ${mib(info.bytes)}`);
copyFileSync(SQLITE_ADDON, join(DIST, SQLITE_ASSET));
writeNotices([...Object.keys(result.metafile.inputs), ...consoleBuild.inputs, relative(ROOT, SQLITE_ADDON)]);

if (args.has('--no-sea')) {
  log('bundles written (--no-sea: no executable)');
  process.exit(0);
}

// ---- 2. SEA blob --------------------------------------------------------------------------
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 12)) fail(`Node ${process.version} cannot build a SEA with assets (needs 20.12+)`);
const main = entries.find((e) => !e.asset);
// With a code cache, Node 20's SEA main script has no dynamic import() (ERR_VM_DYNAMIC_IMPORT_
// CALLBACK_MISSING), nor has a vm.Script; without one it works. The eval'd worker (plugins) is not affected either way.
const mainUsesImport = /(?:^|[^\w$.])import\(/.test(readFileSync(join(DIST, main.out), 'utf8'));
if (mainUsesImport) process.stderr.write(`build: WARNING: ${main.out} contains import(): building without the V8 code cache\n`);
const useCodeCache = !args.has('--no-code-cache') && !mainUsesImport;
// The V8 code cache of the start (bundle/sea-main.cjs, bundle/train-cache.cjs): main.cjs runs
// as `serve` up to `listening` once here, and the cache of every function it compiled is
// embedded beside it. Node's own SEA code cache (useCodeCache) covers only a script's top
// level, which in our bundle is little more than the lazy module wrappers.
let seaMain = join(DIST, main.out);
const mainAssets = {};
// --node-code-cache: Node's own SEA code cache of main.cjs only (the build before this one; for comparisons).
const trainedCache = useCodeCache && !args.has('--node-code-cache');
if (trainedCache) {
  // The CommonJS wrapper is part of the embedded text, so the loader hands V8 the asset as it is.
  const wrapped = join(DIST, 'main.wrapped.cjs');
  const text = readFileSync(join(DIST, main.out), 'latin1');
  // One byte per character (esbuild's default charset is ASCII): the loader decodes it as latin1.
  if (/[^\x00-\x7f]/.test(text)) fail(`${main.out} is not ASCII: the SEA loader reads it as latin1`);
  writeFileSync(wrapped, `(function (exports, require, module, __filename, __dirname) {${text.replace(/^#!/, '//')}\n})`, 'latin1');
  const trainDir = mkdtempSync(join(tmpdir(), 'orch-train-cache-'));
  try {
    const t = spawnSync(process.execPath, [join(ROOT, 'bundle', 'train-cache.cjs'), wrapped, join(DIST, 'main.cache'), join(trainDir, 'd')], { cwd: trainDir, stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
    if (t.status !== 0) fail(`bundle/train-cache.cjs failed (status ${t.status})`);
  } finally {
    rmSync(trainDir, { recursive: true, force: true });
  }
  log(`dist/main.cache: ${mib(statSync(join(DIST, 'main.cache')).size)} (V8 code cache of the start)`);
  copyFileSync(join(ROOT, 'bundle', 'sea-main.cjs'), join(DIST, 'sea-main.cjs'));
  seaMain = join(DIST, 'sea-main.cjs');
  Object.assign(mainAssets, { 'main.cjs': wrapped, 'main.cache': join(DIST, 'main.cache') });
}
const seaConfig = {
  main: seaMain,
  output: join(DIST, 'sea-prep.blob'),
  disableExperimentalSEAWarning: true,
  // V8 code cache of the SEA's main script (tied to this exact node binary, which is the one we copy).
  useCodeCache,
  useSnapshot: false,
  assets: {
    ...mainAssets,
    ...Object.fromEntries(entries.filter((e) => e.asset).map((e) => [e.asset, join(DIST, e.out)])),
    [SQLITE_ASSET]: SQLITE_ADDON,
  },
};
writeFileSync(join(DIST, 'sea-config.json'), JSON.stringify(seaConfig, null, 2) + '\n');
const gen = spawnSync(process.execPath, ['--experimental-sea-config', join(DIST, 'sea-config.json')], { cwd: ROOT, stdio: 'inherit' });
if (gen.status !== 0) fail('node --experimental-sea-config failed');

// ---- 3. executable ------------------------------------------------------------------------
const exe = join(DIST, process.platform === 'win32' ? 'orchestrator.exe' : 'orchestrator');
copyFileSync(process.execPath, exe);
chmodSync(exe, 0o755);
if (process.platform === 'linux' && !args.has('--no-strip')) {
  // Debug symbols are ~15 MiB of the node binary; the SEA does not need them.
  const s = spawnSync('strip', ['--strip-all', exe], { stdio: 'inherit' });
  if (s.error || s.status !== 0) process.stderr.write('build: strip not available or failed; keeping symbols\n');
}
if (process.platform === 'darwin') spawnSync('codesign', ['--remove-signature', exe], { stdio: 'inherit' });

const { inject } = require('postject');
// LIEF prints harmless ".note.100" warnings on some node builds.
await inject(exe, 'NODE_SEA_BLOB', readFileSync(seaConfig.output), {
  sentinelFuse: SEA_FUSE,
  machoSegmentName: process.platform === 'darwin' ? 'NODE_SEA' : undefined,
});
if (process.platform === 'darwin') spawnSync('codesign', ['--sign', '-', exe], { stdio: 'inherit' });

// ---- 4. sanity check ----------------------------------------------------------------------
const v = spawnSync(exe, ['--version'], { cwd: DIST, encoding: 'utf8' });
if (v.status !== 0 || v.stdout.trim() !== pkg.version) {
  fail(`the executable does not run: --version gave status ${v.status}, stdout ${JSON.stringify(v.stdout)}, stderr ${JSON.stringify(v.stderr)}`);
}
log(`${relative(ROOT, exe)}: ${mib(statSync(exe).size)}, version ${pkg.version}`);
