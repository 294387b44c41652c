import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS } from './migrations.gen.js';
import * as schema from './schema.js';
import { sqliteNativeBinding } from '../core/runtime.js';

export type Drizzle = BetterSQLite3Database<typeof schema>;

export interface OpenOptions {
  dataDir: string;
  /** Take the data folder's lock (the server does; read-only CLI tools may not). */
  lock?: boolean;
  /** `NORMAL` (default: durable across process crashes) or `FULL` (also power loss). */
  synchronous?: 'NORMAL' | 'FULL';
}

export interface Db {
  sqlite: Database.Database;
  orm: Drizzle;
  close(): void;
}

export class DataDirLockedError extends Error {
  constructor(dir: string, pid: string) {
    super(`data folder ${dir} is in use by another orchestrator process (pid ${pid}); refusing to start`);
    this.name = 'DataDirLockedError';
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Exclusive lock file `DATA/orchestrator.lock` holding our pid; a stale lock is taken over. */
function takeLock(dataDir: string): () => void {
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
export function migrate(orm: Drizzle): void {
  const d = orm as unknown as { dialect: { migrate: Function }; session: unknown };
  d.dialect.migrate(MIGRATIONS, d.session, {});
}

/**
 * Opens (creating if needed) the database in the data folder: WAL, explicit pragmas,
 * migrations applied, lock taken.
 *
 * @example
 * const db = openDb({ dataDir: './data', lock: true });
 */
export function openDb(opts: OpenOptions): Db {
  mkdirSync(opts.dataDir, { recursive: true });
  const release = opts.lock === false ? () => {} : takeLock(opts.dataDir);
  try {
    const nativeBinding = sqliteNativeBinding(join(opts.dataDir, '.cache'));
    const sqlite = new Database(join(opts.dataDir, 'orchestrator.db'), nativeBinding ? { nativeBinding: nativeBinding as never } : {});
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma(`synchronous = ${opts.synchronous ?? 'NORMAL'}`);
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('temp_store = MEMORY');
    sqlite.pragma('cache_size = -65536');
    const orm = drizzle(sqlite, { schema });
    migrate(orm);
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
