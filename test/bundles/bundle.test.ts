import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError } from '../../src/core/errors.js';
import { canonicalJson } from '../../src/core/hash.js';
import { DagService } from '../../src/dags/service.js';
import { dsseSign, generateSigningKeyPair, TrustStore } from '../../src/dags/signature.js';
import { hashPluginFiles } from '../../src/engine/plugins/files.js';
import { BundleError, createBundle, importBundle, verifyBundle, type ImportOptions } from '../../src/bundles/index.js';
import { MANIFEST_PATH, SIGNATURE_PATH } from '../../src/bundles/manifest.js';
import { readTar } from '../../src/bundles/tar.js';
import { gunzipStrict } from '../../src/bundles/gzip.js';
import { bundleLimits } from '../../src/bundles/limits.js';
import { dag, devKey, flip, openEnv, packSigned, payloadOf, pluginFiles, repack, snapshot, TENANTS, trust, unpackFiles, type Env } from './helpers.js';

const sample = () => ({ tenants: TENANTS, dags: [dag('alpha'), dag('beta', '2.0.0'), dag('beta', '1.0.0')], plugins: [{ name: 'greeter', files: pluginFiles('greeter') }], privateKeyPem: devKey });

function withEnv(fn: (env: Env) => void | Promise<void>) {
  return async () => {
    const env = openEnv();
    try {
      await fn(env);
    } finally {
      env.close();
    }
  };
}

function importInto(env: Env, bytes: Buffer, extra: Partial<ImportOptions> = {}) {
  // The import sees the plugins the registry has loaded (reload it after an import that installed some).
  return importBundle(bytes, { tenant: 'acme', dags: env.dags, tenantPluginsDir: env.pluginsDir, ...extra });
}

/** Asserts the bundle is refused with `code`/`reason` and that nothing at all changed. */
async function refusedWithoutChange(env: Env, bytes: Buffer, code: string, reason?: string, match?: RegExp, tenant = 'acme'): Promise<ApiError> {
  const before = snapshot(env);
  let caught: ApiError | undefined;
  await assert.rejects(
    importInto(env, bytes, { tenant }),
    (e: unknown) => {
      assert.ok(e instanceof ApiError, `expected an ApiError, got ${String(e)}`);
      assert.equal(e.code, code, e.message);
      if (reason) assert.equal((e as BundleError).reason, reason, e.message);
      if (match) assert.match(e.message, match);
      caught = e;
      return true;
    },
  );
  assert.equal(snapshot(env), before, 'the installation changed');
  return caught!;
}

test('the same inputs give byte-identical bundles (Ed25519), whatever the input order', () => {
  const a = createBundle(sample());
  const s = sample();
  const b = createBundle({ ...s, dags: [...s.dags].reverse() });
  assert.ok(a.bytes.equals(b.bytes));
  assert.equal(a.rootHash, b.rootHash);
  assert.deepEqual(
    a.manifest.entries.map((e) => e.path),
    ['dags/alpha/1.0.0.json', 'dags/beta/1.0.0.json', 'dags/beta/2.0.0.json', 'plugins/greeter/index.mjs', 'plugins/greeter/plugin.json'],
  );
  const files = unpackFiles(a.bytes);
  assert.equal(files.get(MANIFEST_PATH)!.toString(), canonicalJson(a.manifest));
  assert.equal(files.get('dags/alpha/1.0.0.json')!.toString(), canonicalJson(dag('alpha')));
});

test('with a P-256 key only manifest.sig.json differs between two runs', () => {
  const p256 = generateSigningKeyPair('p256');
  const a = createBundle({ ...sample(), privateKeyPem: p256.privateKeyPem });
  const b = createBundle({ ...sample(), privateKeyPem: p256.privateKeyPem });
  const limits = bundleLimits();
  const ea = readTar(gunzipStrict(a.bytes, 1 << 24), limits);
  const eb = readTar(gunzipStrict(b.bytes, 1 << 24), limits);
  assert.deepEqual(ea.map((e) => e.path), eb.map((e) => e.path));
  for (let i = 0; i < ea.length; i++) {
    if (ea[i]!.path !== SIGNATURE_PATH) assert.ok(ea[i]!.data.equals(eb[i]!.data), ea[i]!.path);
  }
});

