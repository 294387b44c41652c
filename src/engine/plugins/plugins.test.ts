import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalHash, sha256Hex } from '../../core/hash.js';
import { VERSION } from '../../core/runtime.js';
import { BUILTIN_NAMES } from '../builtins/names.js';
import { loadPlugins, PluginLoadError } from './plugins.js';
import { GOOD_FIXTURES, SAMPLE_PLUGINS, tempDir } from '../pool/test-support.js';

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

test('folder plugins load, hash every file of their folder, and resolve by name or name@version', () => {
  const r = loadPlugins([SAMPLE_PLUGINS, GOOD_FIXTURES]);
  const p = r.resolve('digest-manifest')!;
  assert.equal(p.version, '1.0.0');
  assert.equal(p.builtin, false);
  assert.equal(r.resolve('digest-manifest@1.0.0'), p);
  assert.equal(r.has('digest-manifest@2.0.0'), false);
  const dir = join(SAMPLE_PLUGINS, 'digest-manifest');
  const files = readdirSync(dir).sort().map((path) => ({ path, data: readFileSync(join(dir, path)) }));
  assert.ok(files.some((f) => f.path === 'digest-manifest.test.ts'), 'a file beside the entry counts too');
  const entries = files.map((f) => ({ path: f.path, sha256: sha256Hex(f.data), size: f.data.length }));
  assert.equal(p.hash, canonicalHash({ files: entries }));
  assert.equal(p.owner, null);
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

test('tenant plugins: only their tenant resolves them; several versions side by side; a bare name is the highest of both sets', () => {
  const operator = tempDir();
  const tenants = tempDir();
  plugin(operator, 'shared', { version: '1.0.0' });
  plugin(join(tenants, 'a'), 'shared@2.0.0', { name: 'shared', version: '2.0.0' });
  plugin(join(tenants, 'a'), 'own@1.0.0', { name: 'own', version: '1.0.0' });
  plugin(join(tenants, 'a'), 'own@1.5.0', { name: 'own', version: '1.5.0' });
  plugin(join(tenants, 'b'), 'own@9.0.0', { name: 'own', version: '9.0.0' }, 'export default async () => ({ b: true });');
  const r = loadPlugins({ operator: [operator], tenantRoot: tenants });
  assert.deepEqual(r.warnings, []);
  // Installation-wide view: the operator's only.
  assert.equal(r.resolve('shared')?.version, '1.0.0');
  assert.equal(r.resolve('own'), undefined);
  assert.equal(r.has('shared@2.0.0'), false);
  // Tenant a: its own and the operator's; never b's.
  assert.equal(r.resolveFor('a', 'shared')?.version, '2.0.0');
  assert.equal(r.resolveFor('a', 'shared')?.owner, 'a');
  assert.equal(r.resolveFor('a', 'shared@1.0.0')?.owner, null);
  assert.equal(r.resolveFor('a', 'own')?.version, '1.5.0');
  assert.equal(r.resolveFor('a', 'own@1.0.0')?.version, '1.0.0');
  assert.equal(r.resolveFor('a', 'own@9.0.0'), undefined);
  assert.equal(r.resolveFor('b', 'own')?.version, '9.0.0');
  assert.equal(r.resolveFor('b', 'shared')?.version, '1.0.0');
  assert.equal(r.resolveFor('c', 'own'), undefined);
  assert.equal(r.resolveFor('c', 'noop')?.builtin, true);
  assert.equal(r.list().filter((p) => p.name === 'own').length, 3);
});

test('tenant and legacy folders never stop a load: problems are warnings, and the operator plugin wins a conflict', () => {
  const operator = tempDir();
  const legacy = tempDir();
  const tenants = tempDir();
  plugin(operator, 'twin', {}, 'export default async () => ({ operator: true });');
  plugin(legacy, 'twin', {}, 'export default async () => ({ legacy: true });');
  plugin(legacy, 'old', {});
  plugin(join(tenants, 'a'), 'twin@1.0.0', { name: 'twin' }, 'export default async () => ({ tenant: true });');
  plugin(join(tenants, 'a'), 'broken@1.0.0', '{ not json');
  plugin(join(tenants, 'a'), 'wrong@1.0.0', { name: 'wrong', version: '2.0.0' });
  plugin(join(tenants, 'a'), 'no-version', { name: 'no-version' });
  plugin(join(tenants, 'a'), 'echo@1.0.0', { name: 'echo' });
  plugin(join(tenants, 'Not A Tenant'), 'x@1.0.0', { name: 'x' });
  const r = loadPlugins({ operator: [operator], legacy: [legacy], tenantRoot: tenants });
  const warnings = r.warnings.join('\n');
  assert.match(warnings, /twin@1\.0\.0 is also in .* with different content; skipped/);
  assert.match(warnings, /twin@1\.0\.0 is also an installation-wide plugin .* that one is used; skipped/);
  assert.match(warnings, /broken@1\.0\.0[/\\]plugin\.json: not valid JSON; skipped/);
  assert.match(warnings, /version "2\.0\.0" must match its folder "wrong@1\.0\.0"/);
  assert.match(warnings, /no-version: folder name must be <name>@<version>/);
  assert.match(warnings, /"echo" is a built-in plugin name/);
  assert.match(warnings, /Not A Tenant: not a tenant id/);
  assert.equal(r.resolveFor('a', 'twin')?.dir, join(operator, 'twin'));
  assert.equal(r.resolve('old')?.owner, null, 'a legacy folder stays installation-wide');
  // The same problems in an operator folder are errors (start-up fails loudly).
  loadError([operator, legacy], /twin@1\.0\.0 is also in/);
});

test('pinned: exactly the pinned name@version and content for that tenant, or why not', () => {
  const operator = tempDir();
  const tenants = tempDir();
  plugin(operator, 'tool', {});
  plugin(join(tenants, 'a'), 'mine@1.0.0', { name: 'mine' });
  const r = loadPlugins({ operator: [operator], tenantRoot: tenants });
  const pin = (p: { name: string; version: string; hash: string; builtin: boolean }) => ({ name: p.name, version: p.version, contentHash: p.hash, builtin: p.builtin });
  const tool = r.resolve('tool')!;
  const mine = r.resolveFor('a', 'mine')!;
  assert.equal(r.pinned('b', pin(tool)).ok, true);
  assert.deepEqual(r.pinned('a', pin(mine)), { ok: true, plugin: mine });
  const other = r.pinned('b', pin(mine));
  assert.ok(!other.ok && other.reason === 'missing' && /mine@1\.0\.0 \(pinned by the DAG version\) is not installed/.test(other.message));
  const changed = r.pinned('a', { ...pin(tool), contentHash: '0'.repeat(64) });
  assert.ok(!changed.ok && changed.reason === 'changed');
  // A built-in pin holds whatever the program's version (built-ins change only with the program).
  const noop = r.pinned('a', { name: 'noop', version: '0.0.1', contentHash: 'x', builtin: true });
  assert.ok(noop.ok && noop.plugin.builtin);
  // The hash covers every file: a changed helper module is a changed plugin.
  writeFileSync(join(operator, 'tool', 'helper.mjs'), 'export const x = 1;');
  const reloaded = loadPlugins({ operator: [operator], tenantRoot: tenants });
  assert.equal(reloaded.pinned('a', pin(tool)).ok, false);
});
