import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { Store } from './index.js';
import { WAKE_COMMITS, type Checkpointer } from './checkpointer.js';
import { tempDataDir } from './test-support.js';

/** Waits for a condition, keeping the test's loop up (the thread is unref'd). */
async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 1200 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(ok(), `timed out waiting: ${what}`);
}

/** The wal-index (-shm, sqlite.org/walformat.html): mxFrame (u32 at 16) and nBackfill (u32 at 96). */
function walIndex(dir: string): { frames: number; backfilled: number } {
  const b = readFileSync(join(dir, 'orchestrator.db-shm'));
  const u32 = (at: number) => (endianness() === 'LE' ? b.readUInt32LE(at) : b.readUInt32BE(at));
  return { frames: u32(16), backfilled: u32(96) };
}

/** A store in a temporary folder with a checkpointer started by its 5th commit, both closed after `t`. */
function storeWithCheckpoints(t: TestContext, idleMs: number): { dir: string; store: Store; c: Checkpointer } {
  const dir = tempDataDir(t, 'ckpt');
  const store = Store.open({ dataDir: dir });
  const c = store.startBackgroundCheckpoints(undefined, { idleMs, wakeCommits: 5 })!;
  t.after(async () => {
    await c.stop();
    store.close();
  });
  return { dir, store, c };
}

test('stop() resolves once the checkpointer thread has closed its connection: the store closed after it is the last one', async (t) => {
  const dir = tempDataDir(t, 'ckpt');
  for (let round = 0; round < 3; round++) {
    const store = Store.open({ dataDir: dir });
    let ran = false;
    const c = store.startBackgroundCheckpoints({ info: () => (ran = true), warn: (o, msg) => assert.fail(`${msg} ${JSON.stringify(o)}`) });
    assert.ok(c, 'a file database gets background checkpoints');
    store.db.sqlite.prepare('create table if not exists t (x)').run();
    for (let i = 0; i < WAKE_COMMITS; i++) store.tx(() => store.db.sqlite.prepare('insert into t values (?)').run(i));
    if (round === 0) await until('the first checkpoint ran', () => ran); // the thread has its connection open
    await c.stop();
    store.close();
    // SQLite removes the WAL files when the last connection to the database closes.
    assert.equal(existsSync(join(dir, 'orchestrator.db-wal')), false, `round ${round}: the -wal file is gone, no other connection was open`);
  }
});

test('the thread starts when transactions commit, copies the WAL back, retires when idle and starts again with new writes', async (t) => {
  const { dir, store, c } = storeWithCheckpoints(t, 300);
  const autocheckpoint = () => store.db.sqlite.pragma('wal_autocheckpoint', { simple: true });
  store.db.sqlite.prepare('create table t (x)').run();
  const commit = (n: number) => {
    for (let i = 0; i < n; i++) store.tx(() => store.db.sqlite.prepare('insert into t values (?)').run(i));
  };
  commit(4);
  assert.equal(c.running, false, 'no thread for a few commits: an idle server holds none');
  assert.equal(autocheckpoint(), 1000, "SQLite's own checkpoint is in force meanwhile");
  commit(1);
  assert.equal(c.running, true, 'the 5th commit starts it');
  await until('the backstop is set once the thread checkpointed', () => autocheckpoint() === 20_000);
  await until('the thread retired', () => !c.running);
  assert.equal(autocheckpoint(), 1000, "retired: SQLite's own checkpoint is back");
  const w = walIndex(dir);
  assert.ok(w.frames > 0 && w.backfilled === w.frames, `it retired with every frame copied back (${JSON.stringify(w)})`);
  commit(5);
  assert.equal(c.running, true, 'new writes start it again');
  await until('the new frames are copied back', () => {
    const x = walIndex(dir);
    return x.backfilled === x.frames;
  });
});

test('a running thread that found the WAL copied back copies the frames of any later commit', async (t) => {
  const { dir, store, c } = storeWithCheckpoints(t, 60_000);
  store.db.sqlite.prepare('create table t (x)').run();
  const insert = store.db.sqlite.prepare('insert into t values (?)');
  const copied = () => {
    const x = walIndex(dir);
    return x.frames > 0 && x.backfilled === x.frames;
  };
  for (let i = 0; i < 5; i++) store.tx(() => insert.run(i));
  await until('the first frames are copied back', copied);
  // Idle ticks skip the checkpoint (no commit since); one commit must end that.
  await new Promise((r) => setTimeout(r, 300));
  store.tx(() => insert.run(99));
  assert.equal(c.running, true, 'the thread is still there (idle for 60 s before it retires)');
  await until('the frames of the later commit are copied back', copied);
});
