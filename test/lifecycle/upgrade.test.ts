/**
 * Upgrades: a data folder records its schema version (derived from the embedded migrations).
 * An older executable meeting a newer folder (the test raises the folder's version past this
 * executable's) refuses with a clear message and exit code 1, touching nothing; a newer
 * executable meeting an older folder (built from all migrations but the last) backs it up
 * beside itself, then migrates it, keeping its data.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from '../../src/store/db.js';
import { MIGRATIONS } from '../../src/store/migrations.gen.js';
import { dataDirSchemaVersion, SCHEMA, SchemaTooNew, SchemaUpgradeRequired, Store } from '../../src/store/index.js';
import { restoreBackup, verifyBackup } from '../../src/lifecycle/index.js';
import { startTestServer } from '../helpers/server.js';
import { cli } from './support.js';

const root = mkdtempSync(join(tmpdir(), 'orch-upgrade-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Every file under `dir` with its size, modification time and SHA-256. */
function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const n of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, n.name);
      if (n.isDirectory()) walk(p);
      else {
        const st = statSync(p);
        out[p.slice(dir.length)] = `${st.size} ${st.mtimeMs} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
      }
    }
  };
  walk(dir);
  return out;
}

test('the schema version is derived from the embedded migrations and recorded in the folder', () => {
  assert.equal(SCHEMA.version, MIGRATIONS.length);
  assert.equal(SCHEMA.tag, MIGRATIONS[MIGRATIONS.length - 1]!.tag);
  const dir = join(root, 'fresh');
  assert.equal(dataDirSchemaVersion(dir), null);
  Store.open({ dataDir: dir }).close();
  assert.equal(dataDirSchemaVersion(dir), SCHEMA.version);
});

test('an older executable refuses a newer folder: a clear message, exit 1, nothing touched', async () => {
  const dir = join(root, 'newer');
  Store.open({ dataDir: dir }).close();
  const db = new Database(join(dir, 'orchestrator.db'));
  db.pragma(`user_version = ${SCHEMA.version + 1}`);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  rmSync(join(dir, 'orchestrator.lock'), { force: true });
  const before = fingerprint(dir);

  assert.throws(() => Store.open({ dataDir: dir }), SchemaTooNew);
  const serve = await cli(['serve', '--dev', '--port', '0', '--data-dir', dir]);
  assert.equal(serve.code, 1);
  assert.match(serve.stderr, new RegExp(`schema version ${SCHEMA.version + 1}, newer than this orchestrator's ${SCHEMA.version}`));
  assert.match(serve.stderr, /Nothing was changed/);
  const exp = await cli(['export', 'runs', '--data-dir', dir, '--tenant', 'a']);
  assert.equal(exp.code, 1);
  assert.match(exp.stderr, /newer than this orchestrator/);
  const backup = await cli(['backup', '--data-dir', dir, '--out', join(root, 'newer.tar.gz')]);
  assert.equal(backup.code, 1);
  assert.deepEqual(fingerprint(dir), before, 'not a byte, not a file changed');
  assert.deepEqual(readdirSync(root).filter((n) => n.startsWith('newer.')), [], 'no backup written');
});

test('a newer executable backs an older folder up beside it, then migrates it forward', async () => {
  const dir = join(root, 'older');
  mkdirSync(dir);
  // The folder an executable without the last migration made, with one stored artifact.
  const db = new Database(join(dir, 'orchestrator.db'));
  db.pragma('journal_mode = WAL');
  migrate(drizzle(db), MIGRATIONS.slice(0, -1));
  db.pragma(`user_version = ${SCHEMA.version - 1}`);
  const content = Buffer.from('kept across the upgrade');
  const hash = createHash('sha256').update(content).digest('hex');
  db.prepare(`insert into artifacts (tenant, hash, size, media_type, created_ms) values ('a', ?, ?, 'text/plain', 1)`).run(hash, content.length);
  db.close();
  mkdirSync(join(dir, 'artifacts', hash.slice(0, 2)), { recursive: true });
  writeFileSync(join(dir, 'artifacts', hash.slice(0, 2), hash.slice(2)), content);

  assert.throws(() => Store.open({ dataDir: dir }), SchemaUpgradeRequired, 'only serve and upgrade migrate');
  const plan = await cli(['upgrade', '--check', '--data-dir', dir]);
  assert.equal(plan.code, 0, plan.stderr);
  assert.deepEqual(plan.json, { action: 'migrated', from: SCHEMA.version - 1, to: SCHEMA.version });
  assert.equal(dataDirSchemaVersion(dir), SCHEMA.version - 1, '--check changes nothing');

  const t = await startTestServer(['--allow-unsigned'], {}, undefined, dir);
  try {
    assert.equal((await t.req('GET', `/artifacts/${hash}`)).text, content.toString(), 'the data survived');
  } finally {
    await t.server.close();
  }
  assert.equal(dataDirSchemaVersion(dir), SCHEMA.version);
  const backups = readdirSync(root).filter((n) => n.startsWith(`${basename(dir)}.pre-upgrade-v${SCHEMA.version - 1}-to-v${SCHEMA.version}-`));
  assert.equal(backups.length, 1, `one automatic backup beside the folder: ${readdirSync(root)}`);
  const check = await verifyBackup(join(root, backups[0]!));
  assert.equal(check.schemaVersion, SCHEMA.version - 1, 'the backup holds the folder as it was');
  // The backup restores the old folder; this executable then migrates it like the original.
  const back = join(root, 'older-restored');
  await restoreBackup(join(root, backups[0]!), back);
  assert.equal(dataDirSchemaVersion(back), SCHEMA.version - 1);
  const up = await cli(['upgrade', '--data-dir', back, '--quiet']);
  assert.equal(up.code, 0, up.stderr);
  assert.equal(up.json.action, 'migrated');
  assert.equal(dataDirSchemaVersion(back), SCHEMA.version);
  // Starting again: nothing to do, no second backup.
  const again = await cli(['upgrade', '--data-dir', dir]);
  assert.deepEqual(again.json, { action: 'none', from: SCHEMA.version, to: SCHEMA.version });
});