test('createBundle refuses unsigned, tampered and invalid inputs', () => {
  const { signature: _s, ...unsigned } = dag('alpha');
  assert.throws(() => createBundle({ tenants: TENANTS, dags: [unsigned], privateKeyPem: devKey }), /not signed/);
  const tampered = { ...dag('alpha'), metadata: { description: 'changed after signing' } };
  assert.throws(() => createBundle({ tenants: TENANTS, dags: [tampered], privateKeyPem: devKey }), /differs from its signed payload/);
  assert.throws(() => createBundle({ tenants: TENANTS, dags: [dag('alpha'), dag('alpha', '1.0.0', { description: 'other' })], privateKeyPem: devKey }), /given twice/);
  assert.throws(() => createBundle({ tenants: TENANTS, dags: [], plugins: [{ name: 'noop', files: pluginFiles('noop') }], privateKeyPem: devKey }), /built-in/);
  assert.throws(() => createBundle({ tenants: TENANTS, dags: [], plugins: [{ name: 'other', files: pluginFiles('greeter') }], privateKeyPem: devKey }), /must match its folder/);
  assert.throws(() => createBundle({ tenants: TENANTS, dags: [], plugins: [{ name: 'greeter', files: pluginFiles('greeter').slice(1) }], privateKeyPem: devKey }), /entry index\.mjs is not in the plugin folder/);
});

test('verifyBundle accepts a good bundle and reports what it holds', () => {
  const { bytes, rootHash } = createBundle(sample());
  const v = verifyBundle(bytes, trust);
  assert.equal(v.rootHash, rootHash);
  assert.deepEqual(v.signedBy, trust.keyIds());
  assert.deepEqual(v.dags.map((d) => `${d.doc.dagId}@${d.doc.version}`), ['alpha@1.0.0', 'beta@1.0.0', 'beta@2.0.0']);
  assert.deepEqual(v.plugins.map((p) => `${p.name}@${p.version}`), ['greeter@1.0.0']);
  assert.equal(v.fileCount, 5);
});

test('import installs DAGs and plugins; importing again changes nothing', withEnv(async (env) => {
  const { bytes } = createBundle(sample());
  const r1 = await importInto(env, bytes);
  assert.equal(r1.changed, true);
  assert.deepEqual(r1.dags.map((d) => [d.dagId, d.version, d.created]), [['alpha', '1.0.0', true], ['beta', '1.0.0', true], ['beta', '2.0.0', true]]);
  assert.deepEqual(r1.plugins, [{ name: 'greeter', version: '1.0.0', contentHash: hashPluginFiles(pluginFiles('greeter')), installed: true }]);
  const listed = env.store.dags.list({ tenant: 'acme', limit: 100 }).map((r) => `${r.dagId}@${r.version}`);
  assert.deepEqual(listed, ['alpha@1.0.0', 'beta@2.0.0', 'beta@1.0.0']);
  assert.deepEqual(env.store.dags.list({ tenant: 'other', limit: 100 }), []);
  // The plugin belongs to the tenant it was imported for: DATA/tenant-plugins/<tenant>/<name>@<version>/.
  assert.equal(readFileSync(join(env.pluginsDir, 'acme', 'greeter@1.0.0', 'plugin.json'), 'utf8'), pluginFiles('greeter')[1]!.data.toString());
  assert.equal((await env.dags.get('acme', 'alpha', '1.0.0')).hash, r1.dags[0]!.hash);

  const before = snapshot(env);
  const r2 = await importInto(env, bytes);
  assert.equal(r2.changed, false);
  assert.ok(r2.dags.every((d) => !d.created));
  assert.deepEqual(r2.plugins.map((p) => p.installed), [false]);
  assert.equal(snapshot(env), before);
  // No staging folder is left behind.
  assert.deepEqual(readdirNames(env.pluginsDir), ['acme']);
  assert.deepEqual(readdirNames(join(env.pluginsDir, 'acme')), ['greeter@1.0.0']);
}));

