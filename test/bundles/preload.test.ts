/**
 * `--dags-dir DIR/<tenant>/*.tgz`: bundles are verified and imported at start-up into the tenant
 * their folder names, idempotently; a bad bundle is logged, skipped, and installs nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createBundle } from '../../src/bundles/index.js';
import { preloadDags } from '../../src/cli/preload.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { dag, devKey, flip, pluginFiles } from './helpers.js';

let dagsDir: string;
let t: TestServer;

before(async () => {
  dagsDir = mkdtempSync(join(tmpdir(), 'orch-preload-'));
  mkdirSync(join(dagsDir, 'a'));
  mkdirSync(join(dagsDir, 'b'));
  writeFileSync(join(dagsDir, 'a', 'good.tgz'), createBundle({ tenants: ['a'], dags: [dag('bundled'), dag('bundled', '1.1.0')], privateKeyPem: devKey }).bytes);
  const bad = createBundle({ tenants: ['a'], dags: [dag('tampered')], privateKeyPem: devKey }).bytes;
  writeFileSync(join(dagsDir, 'a', 'bad.tgz'), flip(Buffer.from(bad), Math.floor(bad.length / 2)));
  // Its plugin is installed for tenant a (DATA/tenant-plugins/a/), and the registry reloaded so a's DAGs can use it.
  writeFileSync(
    join(dagsDir, 'a', 'with-plugin.tgz'),
    createBundle({ tenants: ['a'], dags: [dag('needs-plugin')], plugins: [{ name: 'greeter', files: pluginFiles('greeter') }], privateKeyPem: devKey }).bytes,
  );
  writeFileSync(join(dagsDir, 'b', 'plain.json'), JSON.stringify(dag('plain')));
  t = await startTestServer(['--dags-dir', dagsDir]);
});
after(async () => {
  await t.stop();
  rmSync(dagsDir, { recursive: true, force: true });
});

test('a good bundle is imported into its tenant at start-up; bad ones install nothing', async () => {
  const a = await t.req('GET', '/dags', { tenant: 'a' });
  assert.equal(a.status, 200);
  assert.deepEqual(a.body.items.map((d: any) => `${d.dagId}@${d.version}`), ['bundled@1.1.0', 'bundled@1.0.0', 'needs-plugin@1.0.0']);
  const usesPlugin = await t.req('POST', '/dags', {
    tenant: 'a',
    body: dag('uses-greeter', '1.0.0', { plugin: 'greeter' }),
  });
  assert.equal(usesPlugin.status, 201, usesPlugin.text);
  const b = await t.req('GET', '/dags', { tenant: 'b' });
  assert.deepEqual(b.body.items.map((d: any) => `${d.dagId}@${d.version}`), ['plain@1.0.0']);
});

test('preloading again is idempotent', async () => {
  const before = (await t.req('GET', '/dags:export', { tenant: 'a' })).text;
  const dags = t.server.deps.services.dags;
  const report = preloadDags(dagsDir, dags, pino({ level: 'silent' }), { tenantPluginsDir: join(t.dataDir, 'tenant-plugins') });
  assert.deepEqual(report, { published: 0, unchanged: 4, failed: 1, bundles: 2 });
  assert.equal((await t.req('GET', '/dags:export', { tenant: 'a' })).text, before);
});
