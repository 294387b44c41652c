/**
 * `orchestrator migrate` and `orchestrator store copy` (CONTRACT §15; docs/SCALE-OUT.md): the
 * PostgreSQL store's schema, and moving a stopped embedded installation onto PostgreSQL. Each
 * prints one JSON report on stdout. The PostgreSQL driver is loaded only when one runs.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError, type FlagSpec, type Flags } from './args.js';
import { EXIT, type Command } from './commands.js';
import { postgresUrl, redactedUrl } from './pg-url.js';

const print = (v: unknown) => process.stdout.write(JSON.stringify(v) + '\n');

/** Runs `fn` against the database at `url`; a connection that fails says where, without the password. */
async function reaching<T>(url: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === '28P01' || code === '3D000') {
      throw new Error(`cannot reach PostgreSQL at ${redactedUrl(url)}: ${(e as Error).message}`, { cause: e });
    }
    throw e;
  }
}

const storeFlag: FlagSpec = { name: 'store', kind: 'string', help: 'the PostgreSQL database: postgres://user:password@host:5432/database' };

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'Create or upgrade the schema of a PostgreSQL store (several nodes may start at once: it takes a lock).',
  examples: ['orchestrator migrate --store postgres://orch@127.0.0.1:5432/orch'],
  flags: [storeFlag],
  async run(f: Flags) {
    const url = postgresUrl(f.store, 'store');
    const { migratePgUrl } = await import('../store/pg/index.js');
    const r = await reaching(url, () => migratePgUrl(url));
    print({ store: redactedUrl(url), schemaVersion: r.to, previousVersion: r.from, changed: r.from !== r.to });
    return EXIT.OK;
  },
};

export const storeCopyCommand: Command = {
  name: 'store copy',
  summary: 'Copy a stopped embedded installation (its data folder) into an empty PostgreSQL database, verified table by table.',
  examples: ['orchestrator store copy --from ./restored --to postgres://orch@127.0.0.1:5432/orch'],
  flags: [
    { name: 'from', kind: 'string', help: 'the data folder of a stopped installation (its server must not be running)' },
    { name: 'to', kind: 'string', help: 'the PostgreSQL database: postgres://user:password@host:5432/database (new and empty)' },
  ],
  async run(f: Flags) {
    if (typeof f.from !== 'string') throw new UsageError('usage: orchestrator store copy --from DATA_DIR --to postgres://…');
    const url = postgresUrl(f.to, 'to');
    const dir = resolve(f.from);
    const { Store, dataDirSchemaVersion } = await import('../store/index.js');
    if (!existsSync(dir) || dataDirSchemaVersion(dir) === null) throw new UsageError(`--from ${f.from}: no installation there (no database in the folder)`);
    const { copySqliteToPg } = await import('../store/pg/index.js');
    // Opened with its lock: a running server holds it, and the copy is refused (DataDirLockedError).
    const store = Store.open({ dataDir: dir });
    try {
      const r = await reaching(url, () => copySqliteToPg(store, url, (t) => process.stderr.write(`store copy: ${t.table}: ${t.rows} rows, sha256 ${t.sha256.slice(0, 16)}… verified\n`)));
      print({ from: dir, to: redactedUrl(url), rows: r.tables.reduce((n, t) => n + t.rows, 0), tables: r.tables, runsToTakeOver: r.ownersAdded });
    } finally {
      store.close();
    }
    return EXIT.OK;
  },
};

export const STORE_COMMANDS: Command[] = [migrateCommand, storeCopyCommand];
