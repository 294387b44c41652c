/**
 * Store contract: what the nodes of an installation share. Settings (`StorePorts.setting`): the
 * first ask stores its candidate; every later ask — and every concurrent first ask, as from
 * nodes starting at once — gets that one stored value. The installation-wide lock
 * (`maintenance.exclusive`): two nodes never run the locked work at once, and one that dies
 * gives the lock up.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PgStore } from '../../../src/store/pg/index.js';
import { twoNodes } from '../../helpers/pg.js';
import { KINDS, storeOf } from './stores.js';

for (const kind of KINDS) {
  test(`${kind}: a setting is stored by the first ask and the same for every later one`, async (ctx) => {
    const s = await storeOf(ctx, kind);
    if (!s) return;
    assert.equal(await s.setting('k1', 'first'), 'first');
    assert.equal(await s.setting('k1', 'second'), 'first', 'a later candidate never replaces it');
    assert.equal(await s.setting('k2', 'other'), 'other', 'names are apart');
  });

  test(`${kind}: concurrent first asks all get one value`, async (ctx) => {
    const s = await storeOf(ctx, kind);
    if (!s) return;
    for (let round = 0; round < 5; round++) {
      const got: string[] = await Promise.all(Array.from({ length: 8 }, (_, i): Promise<string> => s.setting(`race-${round}`, `candidate-${i}`)));
      assert.equal(new Set(got).size, 1, `one value: ${got.join(', ')}`);
      assert.match(got[0]!, /^candidate-\d$/);
    }
  });
}

test('postgres: two nodes take the installation-wide lock one at a time, and a dead node\'s session gives it up', async (ctx) => {
  const nodes = await twoNodes(ctx);
  if (!nodes) return;
  const { a, b, url } = nodes;
  const log: string[] = [];
  let releaseA!: () => void;
  const aHolds = new Promise<void>((r) => (releaseA = r));
  let aIn!: () => void;
  const aEntered = new Promise<void>((r) => (aIn = r));
  const first = a.maintenance.exclusive('pass', async () => {
    log.push('a in');
    aIn();
    await aHolds;
    log.push('a out');
    return 'a';
  });
  await aEntered;
  const second = b.maintenance.exclusive('pass', async () => {
    log.push('b in');
    return 'b';
  });
  const other = await b.maintenance.exclusive('another-name', async () => 'free'); // names are apart
  assert.equal(other, 'free');
  assert.deepEqual(log, ['a in'], 'B waits while A holds the lock');
  releaseA();
  assert.deepEqual(await Promise.all([first, second]), ['a', 'b']);
  assert.deepEqual(log, ['a in', 'a out', 'b in']);

  // A node that dies holding the lock (its session ends) gives it up.
  const c = await PgStore.open({ url });
  let cIn!: () => void;
  const cEntered = new Promise<void>((r) => (cIn = r));
  const held = c.maintenance.exclusive('pass', () => {
    cIn();
    return new Promise<never>(() => {});
  });
  void held;
  await cEntered;
  const pgmod = await import('pg');
  const k = new pgmod.default.Client({ connectionString: url });
  await k.connect();
  await k.query(`select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and granted and pid <> pg_backend_pid() and database = (select oid from pg_database where datname = current_database())`);
  await k.end();
  assert.equal(await b.maintenance.exclusive('pass', async () => 'after death'), 'after death');
  // (c's pool cannot end: its work never returns; its connection is gone with the session.)
});
