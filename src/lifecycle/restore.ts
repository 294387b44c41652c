/**
 * Verifying and restoring backups (CONTRACT §12). Both read the archive as a stream and check
 * everything: the manifest first (canonical, sorted, root hash), its signature when trusted
 * keys are given (then required), every entry in manifest order with its size and SHA-256,
 * nothing missing and nothing extra, and the database's own `integrity_check`.
 *
 * A restore refuses a target folder that is not empty, extracts into a hidden sibling folder,
 * and only when every check passed renames it into place: all or nothing. A tampered,
 * truncated or foreign archive leaves no trace but an error.
 *
 * @example
 * await verifyBackup('/backups/x.tar.gz');
 * await restoreBackup('/backups/x.tar.gz', '/srv/orchestrator/data-new');
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { ApiError } from '../core/index.js';
import { BundleError, type ManifestEntry } from '../bundles/index.js';
import type { TrustStore } from '../dags/signature.js';
import { SCHEMA, snapshots } from '../store/index.js';
import { BACKUP_KIND, DATA_PREFIX, parseArchiveManifest, verifyArchiveSignature, type ArchiveKind, type BackupManifest } from './manifest.js';
import { silentProgress, type Progress } from './progress.js';
import { readTarGz } from './tarball.js';
import { fsyncPath } from './fsync.js';

export interface ReadOptions {
  /** Trusted public keys: the backup must carry a signature that verifies with one of them. */
  trust?: TrustStore;
  /** With `trust`: an unsigned archive is accepted too (a signature present must still verify). */
  allowUnsigned?: boolean;
  progress?: Progress;
}

export interface BackupCheck {
  ok: true;
  file: string;
  createdUtc: string;
  createdBy: string;
  schemaVersion: number;
  entries: number;
  dataBytes: number;
  integrity: string;
  signedBy: string[];
}

const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;

export async function collect(data: AsyncIterable<Buffer>, max: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of data) {
    n += c.length;
    if (n > max) throw new BundleError('LIMIT_EXCEEDED', `${what} is too large`);
    parts.push(c);
  }
  return Buffer.concat(parts);
}

/**
 * Reads an archive of `kind` (a backup, a run archive), checking it entry by entry: the
 * manifest first, then its signature (required when `opts.trust` is given), then every entry in
 * manifest order with its size and SHA-256, nothing missing, nothing extra. `sink` receives each
 * data entry's bytes (to write them somewhere) and must consume them; the entry's hash is
 * checked once it has. Throws `BundleError` on the first problem.
 *
 * @example await walkArchive(file, RUN_ARCHIVE_KIND, { trust }, async (e, data) => { for await (const c of data) … });
 */
export async function walkArchive<M extends { entries: ManifestEntry[]; rootHash: string }>(
  file: string,
  kind: ArchiveKind,
  opts: ReadOptions & { onManifest?(m: M): void },
  sink: (e: ManifestEntry, data: AsyncIterable<Buffer>) => Promise<void>,
): Promise<{ manifest: M; signedBy: string[] }> {
  const progress = opts.progress ?? silentProgress;
  let manifest: M | undefined;
  let manifestBytes: Buffer | undefined;
  let signedBy: string[] = [];
  let signatureChecked = false;
  let i = 0;
  let done = 0;
  let total = 0;
  const checkSignature = () => {
    if (signatureChecked) return;
    signatureChecked = true;
    if (opts.trust && !opts.allowUnsigned) throw new BundleError('MANIFEST_MISSING', `${kind.signature} is missing: the archive is not signed`);
  };
  await readTarGz(file, async (e) => {
    if (!manifest) {
      if (e.path !== kind.manifest) throw new BundleError('MANIFEST_MISSING', `the first entry is ${e.path}, not ${kind.manifest}`);
      manifestBytes = await collect(e.data, MAX_MANIFEST_BYTES, kind.manifest);
      manifest = parseArchiveManifest<M>(kind, manifestBytes);
      opts.onManifest?.(manifest);
      total = manifest.entries.reduce((n, x) => n + x.size, 0);
      progress.phase(`${manifest.entries.length} files`);
      return;
    }
    if (e.path === kind.signature && i === 0 && !signatureChecked) {
      const sig = await collect(e.data, 1 << 20, kind.signature);
      signatureChecked = true;
      if (opts.trust) signedBy = verifyArchiveSignature(kind, sig, manifestBytes!, opts.trust);
      return;
    }
    checkSignature();
    const want = manifest.entries[i];
    if (!want) throw new BundleError('FILE_UNLISTED', `${e.path} is not listed in ${kind.manifest}`, { path: e.path });
    if (want.path !== e.path) {
      const listed = manifest.entries.some((x) => x.path === e.path);
      throw listed
        ? new BundleError('FILE_MISSING', `${want.path} is missing (found ${e.path} in its place)`, { path: want.path })
        : new BundleError('FILE_UNLISTED', `${e.path} is not listed in ${kind.manifest}`, { path: e.path });
    }
    if (e.size !== want.size) throw new BundleError('SIZE_MISMATCH', `${e.path}: ${e.size} bytes, the manifest says ${want.size}`, { path: e.path });
    const h = createHash('sha256');
    const data = e.data;
    await sink(want, (async function* () {
      for await (const c of data) {
        h.update(c);
        done += c.length;
        progress.bytes(done, total);
        yield c;
      }
    })());
    if (h.digest('hex') !== want.sha256) throw new BundleError('HASH_MISMATCH', `${e.path}: SHA-256 does not match the manifest`, { path: e.path });
    i++;
  });
  if (!manifest) throw new BundleError('MANIFEST_MISSING', `the archive has no ${kind.manifest}`);
  checkSignature();
  if (i < manifest.entries.length) throw new BundleError('FILE_MISSING', `${manifest.entries[i]!.path} is missing`, { path: manifest.entries[i]!.path });
  return { manifest, signedBy };
}

