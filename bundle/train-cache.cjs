// Makes the V8 code cache of the single executable's main script (bundle/build.mjs):
//   node bundle/train-cache.cjs dist/main.wrapped.cjs dist/main.cache DATA_DIR
// Compiles the wrapped bundle as bundle/sea-main.cjs does, runs it as `serve --dev --port 0` on
// an empty DATA_DIR, and at `listening on` writes the cache of every function compiled so far
// (the start's path) and exits. Same node binary as the executable, so V8 accepts the cache.
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const { dirname, resolve } = require('node:path');
const { Script } = require('node:vm');
const [file, out, dataDir] = process.argv.slice(2);
const main = resolve(dirname(file), 'main.cjs'); // what __filename is in bundle mode
const script = new Script(readFileSync(file, 'latin1'), { filename: main });
const write = process.stdout.write.bind(process.stdout);
// Written once the server is ready (the health probe's first 200, GET /admin/health without a
// token), not at `listening`: the engine, recovery, the routes and the app are built after the
// port is bound (src/cli/server.ts), and the cache should hold their functions too.
const writeWhenReady = (url) =>
  require('node:http')
    .get(`${url}/api/v1/orchestrator/admin/health`, (res) => {
      res.resume();
      if (res.statusCode !== 200) return void setTimeout(writeWhenReady, 5, url);
      writeFileSync(out, script.createCachedData());
      process.exit(0);
    })
    .on('error', () => setTimeout(writeWhenReady, 5, url));
process.stdout.write = (chunk, ...rest) => {
  const url = /listening on (\S+)/.exec(String(chunk))?.[1];
  if (url) writeWhenReady(url);
  return write(chunk, ...rest);
};
process.argv = [process.argv[0], main, 'serve', '--dev', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn'];
const mod = { exports: {} };
script.runInThisContext()(mod.exports, require, mod, main, dirname(main));
setTimeout(() => {
  process.stderr.write('train-cache: no `listening on` within 60 s\n');
  process.exit(1);
}, 60_000).unref();
