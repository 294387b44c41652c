// The esbuild options every bundle of the program shares: `npm run build` (bundle/build.mjs),
// the source-mode plugin host runtime (src/core/runtime-source.ts) and test helpers that bundle
// the server (test/hostile/child.ts). One place, so the three cannot drift apart.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The variable the banner defines; `import.meta.url` is replaced by it in the CJS output. */
const IMPORT_META_URL = '__stella_import_meta_url';

/**
 * @param {{ root: string, entries: Array<{ in: string, out: string }>, outdir: string, version: string, sqliteSha256?: string, define?: Record<string, string> }} o
 * @returns {import('esbuild').BuildOptions}
 */
export function esbuildOptions(o) {
  return {
    absWorkingDir: o.root,
    entryPoints: o.entries,
    outdir: o.outdir,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // Each entry is self-contained: the SEA's main script may only `require` built-ins, and the
    // eval'd worker has no files beside it.
    splitting: false,
    logLevel: 'warning',
    // better-sqlite3's default addon lookup (`require('bindings')(…)`) must not be bundled or
    // followed: runtime.ts always passes the loaded addon as `nativeBinding` when bundled.
    // esbuild itself is needed only from source (to build the plugin host), never bundled.
    external: ['bindings', 'esbuild'],
    define: {
      // ws: skip the optional native helpers (they are not installed; a require would throw in the SEA).
      'process.env.WS_NO_BUFFER_UTIL': '"1"',
      'process.env.WS_NO_UTF_8_VALIDATE': '"1"',
      __STELLA_BUNDLED__: 'true',
      __STELLA_VERSION__: JSON.stringify(o.version),
      ...(o.sqliteSha256 ? { __STELLA_SQLITE_SHA256__: JSON.stringify(o.sqliteSha256) } : {}),
      // esbuild leaves `import.meta` empty in CJS output; give it the bundle file's URL instead.
      'import.meta.url': IMPORT_META_URL,
      // Build-specific values (npm run build: the web console's files).
      ...o.define,
    },
    plugins: [zodEnglishOnly(), promClientLazyExtras()],
    banner: {
      js: `var ${IMPORT_META_URL} = require("node:url").pathToFileURL(typeof __filename === "string" ? __filename : process.execPath).href;`,
    },
  };
}

/**
 * zod re-exports every message locale (`z.locales`, `z.core.locales`: ≈ 400 KB of the bundle,
 * 40-odd modules evaluated at every start); the program uses none but English, which zod
 * installs itself (`classic/schemas.js` imports `locales/en.js` directly). So the bundle's
 * `locales` namespace holds `en` only.
 */
function zodEnglishOnly() {
  return {
    name: 'zod-english-only',
    setup(build) {
      build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
        /[\\/]node_modules[\\/]zod[\\/]v4[\\/](core|classic)[\\/]/.test(args.importer) ? { path: join(dirname(args.importer), '..', 'locales', 'index.js'), namespace: 'stella-zod' } : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: 'stella-zod' }, (args) => ({
        contents: 'export { default as en } from "./en.js";',
        resolveDir: dirname(args.path),
        loader: 'js',
      }));
    },
  };
}

/**
 * prom-client's index requires its Pushgateway (which loads node:https, node:tls and zlib:
 * `require('https')` alone is ≈ 5 ms of CPU here) and its cluster AggregatorRegistry at import;
 * the program uses neither (issue #20: start-up). In the bundle both exports become getters that
 * require their module on first use: same API, loaded on demand. The build fails if
 * prom-client's index no longer has these lines.
 */
function promClientLazyExtras() {
  const LAZY = { Pushgateway: './lib/pushgateway', AggregatorRegistry: './lib/cluster' };
  return {
    name: 'prom-client-lazy-extras',
    setup(build) {
      build.onLoad({ filter: /[\\/]node_modules[\\/]prom-client[\\/]index\.js$/ }, (args) => {
        let contents = readFileSync(args.path, 'utf8');
        for (const [name, mod] of Object.entries(LAZY)) {
          const line = `exports.${name} = require('${mod}');`;
          if (!contents.includes(line)) throw new Error(`prom-client-lazy-extras: "${line}" not found in ${args.path}`);
          contents = contents.replace(line, `Object.defineProperty(exports, '${name}', { enumerable: true, get: () => require('${mod}') });`);
        }
        return { contents, loader: 'js' };
      });
    },
  };
}