function walk(file: string, opts: ReadOptions & { onManifest?(m: BackupManifest): void }, sink: (e: ManifestEntry, data: AsyncIterable<Buffer>) => Promise<void>) {
  return walkArchive<BackupManifest>(file, BACKUP_KIND, opts, sink);
}

async function writeFileFrom(path: string, data: AsyncIterable<Buffer>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const out = createWriteStream(path, { flags: 'wx' });
  await new Promise<void>((res, rej) => out.once('open', () => res()).once('error', rej));
  try {
    for await (const c of data) {
      if (!out.write(c)) await new Promise<void>((res) => out.once('drain', () => res()));
    }
  } finally {
    await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
  }
  await fsyncPath(path);
}

function checkDatabase(dbFile: string, manifest: BackupManifest): string {
  const { integrity, version } = snapshots.inspect(dbFile, join(dirname(dbFile), '.cache'));
  if (integrity !== 'ok') throw new BundleError('ARCHIVE_INVALID', `the backed-up database fails its integrity check: ${integrity.slice(0, 200)}`);
  if (version !== manifest.schemaVersion) throw new BundleError('MANIFEST_INVALID', `the database has schema version ${version}, the manifest says ${manifest.schemaVersion}`);
  return integrity;
}

function refuseNewer(m: BackupManifest): void {
  if (m.schemaVersion > SCHEMA.version) {
    throw new ApiError('VALIDATION_FAILED', `the backup has schema version ${m.schemaVersion}, newer than this orchestrator's ${SCHEMA.version}: restore it with the version that made it`);
  }
}

/** Checks a backup completely without installing anything. */
export async function verifyBackup(file: string, opts: ReadOptions = {}): Promise<BackupCheck> {
  const scratch = await mkdtemp(join(tmpdir(), 'orch-backup-verify-'));
  try {
    const dbFile = join(scratch, 'orchestrator.db');
    const { manifest, signedBy } = await walk(resolve(file), opts, async (e, data) => {
      if (e.path === `${DATA_PREFIX}orchestrator.db`) await writeFileFrom(dbFile, data);
      else for await (const _ of data) { /* hashed by walk */ }
    });
    const integrity = checkDatabase(dbFile, manifest);
    opts.progress?.done('verified');
    return summary(resolve(file), manifest, signedBy, integrity);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function summary(file: string, m: BackupManifest, signedBy: string[], integrity: string): BackupCheck {
  return {
    ok: true, file, createdUtc: m.createdUtc, createdBy: m.createdBy, schemaVersion: m.schemaVersion,
    entries: m.entries.length, dataBytes: m.entries.reduce((n, e) => n + e.size, 0), integrity, signedBy,
  };
}

async function fsyncTree(dir: string): Promise<void> {
  for (const n of await readdir(dir)) {
    const p = join(dir, n);
    if ((await stat(p)).isDirectory()) await fsyncTree(p);
  }
  await fsyncPath(dir);
}

/**
 * Restores a backup into `target` (absent, or an empty folder): verifies every byte while
 * extracting into a sibling folder, checks the database, then renames it into place.
 */
export async function restoreBackup(file: string, target: string, opts: ReadOptions = {}): Promise<BackupCheck & { dataDir: string }> {
  const dest = resolve(target);
  if (existsSync(dest)) {
    const st = await stat(dest);
    if (!st.isDirectory()) throw new ApiError('VALIDATION_FAILED', `${dest} exists and is not a folder`);
    if ((await readdir(dest)).length > 0) throw new ApiError('VALIDATION_FAILED', `${dest} is not empty: a restore only goes into a new or empty folder`);
  }
  await mkdir(dirname(dest), { recursive: true });
  const staging = join(dirname(dest), `.${basename(dest)}.restore-${randomBytes(4).toString('hex')}`);
  await mkdir(staging);
  try {
    const { manifest, signedBy } = await walk(resolve(file), { ...opts, onManifest: refuseNewer }, async (e, data) => {
      await writeFileFrom(join(staging, e.path.slice(DATA_PREFIX.length)), data);
    });
    const integrity = checkDatabase(join(staging, 'orchestrator.db'), manifest);
    await rm(join(staging, 'orchestrator.db-shm'), { force: true });
    await rm(join(staging, 'orchestrator.db-wal'), { force: true });
    await fsyncTree(staging);
    if (existsSync(dest)) await rmdir(dest);
    await rename(staging, dest);
    await fsyncPath(dirname(dest));
    opts.progress?.done(`restored into ${dest}`);
    return { ...summary(resolve(file), manifest, signedBy, integrity), dataDir: dest };
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw e;
  }
}
