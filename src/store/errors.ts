/**
 * Why a data folder is refused (locked, written by a newer schema, or needing an upgrade) and
 * the schema version this executable writes. Kept apart from the driver (db.ts) so the CLI can
 * recognise these errors without loading SQLite, drizzle or the queries at start-up.
 *
 * @example
 * if (e instanceof DataDirLockedError) process.stderr.write(e.message);
 */
import { MIGRATIONS } from './migrations.gen.js';

export class DataDirLockedError extends Error {
  constructor(dir: string, pid: string) {
    super(`data folder ${dir} is in use by another orchestrator process (pid ${pid}); refusing to start`);
    this.name = 'DataDirLockedError';
  }
}

/**
 * The schema version this executable writes: the number of embedded migrations (derived from
 * them, never a constant), with the last one's tag and timestamp. A data folder records its own
 * version as SQLite's `PRAGMA user_version` (the number of migrations applied to it), beside
 * drizzle's `__drizzle_migrations` table.
 */
export const SCHEMA = {
  version: MIGRATIONS.length,
  tag: MIGRATIONS[MIGRATIONS.length - 1]?.tag ?? '',
  lastMillis: MIGRATIONS[MIGRATIONS.length - 1]?.folderMillis ?? 0,
} as const;

/** The folder was written by a newer executable: refused, nothing touched. */
export class SchemaTooNew extends Error {
  constructor(readonly dataDir: string, readonly folderVersion: number) {
    super(
      `data folder ${dataDir} has schema version ${folderVersion}, newer than this orchestrator's ${SCHEMA.version} ` +
        `(${SCHEMA.tag}): it was written by a newer orchestrator. Run that version, or restore a backup taken ` +
        `before the upgrade into a new folder (orchestrator restore). Nothing was changed.`,
    );
    this.name = 'SchemaTooNew';
  }
}

/** The folder has an older schema and this open may not migrate it. */
export class SchemaUpgradeRequired extends Error {
  constructor(readonly dataDir: string, readonly folderVersion: number) {
    super(
      `data folder ${dataDir} has schema version ${folderVersion}, older than this orchestrator's ${SCHEMA.version}: ` +
        `run "orchestrator upgrade --data-dir ${dataDir}" (or start the server), which backs it up and migrates it first`,
    );
    this.name = 'SchemaUpgradeRequired';
  }
}
