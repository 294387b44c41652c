// Builds the web console's browser assets (src/console/app/) with esbuild, in memory.
// Shared by bundle/build.mjs (assets embedded in the single executable) and by the server run
// from source (src/console/assets.ts builds them on the first /console/ request).
// CommonJS on purpose: plain `node` (bundle/build.mjs) and tsx both load it, and the bundled
// server never does (the embedded assets are used there), so esbuild is never needed at run time.
'use strict';
const { readFileSync } = require('node:fs');
const { createHash } = require('node:crypto');
const { gzipSync } = require('node:zlib');
const { join, basename, extname } = require('node:path');

/** Where the HTML of index.html takes the server's per-mode `<meta>` tags (dev sign-in). */
const HEAD_SLOT = '<!--stella:head-->';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const short = (text) => createHash('sha256').update(text).digest('hex').slice(0, 16);

/**
 * @param {{ root: string, minify?: boolean }} opts root = the checkout
 * @returns {Promise<{ files: Record<string, { type: string, text: string }>, inputs: string[], gzipBytes: number }>}
 *   files by URL path below /console/ (`index.html`, `assets/<name>-<hash>.<ext>`); inputs = the
 *   source files bundled (for license notices); gzipBytes = all files gzipped, added up.
 */
async function buildConsole(opts) {
  const esbuild = require('esbuild');
  const app = join(opts.root, 'src', 'console', 'app');
  const result = await esbuild.build({
    absWorkingDir: opts.root,
    entryPoints: [join(app, 'main.tsx')],
    bundle: true,
    write: false,
    outdir: 'out',
    format: 'esm',
    platform: 'browser',
    target: ['chrome109', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: opts.minify !== false,
    legalComments: 'none',
    sourcemap: false,
    metafile: true,
    logLevel: 'silent',
  });
  const files = {};
  const names = {};
  const add = (name, text) => {
    const ext = extname(name);
    const path = `assets/${basename(name, ext)}-${short(text)}${ext}`;
    files[path] = { type: TYPES[ext], text };
    names[ext] = path;
  };
  for (const f of result.outputFiles) add(basename(f.path), f.text);
  add('icon.svg', readFileSync(join(app, 'icon.svg'), 'utf8'));
  if (!names['.js'] || !names['.css']) throw new Error('console build produced no script or style sheet');
  const html = readFileSync(join(app, 'index.html'), 'utf8')
    .replace('{{icon}}', names['.svg'])
    .replace('{{style}}', names['.css'])
    .replace('{{script}}', names['.js']);
  if (!html.includes(HEAD_SLOT) || /\{\{/.test(html)) throw new Error('src/console/app/index.html: a placeholder is missing');
  files['index.html'] = { type: TYPES['.html'], text: html };
  const gzipBytes = Object.values(files).reduce((n, f) => n + gzipSync(f.text, { level: 9 }).byteLength, 0);
  return { files, inputs: Object.keys(result.metafile.inputs), gzipBytes };
}

module.exports = { buildConsole, HEAD_SLOT };
