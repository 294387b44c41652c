/**
 * Online backup (CONTRACT §12): a consistent snapshot of the database (SQLite's online backup
 * API, never a file copy) plus every artifact the snapshot's tenants own and the folder's keys
 * and installed plugins, in one `.tar.gz` whose first entry is a manifest of SHA-256 hashes
 * (`manifest.ts`), optionally signed. Works while a server serves the folder: from the server
 * itself (`POST /admin/backup`, on its own connection) or from another process (`orchestrator
 * backup`, a read-only connection). A marker keeps garbage collection from deleting an object
 * the snapshot names until the copy is done (`markers.ts`).
 *
 * The archive is written under a temp name and renamed when complete; an artifact whose bytes
 * no longer match its hash, or that vanished, fails the backup (a backup never silently
 * misses data).
 *
 * @example
 * const r = await createBackup({ dataDir: './data', out: '/backups/2026-01-01.tar.gz' });
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ApiError, iso, systemClock, type Clock } from '../core/index.js';
import { snapshots, type MaintenancePort } from '../store/index.js';
import type { ManifestEntry } from '../bundles/index.js';
import { beginBackup } from './markers.js';
import { backupManifestBytes, buildBackupManifest, BACKUP_KIND, DATA_PREFIX, signArchiveManifest, type ArchiveKind } from './manifest.js';
import { silentProgress, type Progress } from './progress.js';
import { TarGzWriter } from './tarball.js';

/** Folders of the data folder carried besides the database and artifacts. */
export const CARRIED_DIRS = ['keys', 'dev', 'plugins', 'imported-events'] as const;
/** gzip level of backups: fast (artifacts are often compressed already; the database is not). */
export const BACKUP_GZIP_LEVEL = 1;

export interface BackupRequest {
  dataDir: string;
  /** The archive to write; must not exist. */
  out: string;
  /** PKCS#8 PEM private key: sign the manifest (DSSE). */
  keyPem?: string;
  /** The server's own store's upkeep (its writer connection); absent: a read-only connection of this process. */
  maintenance?: MaintenancePort;
  level?: number;
  progress?: Progress;
  clock?: Clock;
}

export interface BackupReport {
  file: string;
  /** Size of the archive, and its SHA-256. */
  bytes: number;
  sha256: string;
  /** Bytes of everything carried (before compression). */
  dataBytes: number;
  entries: number;
  artifacts: number;
  schemaVersion: number;
  createdUtc: string;
  durationMs: number;
  signedBy?: string[];
}

export interface Source {
  entry: ManifestEntry;
  file: string;
  /** Artifacts: hash checked while copying (their name is their hash). */
  verify: boolean;
}

async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of createReadStream(file, { highWaterMark: 1 << 20 })) {
    h.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { sha256: h.digest('hex'), size };
}

/** Regular files under `root/dir`, as archive paths (a symlink or device refuses the backup). */
async function treeFiles(root: string, dir: string): Promise<Source[]> {
  const out: Source[] = [];
  const walk = async (abs: string) => {
    let names: string[];
    try {
      names = (await readdir(abs)).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(abs, n);
      const st = await stat(p);
      if (st.isDirectory()) await walk(p);
      else if (st.isFile()) {
        const { sha256, size } = await hashFile(p);
        out.push({ entry: { path: DATA_PREFIX + relative(root, p).split('\\').join('/'), sha256, size }, file: p, verify: false });
      } else throw new ApiError('VALIDATION_FAILED', `cannot back up ${relative(root, p)}: not a regular file`);
    }
  };
  await walk(join(root, dir));
  return out;
}

/**
 * Writes an archive's body: the manifest, its signature when a key is given, then each entry's
 * file (from `sources`) in manifest order, checking its size and, for `verify` sources, its
 * hash on the way. Returns the key ids that signed it.
 */
export async function writeArchiveBody(
  writer: TarGzWriter, kind: ArchiveKind, manifestBytes: Buffer, entries: readonly ManifestEntry[],
  sources: ReadonlyMap<string, Source>, keyPem?: string, onBytes?: (n: number) => void,
): Promise<string[] | undefined> {
  await writer.add(kind.manifest, manifestBytes);
  let signedBy: string[] | undefined;
  if (keyPem) {
    const sig = signArchiveManifest(kind, manifestBytes, keyPem);
    signedBy = (JSON.parse(sig.toString('utf8')) as { signatures: Array<{ keyid: string }> }).signatures.map((x) => x.keyid);
    await writer.add(kind.signature, sig);
  }
  for (const e of entries) {
    const s = sources.get(e.path)!;
    const h = s.verify ? createHash('sha256') : undefined;
    let size: number;
    try {
      size = statSync(s.file).size;
    } catch {
      throw new ApiError('INTERNAL', `artifact ${e.sha256} is named by the database but missing from the artifact store`);
    }
    if (size !== e.size) throw new ApiError('INTERNAL', `${e.path} has ${size} bytes on disk, ${e.size} recorded`);
    await writer.add(e.path, createReadStream(s.file, { highWaterMark: 1 << 20 }), e.size, (c) => {
      h?.update(c);
      onBytes?.(c.length);
    });
    if (h && h.digest('hex') !== e.sha256) throw new ApiError('INTERNAL', `${e.path} on disk does not match its hash (damaged)`);
  }
  return signedBy;
}

