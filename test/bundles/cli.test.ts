/**
 * `orchestrator bundle create|verify|import` end to end, the CLI as child processes
 * (test/helpers/program.ts: the test bundle, or from source with `TEST_CLI_FROM_SOURCE=1`).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKeyPair } from '../../src/dags/signature.js';
import { Store } from '../../src/store/index.js';
import { cli, dag, DEV_KEY_FILE, flip, TRUST_DIR, writePluginDir } from './helpers.js';

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'orch-bundle-cli-'));
  mkdirSync(join(dir, 'in'));
  writeFileSync(join(dir, 'in', 'alpha.json'), JSON.stringify(dag('alpha'), null, 2));
  writeFileSync(join(dir, 'in', 'beta.json'), JSON.stringify(dag('beta', '2.0.0')));
  writePluginDir(join(dir, 'in'), 'greeter');
});
after(() => rmSync(dir, { recursive: true, force: true }));

const createArgs = (out: string) => [
  'bundle', 'create', '--out', out, '--key', DEV_KEY_FILE, '--tenant', 'acme',
  '--dag', join(dir, 'in', 'beta.json'), '--dag', join(dir, 'in', 'alpha.json'),
  '--plugin', join(dir, 'in', 'greeter'),
];

test('create twice → identical files; verify → 0; import → 0, twice → unchanged', async () => {
  const [c1, c2] = await Promise.all([cli(createArgs(join(dir, 'one.tgz'))), cli(createArgs(join(dir, 'two.tgz')))]);
  assert.equal(c1.code, 0, c1.stderr);
  assert.equal(c2.code, 0, c2.stderr);
  assert.ok(readFileSync(join(dir, 'one.tgz')).equals(readFileSync(join(dir, 'two.tgz'))));
  assert.deepEqual(c1.json.dags, ['dags/alpha/1.0.0.json', 'dags/beta/2.0.0.json']);
  assert.deepEqual(c1.json.plugins, ['greeter']);
  assert.match(c1.json.rootHash, /^[0-9a-f]{64}$/);
  assert.equal(c1.stderr, '', 'no progress output when stderr is not a TTY');

  const v = await cli(['bundle', 'verify', join(dir, 'one.tgz'), '--trust-dir', TRUST_DIR]);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.json.ok, true);
  assert.equal(v.json.rootHash, c1.json.rootHash);
  assert.deepEqual(v.json.dags.map((d: any) => `${d.dagId}@${d.version}`), ['alpha@1.0.0', 'beta@2.0.0']);
  assert.deepEqual(v.json.plugins, [{ name: 'greeter', version: '1.0.0' }]);

  assert.deepEqual(v.json.tenants, ['acme']);

  const dataDir = join(dir, 'data');
  const pluginsDir = join(dir, 'plugins');
  mkdirSync(pluginsDir);
  const importArgs = ['bundle', 'import', join(dir, 'one.tgz'), '--tenant', 'acme', '--data-dir', dataDir, '--trust-dir', TRUST_DIR, '--plugins-dir', pluginsDir];
  const i1 = await cli(importArgs);
  assert.equal(i1.code, 0, i1.stderr);
  assert.equal(i1.json.changed, true);
  assert.deepEqual(i1.json.plugins.map((p: any) => [p.name, p.version, p.installed]), [['greeter', '1.0.0', true]]);
  // The plugin belongs to tenant acme: it is installed in the data folder's tenant plugins.
  assert.ok(readFileSync(join(dataDir, 'tenant-plugins', 'acme', 'greeter@1.0.0', 'plugin.json')).length > 0);
  const i2 = await cli(importArgs);
  assert.equal(i2.code, 0, i2.stderr);
  assert.equal(i2.json.changed, false);

  const store = Store.open({ dataDir });
  try {
    assert.deepEqual(store.dags.list({ tenant: 'acme', limit: 10 }).map((r) => `${r.dagId}@${r.version}`), ['alpha@1.0.0', 'beta@2.0.0']);
    // While the data folder is held (as a running server holds it), import refuses clearly.
    const locked = await cli(importArgs);
    assert.equal(locked.code, 1);
    assert.match(locked.stderr, /in use by another orchestrator process/);
    assert.match(locked.stderr, /stop it first/);
    assert.match(locked.stderr, /Nothing was installed/);
  } finally {
    store.close();
  }
});

test('refusals: tampered bundle, untrusted key, missing tenant, bad usage', async () => {
  const out = join(dir, 'base.tgz');
  assert.equal((await cli(createArgs(out))).code, 0);
  const tampered = flip(readFileSync(out), 200, 0x04);
  writeFileSync(join(dir, 'tampered.tgz'), tampered);
  const otherTrust = join(dir, 'other-trust');
  mkdirSync(otherTrust);
  writeFileSync(join(otherTrust, 'other.pub'), generateSigningKeyPair().publicKeyPem);

  const [bad, untrusted, noTenant, noOut, noTrust] = await Promise.all([
    cli(['bundle', 'verify', join(dir, 'tampered.tgz'), '--trust-dir', TRUST_DIR]),
    cli(['bundle', 'verify', out, '--trust-dir', otherTrust]),
    cli(['bundle', 'import', out, '--data-dir', join(dir, 'data2'), '--trust-dir', TRUST_DIR]),
    cli(['bundle', 'create', '--key', DEV_KEY_FILE, '--dag', join(dir, 'in', 'alpha.json')]),
    cli(['bundle', 'verify', out]),
  ]);
  assert.equal(bad.code, 1);
  assert.equal(bad.json.ok, false);
  assert.equal(bad.json.error.details.reason, 'ARCHIVE_INVALID');
  assert.equal(untrusted.code, 1);
  assert.equal(untrusted.json.error.code, 'SIGNATURE_INVALID');
  assert.match(untrusted.stderr, /no signature verifies with a trusted key/);
  assert.equal(noTenant.code, 2);
  assert.match(noTenant.stderr, /--tenant is required/);
  assert.equal(noOut.code, 1);
  assert.match(noOut.stderr, /--out and --key are required/);
  assert.equal(noTrust.code, 1);
  assert.match(noTrust.stderr, /--trust-dir is required/);

  const imp = await cli(['bundle', 'import', join(dir, 'tampered.tgz'), '--tenant', 'acme', '--data-dir', join(dir, 'data3'), '--trust-dir', TRUST_DIR]);
  assert.equal(imp.code, 1);
  assert.match(imp.stderr, /nothing was installed/);
  const store = Store.open({ dataDir: join(dir, 'data3') });
  try {
    assert.deepEqual(store.dags.list({ tenant: 'acme', limit: 10 }), []);
  } finally {
    store.close();
  }
});

test('create refuses an unsigned DAG document, naming the file', async () => {
  const { signature: _s, ...unsigned } = dag('gamma');
  writeFileSync(join(dir, 'in', 'unsigned.json'), JSON.stringify(unsigned));
  const r = await cli(['bundle', 'create', '--out', join(dir, 'x.tgz'), '--key', DEV_KEY_FILE, '--tenant', 'acme', '--dag', join(dir, 'in', 'unsigned.json')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /unsigned\.json: gamma@1\.0\.0: not signed/);
});

test('a bundle is bound to its tenants: create needs --tenant; import and verify --tenant refuse any other', async () => {
  const out = join(dir, 'bound.tgz');
  assert.equal((await cli(createArgs(out))).code, 0);
  const [noTenant, wrongImport, wrongVerify, rightVerify] = await Promise.all([
    cli(['bundle', 'create', '--out', join(dir, 'unbound.tgz'), '--key', DEV_KEY_FILE, '--dag', join(dir, 'in', 'alpha.json')]),
    cli(['bundle', 'import', out, '--tenant', 'zeta', '--data-dir', join(dir, 'data4'), '--trust-dir', TRUST_DIR]),
    cli(['bundle', 'verify', out, '--tenant', 'zeta', '--trust-dir', TRUST_DIR]),
    cli(['bundle', 'verify', out, '--tenant', 'acme', '--trust-dir', TRUST_DIR]),
  ]);
  assert.equal(noTenant.code, 1);
  assert.match(noTenant.stderr, /--tenant is required/);
  assert.equal(wrongImport.code, 1);
  assert.equal(wrongImport.json.error.code, 'SIGNATURE_INVALID');
  assert.equal(wrongImport.json.error.details.reason, 'TENANT_MISMATCH');
  assert.match(wrongImport.stderr, /signed for tenant\(s\) acme, not for zeta/);
  assert.match(wrongImport.stderr, /nothing was installed/);
  assert.equal(wrongVerify.code, 1);
  assert.equal(wrongVerify.json.error.details.reason, 'TENANT_MISMATCH');
  assert.equal(rightVerify.code, 0, rightVerify.stderr);
  const store = Store.open({ dataDir: join(dir, 'data4') });
  try {
    assert.deepEqual(store.dags.list({ tenant: 'zeta', limit: 10 }), []);
  } finally {
    store.close();
  }
});

test('dag check --tenant verifies with the keys trusted for that tenant', async () => {
  const trustDir = join(dir, 'scoped-trust');
  const acme = generateSigningKeyPair();
  mkdirSync(join(trustDir, 'acme'), { recursive: true });
  writeFileSync(join(trustDir, 'acme', 'acme.pub'), acme.publicKeyPem);
  writeFileSync(join(dir, 'in', 'by-acme.json'), JSON.stringify(dag('by-acme', '1.0.0', { key: acme.privateKeyPem })));
  const file = join(dir, 'in', 'by-acme.json');
  const [forAcme, forOther, anyKey] = await Promise.all([
    cli(['dag', 'check', file, '--trust-dir', trustDir, '--tenant', 'acme']),
    cli(['dag', 'check', file, '--trust-dir', trustDir, '--tenant', 'other']),
    cli(['dag', 'check', file, '--trust-dir', trustDir]),
  ]);
  assert.equal(forAcme.code, 0, forAcme.stderr);
  assert.deepEqual(forAcme.json.signedBy, [acme.keyid]);
  assert.equal(forOther.code, 1);
  assert.match(forOther.stderr, /SIGNATURE_INVALID|no signature verifies/);
  assert.equal(anyKey.code, 0, anyKey.stderr);
});
