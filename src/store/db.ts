import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS } from './migrations.gen.js';
import { DataDirLockedError, SCHEMA, SchemaTooNew, SchemaUpgradeRequired } from './errors.js';
import * as schema from './schema.js';
import { sqliteNativeBinding } from '../core/runtime.js';

export { DataDirLockedError, SCHEMA, SchemaTooNew, SchemaUpgradeRequired };

export type Drizzle = BetterSQLite3Database<typeof schema>;

export interface OpenOptions {
  dataDir: string;
  /** Take the data folder's lock (the server does; read-only CLI tools may not). */
  lock?: boolean;
  /** `NORMAL` (default: durable across process crashes) or `FULL` (also power loss). */
  synchronous?: 'NORMAL' | 'FULL';
  /**
   * Migrate a folder of an older schema version forward. Without it such a folder is refused
   * ({@link SchemaUpgradeRequired}): only `serve` and `upgrade` migrate, after a backup.
   */
  upgrade?: boolean;
  /** Open the database read-only: no lock, no pragma writes, no migrations (a snapshot file). */
  readonly?: boolean;
}

export interface Db {
  sqlite: Database.Database;
  orm: Drizzle;
  close(): void;
}

/** Whether a process with this pid exists (EPERM: it does, owned by another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Exclusive lock file `DATA/orchestrator.lock` holding our pid; a stale lock is taken over.
 * Returns the function that releases it.
 *
 * @example const release = takeLock('./data'); try { … } finally { release(); }
 */
export function takeLock(dataDir: string): () => void {
  const path = join(dataDir, 'orchestrator.lock');
  for (let i = 0; i < 2; i++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(path, 'utf8') === String(process.pid)) unlinkSync(path);
        } catch {
          /* already gone */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = readFileSync(path, 'utf8').trim();
      const pid = Number(holder);
      if (pid && processAlive(pid)) throw new DataDirLockedError(dataDir, holder);
      unlinkSync(path);
    }
  }
  throw new DataDirLockedError(dataDir, 'unknown');
}

/** Applies embedded migrations with drizzle's own migrator logic (`__drizzle_migrations`). */
export function migrate(orm: Drizzle, migrations = MIGRATIONS): void {
  const d = orm as unknown as { dialect: { migrate: Function }; session: unknown };
  d.dialect.migrate(migrations, d.session, {});
}

/**
 * Opens (creating if needed) the database in the data folder: WAL, explicit pragmas,
 * migrations applied, lock taken.
 *
 * @example
 * const db = openDb({ dataDir: './data', lock: true });
 */
export function openDb(opts: OpenOptions): Db {
  if (opts.readonly) return openReadonly(opts.dataDir);
  const file = join(opts.dataDir, DB_FILE);
  // A folder of a newer schema is refused before anything is written (not even the lock).
  const peek = peekUserVersion(file);
  if (peek > SCHEMA.version) throw new SchemaTooNew(opts.dataDir, peek);
  mkdirSync(opts.dataDir, { recursive: true });
  const release = opts.lock === false ? () => {} : takeLock(opts.dataDir);
  try {
    const nativeBinding = sqliteNativeBinding(join(opts.dataDir, '.cache'));
    const sqlite = new Database(file, nativeBinding ? { nativeBinding: nativeBinding as never } : {});
    try {
      checkSchema(sqlite, opts);
    } catch (e) {
      sqlite.close();
      throw e;
    }
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma(`synchronous = ${opts.synchronous ?? 'NORMAL'}`);
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('temp_store = MEMORY');
    sqlite.pragma('cache_size = -65536');
    const orm = drizzle(sqlite, { schema });
    migrate(orm);
    sqlite.pragma(`user_version = ${appliedMigrations(sqlite).count}`);
    return {
      sqlite,
      orm,
      close() {
        try {
          if (sqlite.open) {
            sqlite.pragma('wal_checkpoint(TRUNCATE)');
            sqlite.close();
          }
        } finally {
          release();
        }
      },
    };
  } catch (e) {
    release();
    throw e;
  }
}

const DB_FILE = 'orchestrator.db';

/** `user_version` from the database header (bytes 60-63), read without opening SQLite; 0 when absent. */
function peekUserVersion(file: string): number {
  if (!existsSync(file)) return 0;
  const fd = openSync(file, 'r');
  try {
    const h = Buffer.alloc(100);
    if (readSync(fd, h, 0, 100, 0) < 100 || h.toString('latin1', 0, 16) !== 'SQLite format 3\0') return 0;
    return h.readUInt32BE(60);
  } finally {
    closeSync(fd);
  }
}

function appliedMigrations(sqlite: Database.Database): { count: number; lastMillis: number } {
  const exists = sqlite.prepare(`select 1 from sqlite_master where type='table' and name='__drizzle_migrations'`).get();
  if (!exists) return { count: 0, lastMillis: 0 };
  const r = sqlite.prepare(`select count(*) as count, coalesce(max(created_at), 0) as lastMillis from __drizzle_migrations`).get() as { count: number; lastMillis: number };
  return { count: r.count, lastMillis: Number(r.lastMillis) };
}

/**
 * A folder's schema version: `user_version` when set, else the migrations applied (folders
 * made before the version was recorded); 0 for a new, empty database.
 */
export function folderSchemaVersion(sqlite: Database.Database): number {
  const uv = sqlite.pragma('user_version', { simple: true }) as number;
  const applied = appliedMigrations(sqlite);
  const newer = applied.count > SCHEMA.version || applied.lastMillis > SCHEMA.lastMillis;
  return Math.max(uv, applied.count, newer ? SCHEMA.version + 1 : 0);
}

function checkSchema(sqlite: Database.Database, opts: OpenOptions): void {
  const version = folderSchemaVersion(sqlite);
  if (version > SCHEMA.version) throw new SchemaTooNew(opts.dataDir, version);
  if (version > 0 && version < SCHEMA.version && !opts.upgrade) throw new SchemaUpgradeRequired(opts.dataDir, version);
}

/**
 * The schema version of a data folder's database without changing anything in it (header,
 * then a read-only look when the header does not say), or null when it has no database.
 *
 * @example
 * const v = dataDirSchemaVersion('./data'); // 3, or null for a new folder
 */
export function dataDirSchemaVersion(dataDir: string): number | null {
  const file = join(dataDir, DB_FILE);
  if (!existsSync(file)) return null;
  const peek = peekUserVersion(file);
  if (peek > 0) return peek;
  const db = openReadonly(dataDir);
  try {
    return folderSchemaVersion(db.sqlite);
  } finally {
    db.close();
  }
}

function openReadonly(dataDir: string): Db {
  const nativeBinding = sqliteNativeBinding(join(dataDir, '.cache'));
  const sqlite = new Database(join(dataDir, DB_FILE), { readonly: true, fileMustExist: true, ...(nativeBinding ? { nativeBinding: nativeBinding as never } : {}) });
  const version = folderSchemaVersion(sqlite);
  if (version > SCHEMA.version) {
    sqlite.close();
    throw new SchemaTooNew(dataDir, version);
  }
  return { sqlite, orm: drizzle(sqlite, { schema }), close: () => sqlite.close() };
}