/** Writes a backup of `dataDir` to `out`. */
export async function createBackup(r: BackupRequest): Promise<BackupReport> {
  const clock = r.clock ?? systemClock;
  const progress = r.progress ?? silentProgress;
  const t0 = performance.now();
  const dataDir = resolve(r.dataDir);
  const out = resolve(r.out);
  if (existsSync(out)) throw new ApiError('VALIDATION_FAILED', `${out} exists already: a backup never overwrites a file`);
  if (!existsSync(join(dataDir, 'orchestrator.db'))) throw new ApiError('VALIDATION_FAILED', `${dataDir} holds no orchestrator database`);
  const endMarker = beginBackup(dataDir);
  const staging = await mkdtemp(join(dirname(out), `.${basename(out)}.staging-`));
  let writer: TarGzWriter | undefined;
  try {
    progress.phase('snapshot of the database');
    const dbFile = join(staging, 'orchestrator.db');
    const onProgress = (done: number, total: number) => progress.bytes(done, total);
    await (r.maintenance ? r.maintenance.snapshot(dbFile, onProgress) : snapshots.snapshotDataDir(dataDir, dbFile, onProgress));
    const cache = join(dataDir, '.cache');
    const version = snapshots.schemaVersion(dbFile, cache);
    const createdUtc = iso(clock.now());
    const sources: Source[] = [];
    const db = await hashFile(dbFile);
    sources.push({ entry: { path: `${DATA_PREFIX}orchestrator.db`, ...db }, file: dbFile, verify: false });
    for (const d of CARRIED_DIRS) sources.push(...(await treeFiles(dataDir, d)));
    const artifacts = snapshots.ownedArtifacts(dbFile, cache);
    for (const a of artifacts) {
      const file = join(dataDir, 'artifacts', a.hash.slice(0, 2), a.hash.slice(2));
      sources.push({ entry: { path: `${DATA_PREFIX}artifacts/${a.hash.slice(0, 2)}/${a.hash.slice(2)}`, sha256: a.hash, size: a.size }, file, verify: true });
    }
    const manifest = buildBackupManifest(sources.map((s) => s.entry), version, createdUtc);
    const manifestBytes = backupManifestBytes(manifest);
    const byPath = new Map(sources.map((s) => [s.entry.path, s]));
    const total = sources.reduce((n, s) => n + s.entry.size, 0);
    writer = await TarGzWriter.create(out, r.level ?? BACKUP_GZIP_LEVEL);
    progress.phase(`${manifest.entries.length} files, ${artifacts.length} artifacts`);
    let copied = 0;
    const signedBy = await writeArchiveBody(writer, BACKUP_KIND, manifestBytes, manifest.entries, byPath, r.keyPem, (n) => {
      copied += n;
      progress.bytes(copied, total);
    });
    const sha256 = await writer.finish();
    writer = undefined;
    const report: BackupReport = {
      file: out,
      bytes: statSync(out).size,
      sha256,
      dataBytes: total,
      entries: manifest.entries.length,
      artifacts: artifacts.length,
      schemaVersion: version,
      createdUtc,
      durationMs: Math.round(performance.now() - t0),
      ...(signedBy ? { signedBy } : {}),
    };
    await recordLastBackup(dataDir, report);
    progress.done(`${out} (${(report.bytes / 1048576).toFixed(1)} MiB, ${report.entries} files)`);
    return report;
  } catch (e) {
    await writer?.abort();
    throw e;
  } finally {
    endMarker();
    await rm(staging, { recursive: true, force: true });
  }
}

const LAST_BACKUP = 'last-backup.json';

/** Notes the last successful backup in the data folder (for the metric, across restarts). */
async function recordLastBackup(dataDir: string, r: BackupReport): Promise<void> {
  const tmp = join(dataDir, `.${LAST_BACKUP}.${process.pid}`);
  await writeFile(tmp, JSON.stringify({ createdUtc: r.createdUtc, file: r.file, bytes: r.bytes, sha256: r.sha256 }) + '\n');
  await rename(tmp, join(dataDir, LAST_BACKUP));
}

/** When the last successful backup of the folder was taken (epoch ms), if any. */
export async function lastBackupMs(dataDir: string): Promise<number | undefined> {
  try {
    const j = JSON.parse(await readFile(join(dataDir, LAST_BACKUP), 'utf8')) as { createdUtc?: string };
    const ms = Date.parse(String(j.createdUtc));
    return Number.isNaN(ms) ? undefined : ms;
  } catch {
    return undefined;
  }
}
