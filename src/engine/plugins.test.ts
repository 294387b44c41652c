import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalHash, sha256Hex } from '../core/hash.js';
import { VERSION } from '../core/runtime.js';
import { BUILTIN_NAMES, loadPlugins, PluginLoadError } from './index.js';
import { GOOD_FIXTURES, SAMPLE_PLUGINS, tempDir } from './test-support.js';

function plugin(root: string, folder: string, manifest: Record<string, unknown> | string, entry = 'export default async () => ({});'): string {
  const dir = join(root, folder);
  mkdirSync(dir, { recursive: true });
  const m = typeof manifest === 'string' ? manifest : JSON.stringify({ name: folder, version: '1.0.0', entry: 'index.mjs', description: 'd', capabilities: { network: false, exec: [] }, ...manifest });
  writeFileSync(join(dir, 'plugin.json'), m);
  writeFileSync(join(dir, 'index.mjs'), entry);
  return dir;
}

function loadError(dirs: string[], pattern: RegExp): void {
  assert.throws(
    () => loadPlugins(dirs),
    (e: unknown) => {
      assert.ok(e instanceof PluginLoadError, String(e));
      assert.match(e.message, pattern);
      return true;
    },
  );
}

test('built-ins are always present, versioned with the program, hashed by name/version', () => {
  const r = loadPlugins([]);
  assert.deepEqual(r.list().map((p) => p.name), [...BUILTIN_NAMES].sort());
  for (const name of BUILTIN_NAMES) {
    const p = r.resolve(name)!;
    assert.equal(p.builtin, true);
    assert.equal(p.version, VERSION);
    assert.equal(p.hash, canonicalHash({ builtin: name, version: VERSION }));
    assert.deepEqual(p.workerRef, { name, version: VERSION, builtin: true });
    assert.equal(r.resolve(`${name}@${VERSION}`), p);
  }
  assert.equal(r.has('echo'), true);
  assert.equal(r.has('echo@0.0.0-nope'), false);
  assert.equal(r.resolve('missing'), undefined);
});

test('folder plugins load, hash plugin.json + entry, and resolve by name or name@version', () => {
  const r = loadPlugins([SAMPLE_PLUGINS, GOOD_FIXTURES]);
  const p = r.resolve('digest-manifest')!;
  assert.equal(p.version, '1.0.0');
  assert.equal(p.builtin, false);
  assert.equal(r.resolve('digest-manifest@1.0.0'), p);
  assert.equal(r.has('digest-manifest@2.0.0'), false);
  const manifest = readFileSync(join(SAMPLE_PLUGINS, 'digest-manifest', 'plugin.json'));
  const entry = readFileSync(join(SAMPLE_PLUGINS, 'digest-manifest', 'index.mjs'));
  assert.equal(p.hash, canonicalHash({ entry: sha256Hex(entry), manifest: sha256Hex(manifest) }));
  assert.ok(!p.workerRef.builtin && p.workerRef.entryUrl.startsWith('file://') && p.workerRef.entryUrl.includes('index.mjs?h='));
  assert.equal(p.capabilities.network, false);
  assert.ok(p.inputsSchema);
  assert.ok(r.has('misbehave'));
  const names = r.list().map((x) => x.name);
  assert.deepEqual(names, [...names].sort());
});

test('several versions: bare name resolves to the highest; same content twice is deduplicated', () => {
  const a = tempDir();
  const b = tempDir();
  const c = tempDir();
  plugin(a, 'multi', { version: '1.2.0' });
  plugin(b, 'multi', { version: '1.10.0' });
  plugin(c, 'multi', { version: '1.2.0' });
  const r = loadPlugins([a, b, c]);
  assert.equal(r.resolve('multi')?.version, '1.10.0');
  assert.equal(r.resolve('multi@1.2.0')?.version, '1.2.0');
  assert.equal(r.list().filter((p) => p.name === 'multi').length, 2);
});

test('load errors are clear', () => {
  const root = (): string => tempDir();
  let d = root();
  plugin(d, 'echo', {});
  loadError([d], /"echo" is a built-in plugin name and cannot be shadowed/);
  d = root();
  plugin(d, 'foo', { name: 'bar' });
  loadError([d], /name "bar" must match its folder "foo"/);
  d = root();
  plugin(d, 'broken', '{ not json');
  loadError([d], /plugin\.json: not valid JSON/);
  d = root();
  plugin(d, 'badver', { version: '1.0' });
  loadError([d], /version: must be a SemVer/);
  d = root();
  plugin(d, 'Bad_Name', { name: 'Bad_Name' });
  loadError([d], /name: lowercase/);
  d = root();
  plugin(d, 'noentry', { entry: 'missing.mjs' });
  loadError([d], /entry missing\.mjs not found/);
  d = root();
  plugin(d, 'escape', { entry: '../outside.mjs' });
  writeFileSync(join(d, 'outside.mjs'), 'export default 1');
  loadError([d], /entry must be a path inside the plugin folder/);
  d = root();
  const linked = plugin(d, 'linked', { entry: 'link.mjs' });
  writeFileSync(join(d, 'target.mjs'), 'export default async () => ({})');
  symlinkSync(join(d, 'target.mjs'), join(linked, 'link.mjs'));
  loadError([d], /entry must be a path inside the plugin folder/);
  d = root();
  plugin(d, 'absolute', { entry: '/etc/passwd' });
  loadError([d], /entry must be a path inside the plugin folder/);
  d = root();
  mkdirSync(join(d, 'empty'));
  loadError([d], /empty: missing plugin\.json/);
  loadError([join(d, 'nope')], /plugins folder not found/);
  const a = root();
  const b = root();
  plugin(a, 'twin', {}, 'export default async () => ({ a: 1 });');
  plugin(b, 'twin', {}, 'export default async () => ({ b: 1 });');
  loadError([a, b], /twin@1\.0\.0 is also in .* with different content/);
});

test('hidden folders and plain files in a plugins folder are ignored', () => {
  const d = tempDir();
  mkdirSync(join(d, '.git'));
  writeFileSync(join(d, 'README.md'), '# plugins');
  plugin(d, 'ok', {});
  assert.ok(loadPlugins([d]).has('ok@1.0.0'));
});
