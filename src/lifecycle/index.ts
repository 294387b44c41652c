/**
 * Data lifecycle (CONTRACT §12; docs/OPERATIONS.md): retention and its pruner, event-log
 * checkpoints, artifact garbage collection, online backup, verify and restore, run archives
 * (moving runs between sites), schema upgrades,
 * disk watermarks and their metrics. Domain logic only: every part takes its I/O (store,
 * artifact store, clock, logger) as arguments; the server wires them in `src/cli/server.ts`.
 *
 * @example
 * const lc = new LifecycleService({ store, cas, clock, logger, dataDir, gcGraceMs: 3_600_000, intervalMs: 3_600_000 });
 * await lc.applyNow(['demo']);
 */
export { LifecycleService, type LifecycleOptions, type PassReport } from './service.js';
export { LifecycleMetrics } from './metrics.js';
export { effectivePolicy, isOff, RETENTION_OFF, type RetentionPolicy, type EffectivePolicy } from './policy.js';
export { pruneTenant, type TenantPruneReport, type PrunedKind } from './prune.js';
export { collectArtifacts, type GcReport } from './gc.js';
export { createBackup, lastBackupMs, type BackupReport } from './backup.js';
export { verifyBackup, restoreBackup, type BackupCheck } from './restore.js';
export { createRunArchive, RUN_ARCHIVE_KIND, type RunArchiveReport } from './run-archive.js';
export { importRunArchive, IMPORTED_EVENTS_DIR, type RunArchiveImportReport } from './run-archive-import.js';
export { prepareDataDir, upgradePlan, type UpgradeResult } from './upgrade.js';
export { DiskWatermarks, parseThreshold, type Threshold } from './disk.js';
export { stderrProgress, silentProgress, type Progress } from './progress.js';
