/**
 * Upgrades (CONTRACT §12): a data folder records its schema version (`PRAGMA user_version`,
 * the number of migrations applied; see src/store/db.ts). Before a server (or `orchestrator
 * upgrade`) opens a folder:
 *
 * - newer than this executable → refused with a clear message, nothing touched (the version
 *   is read from the database header, before any lock or write);
 * - older → a full backup is written beside the folder
 *   (`<folder>.pre-upgrade-v<from>-to-v<to>-<time>.tar.gz`, the usual format: `orchestrator
 *   restore` takes it), then the migrations run; if the backup cannot be written nothing is
 *   migrated;
 * - the same, or a new folder → nothing to do.
 *
 * @example
 * const r = await prepareDataDir('./data', logger); // { action: 'migrated', from: 2, to: 3, backup: '…' }
 */
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { iso, systemClock, type Clock } from '../core/index.js';
import { dataDirSchemaVersion, SCHEMA, SchemaTooNew, Store, takeLock } from '../store/index.js';
import { silentProgress, type Progress } from './progress.js';

export interface UpgradeResult {
  action: 'none' | 'new' | 'migrated';
  from: number | null;
  to: number;
  /** The automatic backup written before migrating. */
  backup?: string;
}

/** What {@link prepareDataDir} would do, without doing it. */
export function upgradePlan(dataDir: string): UpgradeResult {
  const from = dataDirSchemaVersion(dataDir);
  if (from !== null && from > SCHEMA.version) throw new SchemaTooNew(dataDir, from);
  const action = from === null || from === 0 ? 'new' : from < SCHEMA.version ? 'migrated' : 'none';
  return { action, from, to: SCHEMA.version };
}

/** Backs up and migrates an older folder; refuses a newer one. */
export async function prepareDataDir(dataDir: string, logger?: Logger, opts: { clock?: Clock; progress?: Progress } = {}): Promise<UpgradeResult> {
  const plan = upgradePlan(dataDir);
  if (plan.action !== 'migrated') return plan;
  const clock = opts.clock ?? systemClock;
  // Held while backing up: no server may start on the folder meanwhile.
  const release = takeLock(dataDir);
  let backup: string;
  try {
    const stamp = iso(clock.now()).replace(/[-:]/g, '').replace('.', '');
    backup = join(dirname(dataDir), `${basename(dataDir)}.pre-upgrade-v${plan.from}-to-v${SCHEMA.version}-${stamp}.tar.gz`);
    logger?.info({ dataDir, from: plan.from, to: SCHEMA.version, backup }, 'older data folder: backing it up before migrating');
    // Imported here: the backup's code (tarballs, bundles, manifests) is needed only by an older folder (issue #20).
    const { createBackup } = await import('./backup.js');
    await createBackup({ dataDir, out: backup, progress: opts.progress ?? silentProgress, clock });
  } finally {
    release();
  }
  Store.open({ dataDir, upgrade: true }).close();
  logger?.info({ dataDir, from: plan.from, to: SCHEMA.version, backup }, 'data folder migrated');
  return { ...plan, backup };
}
