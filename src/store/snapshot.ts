/**
 * Database files outside a running store: consistent snapshots of a live database (SQLite's
 * online backup API, never a file copy), and read-only looks into a snapshot or a restored
 * file (its owned artifacts, integrity, schema version). These work on any schema version up
 * to this executable's, so the automatic pre-upgrade backup can read an older folder.
 *
 * @example
 * const src = openSource('./data');
 * await snapshot(src, '/backups/tmp/orchestrator.db');
 * src.close();
 * for (const a of ownedArtifacts('/backups/tmp/orchestrator.db')) console.log(a.hash);
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { sqliteNativeBinding } from '../core/runtime.js';
import { dataDirSchemaVersion, folderSchemaVersion, SchemaTooNew, SCHEMA } from './db.js';

function open(file: string, cacheDir: string): Database.Database {
  const nativeBinding = sqliteNativeBinding(cacheDir);
  return new Database(file, { readonly: true, fileMustExist: true, ...(nativeBinding ? { nativeBinding: nativeBinding as never } : {}) });
}

/**
 * A read-only connection to a data folder's database, for {@link snapshot} from another
 * process than the server's (WAL lets it read while the server writes). Refuses a newer schema.
 */
export function openSource(dataDir: string): Database.Database {
  // The header first: opening a newer folder, even read-only, would leave -wal/-shm files in it.
  const header = dataDirSchemaVersion(dataDir);
  if (header !== null && header > SCHEMA.version) throw new SchemaTooNew(dataDir, header);
  const db = open(join(dataDir, 'orchestrator.db'), join(dataDir, '.cache'));
  const v = folderSchemaVersion(db);
  if (v > SCHEMA.version) {
    db.close();
    throw new SchemaTooNew(dataDir, v);
  }
  return db;
}

export interface SnapshotOptions {
  /**
   * `own`: the source is the server's own writer connection: the copy advances in small steps
   * between the server's transactions, which SQLite applies to the copy as they commit.
   * `foreign` (default): another process writes; the copy is taken in one step inside one read
   * transaction, so those writes can never restart it.
   */
  source?: 'own' | 'foreign';
  onProgress?(copiedPages: number, totalPages: number): void;
}

/**
 * Writes a transactionally consistent copy of `src` to `destFile` (which must not exist).
 *
 * @example
 * await snapshot(store.db.sqlite, join(dir, 'orchestrator.db'), { source: 'own' });
 */
export async function snapshot(src: Database.Database, destFile: string, opts: SnapshotOptions = {}): Promise<{ pages: number }> {
  const step = opts.source === 'own' ? 2000 : 0x7fffffff;
  const r = await src.backup(destFile, {
    progress({ totalPages, remainingPages }) {
      opts.onProgress?.(totalPages - remainingPages, totalPages);
      return step;
    },
  });
  opts.onProgress?.(r.totalPages, r.totalPages);
  return { pages: r.totalPages };
}

/**
 * {@link snapshot} of a data folder's database from another process than the server's (a
 * read-only {@link openSource} connection, closed after), in one step.
 */
export async function snapshotDataDir(dataDir: string, destFile: string, onProgress?: SnapshotOptions['onProgress']): Promise<{ pages: number }> {
  const src = openSource(dataDir);
  try {
    return await snapshot(src, destFile, { source: 'foreign', onProgress });
  } finally {
    src.close();
  }
}

/** Every artifact hash a database's tenants own, once, with its size, by hash. */
export function ownedArtifacts(dbFile: string, cacheDir: string): Array<{ hash: string; size: number }> {
  const db = open(dbFile, cacheDir);
  try {
    return db.prepare(`select hash, max(size) as size from artifacts group by hash order by hash`).all() as Array<{ hash: string; size: number }>;
  } finally {
    db.close();
  }
}

/** `PRAGMA integrity_check` and the schema version of a database file, read-only. */
export function inspect(dbFile: string, cacheDir: string): { integrity: string; version: number } {
  const db = open(dbFile, cacheDir);
  try {
    const rows = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
    return { integrity: rows.map((r) => r.integrity_check).join('; '), version: folderSchemaVersion(db) };
  } finally {
    db.close();
  }
}

/** The schema version of a database file, read-only (no integrity check). */
export function schemaVersion(dbFile: string, cacheDir: string): number {
  const db = open(dbFile, cacheDir);
  try {
    return folderSchemaVersion(db);
  } finally {
    db.close();
  }
}
