// The single executable's main script (bundle/build.mjs): runs the program's bundle, embedded
// as the asset `main.cjs` already wrapped as a CommonJS function (dist/main.wrapped.cjs), with
// the V8 code cache `main.cache` that bundle/train-cache.cjs made by running `serve` up to
// `listening` — so the functions a start runs arrive compiled, where Node's own SEA code cache
// holds only the top level (our modules are lazy, inside functions). The text goes to V8 as is
// (one external string, not copied into the heap). A cache V8 rejects (another node, other V8
// flags) only costs the compilation it would have saved.
'use strict';
const sea = require('node:sea');
const { Script } = require('node:vm');
const script = new Script(Buffer.from(sea.getRawAsset('main.cjs')).latin1Slice(), {
  filename: __filename,
  cachedData: Buffer.from(sea.getRawAsset('main.cache')),
});
if (process.env.ORCH_DEBUG_CODE_CACHE) process.stderr.write(`code cache ${script.cachedDataRejected ? 'rejected' : 'accepted'}\n`);
script.runInThisContext()(exports, require, module, __filename, __dirname);
