/**
 * The CLI starts without the server (issue #20, CLI start-up): what `src/main.ts` evaluates
 * before a command runs — the static imports reachable from `src/cli/index.ts` — holds the
 * command table, the flag parser and the client, never the engine, the store's driver, the
 * HTTP stack or the validators. Each command's `run` imports its implementation (`import()`,
 * which esbuild keeps inside the one bundle). Checked on the real import graph, read by esbuild
 * with the build's own options (its metafile: which file imports which, and how).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as esbuild from 'esbuild';
import { esbuildOptions } from '../../bundle/esbuild-config.mjs';

const ROOT = join(import.meta.dirname, '..', '..');

/** Packages and source files a CLI start must not evaluate. */
const HEAVY = [
  /node_modules\/(zod|ajv|drizzle-orm|better-sqlite3|hono|@hono\/node-server|jose|prom-client|pino|ws|semver|pg)\//,
  /^src\/(engine|store|dags|bundles|lifecycle|events)\/index\.ts$/,
  /^src\/(http|console|ops)\//,
  /^src\/cli\/(server|serve)\.ts$/,
];

/** Every input file reachable from `entry` through static imports and requires (not `import()`). */
async function staticGraph(entry: string): Promise<{ statics: Set<string>; all: string[] }> {
  const r = await esbuild.build({
    ...esbuildOptions({ root: ROOT, entries: [{ in: entry, out: 'main' }], outdir: join(ROOT, 'dist-unused'), version: '0.0.0' }),
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = r.metafile.inputs;
  const statics = new Set<string>();
  const stack = [entry];
  while (stack.length) {
    const file = stack.pop()!;
    if (statics.has(file) || !inputs[file]) continue;
    statics.add(file);
    for (const i of inputs[file]!.imports) if (i.kind !== 'dynamic-import' && !i.external) stack.push(i.path);
  }
  return { statics, all: Object.keys(inputs) };
}

const heavyIn = (files: Iterable<string>): string[] => [...files].filter((f) => HEAVY.some((re) => re.test(f))).sort();

test('src/cli/index.ts reaches no heavy module statically; the commands still bundle them (import())', async () => {
  const { statics, all } = await staticGraph('src/cli/index.ts');
  assert.deepEqual(heavyIn(statics), [], 'a command file imports these at its top: import them in its run() instead');
  // The lazily loaded implementations are still in the one bundle (esbuild followed the import()s).
  for (const f of ['src/cli/serve.ts', 'src/cli/server.ts', 'src/store/index.ts', 'src/bundles/index.ts', 'src/lifecycle/index.ts']) assert.ok(all.includes(f), `${f} is not in the bundle`);
  assert.ok(all.some((f) => f.includes('node_modules/zod/')), 'zod is not in the bundle');
  // The start is small: a few dozen files (the whole program is ~800).
  assert.ok(statics.size < 100, `${statics.size} files evaluated before a command runs`);
});

test('the check sees a static import: what the server builds after listening reaches the heavy modules', async () => {
  const { statics } = await staticGraph('src/cli/server-parts.ts');
  const found = heavyIn(statics);
  for (const re of [/node_modules\/zod\//, /node_modules\/better-sqlite3\//, /^src\/store\/index\.ts$/, /^src\/http\//]) {
    assert.ok(found.some((f) => re.test(f)), `the graph of serve.ts should reach ${re}`);
  }
});

test("the bundle holds zod's English messages only (esbuild-config.mjs zodEnglishOnly), and zod still answers in English", async () => {
  const { all } = await staticGraph('src/cli/serve.ts');
  const locales = all.filter((f) => /^node_modules\/zod\/v4\/locales\/[^/]+\.js$/.test(f)).map((f) => f.replace(/.*\//, ''));
  assert.deepEqual(locales, ['en.js'], 'other zod locales are bundled (about 400 KB evaluated at every start)');
  const { z } = await import('zod');
  assert.match(z.string().safeParse(1).error!.issues[0]!.message, /^Invalid input: expected string/);
});

test("serve's start does not load the HTTP adapter: @hono/node-server (and Node's undici, which its import loads) come after `listening`", async () => {
  // src/cli/listener.ts binds the port first and imports the adapter in attach(); the stream route imports it per upgrade.
  const { statics, all } = await staticGraph('src/cli/serve.ts');
  assert.deepEqual([...statics].filter((f) => f.includes('node_modules/@hono/node-server/')), [], 'a module of the server imports @hono/node-server at its top');
  assert.ok(all.some((f) => f.includes('node_modules/@hono/node-server/')), '@hono/node-server is not in the bundle');
});

/** What `serve` evaluates only after `listening` (src/cli/server.ts imports them once the port is bound: server-parts.ts). */
const AFTER_LISTENING = [
  /^src\/http\/routes\//, // the route table and its schemas
  /^src\/(engine|runs|schedules|ops|console|bundles)\/index\.ts$/,
  /^src\/engine\/pool\/sandbox\.ts$/, // node:child_process
  /^src\/(dags\/model|http\/app|lifecycle\/backup)\.ts$/,
  /node_modules\/(zod|hono|prom-client|ajv|semver)\//,
];

test("serve's start binds the port before it evaluates the engine, the routes, zod and hono (server-parts.ts after `listening`)", async () => {
  const { statics, all } = await staticGraph('src/cli/serve.ts');
  const early = [...statics].filter((f) => AFTER_LISTENING.some((re) => re.test(f))).sort();
  assert.deepEqual(early, [], 'a module that serve evaluates before listening imports these at its top');
  for (const f of ['src/cli/server-parts.ts', 'src/http/routes/index.ts', 'src/engine/index.ts']) assert.ok(all.includes(f), `${f} is not in the bundle`);
  assert.ok(statics.size < 300, `${statics.size} files evaluated before listening`);
});

test("the bundle's prom-client loads its Pushgateway (node:https, node:tls) and cluster registry on first use only (esbuild-config.mjs promClientLazyExtras)", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'orch-prom-lazy-'));
  try {
    // Bundled with the build's own options, from a one-line entry that resolves in this checkout.
    const options = esbuildOptions({ root: ROOT, entries: [], outdir: dir, version: '0.0.0' });
    const stdin = { contents: "export * as prom from 'prom-client';", resolveDir: ROOT, loader: 'ts' as const };
    await esbuild.build({ ...options, entryPoints: undefined, outdir: undefined, stdin, outfile: join(dir, 'entry.cjs'), logLevel: 'silent' });
    const probe = `const { prom } = require(${JSON.stringify(join(dir, 'entry.cjs'))});
      const loaded = (m) => process.moduleLoadList.includes('NativeModule ' + m);
      const before = { https: loaded('https'), tls: loaded('tls'), registry: typeof prom.Registry };
      const after = { pushgateway: typeof prom.Pushgateway, aggregator: typeof prom.AggregatorRegistry, https: loaded('https') };
      process.stdout.write(JSON.stringify({ before, after, keys: Object.keys(prom).includes('Pushgateway') }));`;
    const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      before: { https: false, tls: false, registry: 'function' },
      after: { pushgateway: 'function', aggregator: 'function', https: true },
      keys: true,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
