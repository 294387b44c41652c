/**
 * The stores the contract suite runs against: the embedded SQLite store (a real database file
 * in a temp folder) and the PostgreSQL store (a fresh database in the run's throwaway cluster,
 * test/helpers/pg.ts). One store of each kind per test file, opened on first use and closed
 * when the file ends; tests keep apart by tenant.
 *
 * @example
 * for (const kind of KINDS) test(`${kind}: …`, async (ctx) => { const s = await storeOf(ctx, kind); if (!s) return; … });
 */
import { after, type TestContext } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlitePorts, Store, type StorePorts } from '../../../src/store/index.js';
import { PgStore } from '../../../src/store/pg/index.js';
import { skipOutsideCi } from '../../helpers/tools.js';
import { testDatabase } from '../../helpers/pg.js';

export const KINDS = ['sqlite', 'postgres'] as const;
export type Kind = (typeof KINDS)[number];

const opened = new Map<Kind, Promise<StorePorts | null>>();
const closers: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

async function open(ctx: TestContext, kind: Kind): Promise<StorePorts | null> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'stella-contract-'));
    const store = Store.open({ dataDir: dir });
    closers.push(() => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    return new SqlitePorts(store);
  }
  const db = await testDatabase(ctx);
  if (!db) return null;
  const store = await PgStore.open({ url: db.url, maxConnections: 12 });
  closers.push(async () => {
    await store.close();
    await db.drop();
  });
  return store;
}

/** The file's store of this kind, or null when the test was skipped (no PostgreSQL here). */
export async function storeOf(ctx: TestContext, kind: Kind): Promise<StorePorts | null> {
  let p = opened.get(kind);
  const first = !p;
  if (!p) {
    p = open(ctx, kind);
    opened.set(kind, p);
  }
  const s = await p;
  if (!s && !first) skipOutsideCi(ctx, 'PostgreSQL not installed: install Debian package "postgresql" to run the PostgreSQL half');
  return s;
}
