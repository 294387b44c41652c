/**
 * `--dags-dir DIR/<tenant>/*.tgz`: bundles are verified and imported at start-up into the tenant
 * their folder names, idempotently; a bad bundle is logged, skipped, and installs nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createBundle } from '../../src/bundles/index.js';
import { preloadDags } from '../../src/cli/preload.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hashPluginDir } from '../../src/engine/plugins/files.js';
import { signSchedule } from '../../src/schedules/index.js';
import { ManualClock } from '../schedules/manual-clock.js';
import { eventually } from '../schedules/helpers.js';
import { dag, devKey, flip, pluginFiles, ROOT } from './helpers.js';

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
  const report = await preloadDags(dagsDir, dags, pino({ level: 'silent' }), { tenantPluginsDir: join(t.dataDir, 'tenant-plugins') });
  assert.deepEqual(report, { published: 0, unchanged: 4, failed: 1, bundles: 2, schedules: 0 });
  assert.equal((await t.req('GET', '/dags:export', { tenant: 'a' })).text, before);
});

test('a bundle whose plugin collides with an operator plugin is refused before anything is installed, and every later start still works (#11)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'orch-brick-'));
  const operator = join(root, 'operator');
  cpSync(join(ROOT, 'plugins', 'digest-manifest'), join(operator, 'digest-manifest'), { recursive: true });
  const dags = join(root, 'dags');
  mkdirSync(join(dags, 'a'), { recursive: true });
  // Same name@version as the operator's digest-manifest, other content.
  const collide = createBundle({
    tenants: ['a'],
    dags: [dag('brick', '1.0.0', { plugin: 'digest-manifest@1.0.0' })],
    plugins: [{ name: 'digest-manifest', files: pluginFiles('digest-manifest', '1.0.0', 'export default async () => ({ other: true });\n') }],
    privateKeyPem: devKey,
  }).bytes;
  writeFileSync(join(dags, 'a', 'collide.tgz'), collide);
  const args = ['--plugins-dir', operator, '--dags-dir', dags];
  const first = await startTestServer(args);
  const dataDir = first.dataDir;
  try {
    const probe = await first.req('GET', '/admin/health', { token: null, tenant: null });
    assert.equal(probe.body.ready, true, probe.text);
    const a = await first.req('GET', '/dags', { tenant: 'a' });
    assert.deepEqual(a.body.items, [], 'nothing of the refused bundle is published');
    assert.equal(existsSync(join(dataDir, 'tenant-plugins', 'a')), false, 'no plugin folder is left behind');
    assert.equal(existsSync(join(dataDir, 'plugins', 'digest-manifest')), false);
    await first.server.close();
    // The next start (same data folder, same bundle still in the preload folder) works too.
    const second = await startTestServer(args, {}, undefined, dataDir);
    try {
      assert.equal((await second.req('GET', '/admin/health', { token: null, tenant: null })).body.ready, true);
      const r = await second.req('POST', '/dags', { tenant: 'a', body: dag('uses-operator', '1.0.0', { plugin: 'digest-manifest@1.0.0' }) });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.body.pluginPins['digest-manifest@1.0.0'].contentHash, hashPluginDir(join(operator, 'digest-manifest')));
    } finally {
      await second.stop();
    }
  } finally {
    await first.server.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test('a bundle in the preload folder of a tenant it does not name is refused', async () => {
  const root = mkdtempSync(join(tmpdir(), 'orch-wrong-tenant-'));
  mkdirSync(join(root, 'b'));
  writeFileSync(join(root, 'b', 'for-a.tgz'), createBundle({ tenants: ['a'], dags: [dag('for-a')], privateKeyPem: devKey }).bytes);
  const s = await startTestServer(['--dags-dir', root]);
  try {
    assert.deepEqual((await s.req('GET', '/dags', { tenant: 'b' })).body.items, []);
    assert.deepEqual((await s.req('GET', '/dags', { tenant: 'a' })).body.items, []);
  } finally {
    await s.stop();
    rmSync(root, { recursive: true, force: true });
  }
});

test("a bundle's schedules are installed at start-up and armed at once: the first fire starts its run", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'orch-preload-sched-'));
  mkdirSync(join(dir, 'a'));
  const schedule = signSchedule({ scheduleId: 'every', dagId: 'ticking', cron: '* * * * *' }, devKey);
  writeFileSync(join(dir, 'a', 'sched.tgz'), createBundle({ tenants: ['a'], dags: [dag('ticking')], schedules: [schedule], privateKeyPem: devKey }).bytes);
  const clock = new ManualClock(Date.parse('2026-05-04T08:00:30Z'));
  const s = await startTestServer(['--dags-dir', dir], {}, clock);
  try {
    const got = await s.req('GET', '/schedules/every', { tenant: 'a' });
    assert.equal(got.status, 200, got.text);
    assert.equal(got.body.nextFireUtc, '2026-05-04T08:01:00.000Z');
    assert.equal(got.body.signedBy.length, 1);
    clock.set(Date.parse(got.body.nextFireUtc));
    const runs = await eventually(async () => {
      const r = await s.req('GET', '/runs?scheduleId=every', { tenant: 'a' });
      return r.body.items.length > 0 && r.body.items;
    }, 'the bundled schedule fires');
    assert.deepEqual(runs.map((r: any) => r.runToken), ['schedule:every:2026-05-04T08:01:00.000Z']);
  } finally {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
