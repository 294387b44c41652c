/**
 * The installation-level settings of the runbook: `serve --retention-days N` is every tenant's
 * default policy until the tenant sets its own; `POST /admin/backup` writes a verifiable backup
 * into `--backup-dir` (only for a token of all tenants) and sets the last-backup metric.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyBackup } from '../../src/lifecycle/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
let backups = '';
before(async () => {
  backups = mkdtempSync(join(tmpdir(), 'orch-backups-'));
  t = await startTestServer(['--retention-days', '90', '--backup-dir', backups]);
});
after(async () => {
  await t.stop();
  rmSync(backups, { recursive: true, force: true });
});

test('--retention-days is the default policy of tenants without their own', async () => {
  assert.deepEqual((await t.req('GET', '/admin/retention')).body, { tenant: 'a', maxAgeDays: 90, keepLast: null, source: 'installation', enabled: true });
  await t.req('PUT', '/admin/retention', { body: { maxAgeDays: null, keepLast: 20 } });
  assert.deepEqual((await t.req('GET', '/admin/retention')).body, { tenant: 'a', maxAgeDays: null, keepLast: 20, source: 'tenant', enabled: true });
});

test('POST /admin/backup writes a verifiable backup into --backup-dir, for a token of all tenants only', async () => {
  const all = await t.token({ tenants: ['*'] });
  const metric = async () => /orchestrator_backup_last_success_timestamp_seconds (\d+)/.exec((await t.req('GET', '/admin/metrics', { tenant: null, token: all })).text)?.[1];
  assert.equal(await metric(), '0');
  const some = await t.req('POST', '/admin/backup', { tenant: null, body: {} });
  assert.equal(some.status, 403);
  assert.equal(some.body.error.code, 'TENANT_FORBIDDEN');
  assert.deepEqual(readdirSync(backups), []);
  const r = await t.req('POST', '/admin/backup', { tenant: null, token: all, body: {} });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(readdirSync(backups), [r.body.file.slice(backups.length + 1)]);
  assert.match(r.body.file, /orchestrator-backup-\d{8}T\d{9}Z\.tar\.gz$/);
  const check = await verifyBackup(r.body.file);
  assert.equal(check.entries, r.body.entries);
  assert.equal(Number(await metric()), Math.floor(Date.parse(r.body.createdUtc) / 1000));
});