function readdirNames(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

test('every damaged or untrusted bundle is refused and installs nothing', withEnv(async (env) => {
  await importInto(env, createBundle({ tenants: TENANTS, dags: [dag('existing')], privateKeyPem: devKey }).bytes);
  const { bytes } = createBundle(sample());
  const files = unpackFiles(bytes);

  const flipDag = new Map(files);
  const d = Buffer.from(flipDag.get('dags/alpha/1.0.0.json')!);
  flip(d, 10);
  flipDag.set('dags/alpha/1.0.0.json', d);
  await refusedWithoutChange(env, repack(flipDag), 'VALIDATION_FAILED', 'HASH_MISMATCH', /dags\/alpha\/1\.0\.0\.json/);

  const flipManifest = new Map(files);
  const m = Buffer.from(flipManifest.get(MANIFEST_PATH)!);
  flip(m, m.indexOf('"size":') + 7); // one digit of a size
  flipManifest.set(MANIFEST_PATH, m);
  await refusedWithoutChange(env, repack(flipManifest), 'SIGNATURE_INVALID', 'MANIFEST_MISMATCH');

  const flipGzip = Buffer.from(bytes);
  flip(flipGzip, Math.floor(bytes.length / 2), 0x10);
  await refusedWithoutChange(env, flipGzip, 'VALIDATION_FAILED', 'ARCHIVE_INVALID');

  const missing = new Map(files);
  missing.delete('dags/beta/2.0.0.json');
  await refusedWithoutChange(env, repack(missing), 'VALIDATION_FAILED', 'FILE_MISSING', /dags\/beta\/2\.0\.0\.json/);

  const missingPlugin = new Map(files);
  missingPlugin.delete('plugins/greeter/index.mjs');
  await refusedWithoutChange(env, repack(missingPlugin), 'VALIDATION_FAILED', 'FILE_MISSING');

  const extra = new Map(files);
  extra.set('dags/evil/1.0.0.json', Buffer.from(canonicalJson(dag('evil'))));
  await refusedWithoutChange(env, repack(extra), 'VALIDATION_FAILED', 'FILE_UNLISTED', /dags\/evil/);

  const noSig = new Map(files);
  noSig.delete(SIGNATURE_PATH);
  await refusedWithoutChange(env, repack(noSig), 'VALIDATION_FAILED', 'MANIFEST_MISSING');

  const badSig = new Map(files);
  const env_ = JSON.parse(badSig.get(SIGNATURE_PATH)!.toString());
  const sig = Buffer.from(env_.signatures[0].sig, 'base64');
  flip(sig, 5);
  env_.signatures[0].sig = sig.toString('base64');
  badSig.set(SIGNATURE_PATH, Buffer.from(JSON.stringify(env_)));
  const e1 = await refusedWithoutChange(env, repack(badSig), 'SIGNATURE_INVALID', 'SIGNATURE_INVALID', /does not verify/);
  assert.match(JSON.stringify(e1.details), /signature does not verify/);

  const otherKey = generateSigningKeyPair('ed25519');
  const e2 = await refusedWithoutChange(env, createBundle({ ...sample(), privateKeyPem: otherKey.privateKeyPem }).bytes, 'SIGNATURE_INVALID', 'SIGNATURE_INVALID');
  assert.match(JSON.stringify(e2.details), /unknown keyid/);

  // A tampered payload with a freshly computed manifest signed by an untrusted key.
  const resigned = payloadOf(bytes);
  resigned.set('dags/alpha/1.0.0.json', Buffer.from(canonicalJson({ ...dag('alpha'), metadata: { description: 'evil' } })));
  await refusedWithoutChange(env, packSigned(resigned, otherKey.privateKeyPem), 'SIGNATURE_INVALID', 'SIGNATURE_INVALID');
  // Same, signed by the trusted key: the DAG's own signature no longer matches its content.
  await refusedWithoutChange(env, packSigned(resigned), 'SIGNATURE_INVALID', 'DAG_SIGNATURE_INVALID', /dags\/alpha\/1\.0\.0\.json/);
  // A DAG signed by an untrusted key inside a trusted bundle.
  const foreign = payloadOf(bytes);
  foreign.set('dags/alpha/1.0.0.json', Buffer.from(canonicalJson(dag('alpha', '1.0.0', { key: otherKey.privateKeyPem }))));
  await refusedWithoutChange(env, packSigned(foreign), 'SIGNATURE_INVALID', 'DAG_SIGNATURE_INVALID');

  await refusedWithoutChange(env, repack(files, [{ name: '../x', typeflag: '0', data: Buffer.from('x') }]), 'VALIDATION_FAILED', 'UNSAFE_PATH', /\.\.\/x/);
  await refusedWithoutChange(env, repack(files, [{ name: 'plugins/greeter/link', typeflag: '2', linkname: '/etc/passwd' }]), 'VALIDATION_FAILED', 'UNSUPPORTED_ENTRY', /symlink/);
  await refusedWithoutChange(env, repack(files, [{ name: 'dags/alpha/1.0.0.json', typeflag: '0', data: Buffer.from('{}') }]), 'VALIDATION_FAILED', 'DUPLICATE_PATH');

  const wrongPlace = payloadOf(bytes);
  wrongPlace.set('README.md', Buffer.from('hi'));
  await refusedWithoutChange(env, packSigned(wrongPlace), 'VALIDATION_FAILED', 'LAYOUT_INVALID', /README\.md/);
  const wrongPath = payloadOf(bytes);
  wrongPath.set('dags/alpha/9.9.9.json', wrongPath.get('dags/alpha/1.0.0.json')!);
  await refusedWithoutChange(env, packSigned(wrongPath), 'VALIDATION_FAILED', 'DAG_INVALID', /its path says alpha@9\.9\.9/);
  const badPlugin = payloadOf(bytes);
  badPlugin.set('plugins/greeter/plugin.json', Buffer.from('{"name":"greeter"}'));
  await refusedWithoutChange(env, packSigned(badPlugin), 'VALIDATION_FAILED', 'PLUGIN_INVALID');
  const notJson = payloadOf(bytes);
  notJson.set('dags/alpha/1.0.0.json', Buffer.from('{"dagId":'));
  await refusedWithoutChange(env, packSigned(notJson), 'VALIDATION_FAILED', 'DAG_INVALID');

  await refusedWithoutChange(env, bytes.subarray(0, bytes.length - 20), 'VALIDATION_FAILED', 'ARCHIVE_INVALID');
  await refusedWithoutChange(env, Buffer.from('definitely not a bundle'), 'VALIDATION_FAILED', 'ARCHIVE_INVALID');
}));

test('a manifest that is not canonical, unsorted, or has a wrong rootHash is refused even when signed', withEnv(async (env) => {
  const { bytes, manifest } = createBundle(sample());
  const files = unpackFiles(bytes);
  const resign = (text: string) => {
    const f = new Map(files);
    f.set(MANIFEST_PATH, Buffer.from(text));
    f.set(SIGNATURE_PATH, Buffer.from(JSON.stringify(dsseSign('application/vnd.stellaops.orchestrator.bundle+json', text, devKey))));
    return repack(f);
  };
  await refusedWithoutChange(env, resign(JSON.stringify(manifest, null, 2)), 'VALIDATION_FAILED', 'MANIFEST_INVALID', /canonical/);
  await refusedWithoutChange(env, resign(canonicalJson({ ...manifest, rootHash: '0'.repeat(64) })), 'VALIDATION_FAILED', 'ROOT_HASH_MISMATCH');
  const unsorted = [...manifest.entries].reverse();
  await refusedWithoutChange(env, resign(canonicalJson({ ...manifest, entries: unsorted })), 'VALIDATION_FAILED', 'MANIFEST_INVALID', /sorted/);
  await refusedWithoutChange(env, resign(canonicalJson({ ...manifest, format: 'other/9' })), 'VALIDATION_FAILED', 'MANIFEST_INVALID');
}));

test('a bundle whose second DAG conflicts with a stored version installs nothing', withEnv(async (env) => {
  await env.dags.publish('acme', dag('zeta', '1.0.0', { description: 'the original' }));
  const bundle = createBundle({ tenants: TENANTS,
    dags: [dag('alpha'), dag('zeta', '1.0.0', { description: 'different content' })],
    plugins: [{ name: 'greeter', files: pluginFiles('greeter') }],
    privateKeyPem: devKey,
  });
  const e = await refusedWithoutChange(env, bundle.bytes, 'DAG_VERSION_EXISTS', undefined, /dags\/zeta\/1\.0\.0\.json/);
  assert.equal(e.details?.path, 'dags/zeta/1.0.0.json');
  assert.equal(env.store.dags.get('acme', 'alpha', '1.0.0'), undefined);
  assert.equal(existsSync(join(env.pluginsDir, 'acme', 'greeter@1.0.0')), false);
  // The same bundle goes into another tenant, where nothing conflicts.
  assert.equal((await importBundle(bundle.bytes, { tenant: 'other', dags: env.dags, tenantPluginsDir: env.pluginsDir })).changed, true);
}));

test('a failure inside the transaction rolls back every DAG and removes the new plugin folders', withEnv(async (env) => {
  class FailingSecond extends DagService {
    calls = 0;
    override async publishIn(...args: Parameters<DagService['publishIn']>) {
      if (++this.calls === 2) throw new ApiError('INSUFFICIENT_STORAGE', 'disk full (simulated)');
      return super.publishIn(...args);
    }
  }
  const dags = new FailingSecond(env.dags['deps']);
  const before = snapshot(env);
  await assert.rejects(importBundle(createBundle(sample()).bytes, { tenant: 'acme', dags, tenantPluginsDir: env.pluginsDir }),
    (e: unknown) => e instanceof ApiError && e.code === 'INSUFFICIENT_STORAGE',
  );
  assert.equal(dags.calls, 2);
  assert.equal(snapshot(env), before);
  assert.deepEqual(readdirNames(join(env.pluginsDir, 'acme')), []);
}));

test('DAG validation at import knows the installed plugins and the bundle\'s own', withEnv(async (env) => {
  const usesGreeter = dag('greet', '1.0.0', { plugin: 'greeter' });
  const without = createBundle({ tenants: TENANTS, dags: [usesGreeter], privateKeyPem: devKey }).bytes;
  const e = await refusedWithoutChange(env, without, 'DAG_INVALID', undefined, /dags\/greet\/1\.0\.0\.json/);
  assert.match(JSON.stringify(e.details), /UNKNOWN_PLUGIN/);
  const withPlugin = createBundle({ tenants: TENANTS, dags: [usesGreeter], plugins: [{ name: 'greeter', files: pluginFiles('greeter') }], privateKeyPem: devKey }).bytes;
  assert.equal((await importInto(env, withPlugin)).changed, true);
  const pinned = createBundle({ tenants: TENANTS, dags: [dag('greet', '2.0.0', { plugin: 'greeter@9.0.0' })], plugins: [{ name: 'greeter', files: pluginFiles('greeter') }], privateKeyPem: devKey }).bytes;
  await refusedWithoutChange(env, pinned, 'DAG_INVALID');
  // Once the tenant has the plugin, a DAG that names it needs no copy in the bundle...
  env.registry.reload();
  assert.equal((await importInto(env, without)).changed, false);
  // ...but another tenant does not resolve it.
  const other = await refusedWithoutChange(env, without, 'DAG_INVALID', undefined, /unknown plugin "greeter"/, 'other');
  assert.match(JSON.stringify(other.details), /UNKNOWN_PLUGIN/);
}));

test('plugins: identical content is fine, different content is a conflict, a plugins folder is required', withEnv(async (env) => {
  const bundle = createBundle(sample()).bytes;
  const folder = join(env.pluginsDir, 'acme', 'greeter@1.0.0');
  mkdirSync(folder, { recursive: true });
  for (const f of pluginFiles('greeter')) writeFileSync(join(folder, f.path), f.data);
  const r = await importInto(env, bundle);
  assert.deepEqual(r.plugins.map((p) => [p.name, p.installed]), [['greeter', false]]);
  assert.equal(r.changed, true);

  const v2 = createBundle({ tenants: TENANTS, dags: [dag('gamma')], plugins: [{ name: 'greeter', files: pluginFiles('greeter', '1.0.0', 'export default async () => ({ changed: true });\n') }], privateKeyPem: devKey }).bytes;
  const e = await refusedWithoutChange(env, v2, 'VALIDATION_FAILED', 'PLUGIN_CONFLICT', /greeter/);
  assert.equal(e.details?.plugin, 'greeter@1.0.0');
  assert.equal(env.store.dags.get('acme', 'gamma', '1.0.0'), undefined);

  const before = snapshot(env);
  await assert.rejects(importBundle(bundle, { tenant: 'acme', dags: env.dags }), (err: unknown) => err instanceof BundleError && err.reason === 'PLUGINS_DIR_REQUIRED');
  await assert.rejects(importBundle(bundle, { tenant: 'Not A Tenant', dags: env.dags, tenantPluginsDir: env.pluginsDir }), /invalid tenant/);
  assert.equal(snapshot(env), before);
}));

test('limits: a zip bomb and too many entries are refused before they cost memory', withEnv(async (env) => {
  const big = createBundle({ tenants: TENANTS, dags: [dag('alpha')], plugins: [{ name: 'blob', files: [...pluginFiles('blob'), { path: 'zeros.bin', data: Buffer.alloc(4 * 1024 * 1024) }] }], privateKeyPem: devKey }).bytes;
  assert.ok(big.length < 64 * 1024);
  const before = snapshot(env);
  await assert.rejects(importInto(env, big, { limits: { maxUnpackedBytes: 1024 * 1024 } }), (e: unknown) => e instanceof BundleError && e.reason === 'LIMIT_EXCEEDED');
  await assert.rejects(importInto(env, big, { limits: { maxEntries: 3 } }), (e: unknown) => e instanceof BundleError && e.reason === 'LIMIT_EXCEEDED');
  assert.throws(() => verifyBundle(big, trust as TrustStore, { limits: { maxBundleBytes: 100 } }), /larger than 100 bytes/);
  assert.equal(snapshot(env), before);
}));

test('a bundle is bound to the tenants its signed manifest names', withEnv(async (env) => {
  const forAcme = createBundle({ ...sample(), tenants: ['acme'] }).bytes;
  assert.deepEqual(verifyBundle(forAcme, trust).tenants, ['acme']);
  const e = await refusedWithoutChange(env, forAcme, 'SIGNATURE_INVALID', 'TENANT_MISMATCH', /signed for tenant\(s\) acme, not for other/, 'other');
  assert.deepEqual(e.details?.tenants, ['acme']);
  // Editing the tenants voids the signature.
  const files = unpackFiles(forAcme);
  files.set(MANIFEST_PATH, Buffer.from(files.get(MANIFEST_PATH)!.toString().replace('"tenants":["acme"]', '"tenants":["other"]')));
  await refusedWithoutChange(env, repack(files), 'SIGNATURE_INVALID', 'MANIFEST_MISMATCH', undefined, 'other');
  // A format /1 bundle (made before tenant binding) verifies, but no tenant may import it.
  const v1 = packSigned(payloadOf(forAcme), devKey, null);
  assert.deepEqual(verifyBundle(v1, trust).tenants, []);
  await refusedWithoutChange(env, v1, 'SIGNATURE_INVALID', 'TENANT_UNBOUND', /re-create it with "orchestrator bundle create --tenant T/);
  // Tenants must be valid ids, sorted, each once; at least one.
  assert.throws(() => createBundle({ ...sample(), tenants: [] }), /at least one tenant/);
  assert.throws(() => createBundle({ ...sample(), tenants: ['Bad Tenant'] }), /invalid tenant id "Bad Tenant"/);
  assert.deepEqual(createBundle({ ...sample(), tenants: ['b', 'a', 'b'] }).manifest.tenants, ['a', 'b']);
  await refusedWithoutChange(env, packSigned(payloadOf(forAcme), devKey, ['other', 'acme']), 'VALIDATION_FAILED', 'MANIFEST_INVALID', /tenants are not sorted/);
}));

test('keys in a tenant trust sub-folder sign bundles for that tenant only', withEnv(async (env) => {
  const acmeKey = generateSigningKeyPair();
  const dir = join(env.dir, 'trust');
  mkdirSync(join(dir, 'acme'), { recursive: true });
  writeFileSync(join(dir, 'acme', 'acme.pub'), acmeKey.publicKeyPem);
  const scoped = TrustStore.fromDir(dir);
  // Signed by acme's key for both tenants: acme may import it, other may not.
  const bytes = createBundle({ tenants: TENANTS, dags: [dag('by-acme', '1.0.0', { key: acmeKey.privateKeyPem })], privateKeyPem: acmeKey.privateKeyPem }).bytes;
  const before = snapshot(env);
  await assert.rejects(importInto(env, bytes, { tenant: 'other', trust: scoped }),
    (e: unknown) => e instanceof BundleError && e.code === 'SIGNATURE_INVALID' && /signed by [0-9a-f]{64}, a key not trusted for tenant other/.test(e.message) && (e.details?.signedBy as string[])[0] === acmeKey.keyid,
  );
  assert.equal(snapshot(env), before);
  // Where the key is not trusted at all, it is an unknown key.
  await refusedWithoutChange(env, bytes, 'SIGNATURE_INVALID', 'SIGNATURE_INVALID', /no signature verifies with a trusted key/);
  assert.equal((await importInto(env, bytes, { tenant: 'acme', trust: scoped })).changed, true);
  assert.deepEqual(verifyBundle(bytes, scoped, { tenant: 'acme' }).signedBy, [acmeKey.keyid]);
}));

test('a plugin that collides with an operator plugin (same name@version, other content) is refused before anything is installed', withEnv(async (env) => {
  mkdirSync(join(env.operatorDir, 'greeter'));
  for (const f of pluginFiles('greeter', '1.0.0', 'export default async () => ({ operator: true });\n')) writeFileSync(join(env.operatorDir, 'greeter', f.path), f.data);
  env.registry.reload();
  const e = await refusedWithoutChange(env, createBundle(sample()).bytes, 'VALIDATION_FAILED', 'PLUGIN_CONFLICT', /greeter@1\.0\.0 is already installed as an installation-wide plugin/);
  assert.equal(e.details?.path, 'plugins/greeter/');
  // The identical files are fine: the tenant gets its own copy.
  writeFileSync(join(env.operatorDir, 'greeter', 'index.mjs'), pluginFiles('greeter')[0]!.data);
  env.registry.reload();
  assert.deepEqual((await importInto(env, createBundle(sample()).bytes)).plugins.map((p) => p.installed), [true]);
}));

test('versions of a tenant plugin live side by side; DAGs are pinned to what the tenant resolves with the bundle in', withEnv(async (env) => {
  const v1 = createBundle({ tenants: TENANTS, dags: [dag('greet', '1.0.0', { plugin: 'greeter' })], plugins: [{ name: 'greeter', files: pluginFiles('greeter', '1.0.0') }], privateKeyPem: devKey });
  const v2 = createBundle({ tenants: TENANTS, dags: [dag('greet', '2.0.0', { plugin: 'greeter' })], plugins: [{ name: 'greeter', files: pluginFiles('greeter', '2.0.0') }], privateKeyPem: devKey });
  await importInto(env, v1.bytes);
  env.registry.reload();
  await importInto(env, v2.bytes);
  env.registry.reload();
  assert.deepEqual(readdirNames(join(env.pluginsDir, 'acme')), ['greeter@1.0.0', 'greeter@2.0.0']);
  const pins = (version: string) => JSON.parse(env.store.dags.get('acme', 'greet', version)!.pluginPins!);
  assert.equal(pins('1.0.0').greeter.version, '1.0.0');
  assert.equal(pins('1.0.0').greeter.contentHash, hashPluginFiles(pluginFiles('greeter', '1.0.0')));
  assert.equal(pins('2.0.0').greeter.version, '2.0.0');
  assert.equal(env.registry.resolveFor('acme', 'greeter')?.version, '2.0.0');
  assert.equal(env.registry.resolveFor('other', 'greeter'), undefined);
  // Another tenant's greeter@1.0.0 of other content is no conflict: neither resolves the other's.
  const theirs = createBundle({ tenants: ['other'], dags: [], plugins: [{ name: 'greeter', files: pluginFiles('greeter', '1.0.0', 'export default async () => ({ theirs: true });\n') }], privateKeyPem: devKey });
  assert.deepEqual((await importInto(env, theirs.bytes, { tenant: 'other' })).plugins.map((p) => p.installed), [true]);
  env.registry.reload();
  assert.notEqual(env.registry.resolveFor('other', 'greeter@1.0.0')?.hash, env.registry.resolveFor('acme', 'greeter@1.0.0')?.hash);
}));
