import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from './index.js';

test('stop() resolves once the checkpointer thread has closed its connection: the store closed after it is the last one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orch-ckpt-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (let round = 0; round < 3; round++) {
    const store = Store.open({ dataDir: dir });
    let running!: () => void;
    const ready = new Promise<void>((r) => (running = r));
    const c = store.startBackgroundCheckpoints({ info: () => running(), warn: (o, msg) => assert.fail(`${msg} ${JSON.stringify(o)}`) });
    assert.ok(c, 'a file database gets the background thread');
    store.db.sqlite.prepare('create table if not exists t (x)').run();
    const alive = setInterval(() => undefined, 1000); // the thread is unref'd: keep the test's loop up meanwhile
    await ready; // the thread has its connection open
    clearInterval(alive);
    await c.stop();
    store.close();
    // SQLite removes the WAL files when the last connection to the database closes.
    assert.equal(existsSync(join(dir, 'orchestrator.db-wal')), false, `round ${round}: the -wal file is gone, no other connection was open`);
  }
});
