import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDb, DataDirLockedError } from './db.js';
import { tempDataDir } from './test-support.js';

test('opens in WAL with migrations applied, and a second opener is refused', (t) => {
  const dir = tempDataDir(t, 'db');
  const db = openDb({ dataDir: dir });
  assert.equal(db.sqlite.pragma('journal_mode', { simple: true }), 'wal');
  const tables = db.sqlite.prepare("select name from sqlite_master where type='table' order by name").pluck().all();
  for (const name of ['runs', 'steps', 'attempts', 'events', 'dag_versions', 'idempotency_keys', 'artifacts']) {
    assert.ok(tables.includes(name), name);
  }
  assert.throws(() => openDb({ dataDir: dir }), DataDirLockedError);
  db.close();
  const again = openDb({ dataDir: dir });
  again.close();
});

test("start-up's clean-up of in-flight Idempotency-Keys reads an index, not every key of the last 24 h", (t) => {
  const dir = tempDataDir(t, 'db');
  const db = openDb({ dataDir: dir });
  try {
    const plan = db.sqlite.prepare(`explain query plan delete from idempotency_keys where state='in_flight'`).all() as Array<{ detail: string }>;
    assert.deepEqual(plan.map((p) => p.detail), ['SEARCH idempotency_keys USING INDEX idempotency_in_flight (state=?)']);
  } finally {
    db.close();
  }
});
