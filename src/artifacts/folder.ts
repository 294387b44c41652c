/**
 * The artifact store's folder on disk: the shard layout `<root>/ab/cdef…` and the crash-safe
 * file operations (temp file in the final folder, fsync, rename, fsync of the folder), so a
 * crash leaves either no object or a whole one, plus at worst a temp file that
 * {@link ShardedFolder.sweepTemp} removes.
 *
 * @example
 * const folder = new ShardedFolder(join(dataDir, 'artifacts'), fsp);
 * await folder.writeAtomic(hash, bytes); // folder.path(hash) now holds them
 */
import { randomBytes } from 'node:crypto';
import type * as nodeFsp from 'node:fs/promises';
import { join } from 'node:path';

/** The subset of `node:fs/promises` the store uses; injectable for fault-injection tests. */
export type StoreFs = Pick<
  typeof nodeFsp,
  'open' | 'rename' | 'unlink' | 'mkdir' | 'readFile' | 'stat' | 'readdir' | 'utimes'
>;

const TEMP_PREFIX = '.tmp-';

export function isNotFound(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export class ShardedFolder {
  private readonly knownDirs = new Set<string>();

  constructor(
    readonly root: string,
    readonly fs: StoreFs,
  ) {}

  /** Where the object `hash` (checked by the caller) lives. */
  path(hash: string): string {
    return join(this.root, hash.slice(0, 2), hash.slice(2));
  }

  /** A new temp file at the root for a streaming write (swept at start-up if never moved in). */
  async openTemp(): Promise<{ temp: string; fh: nodeFsp.FileHandle }> {
    await this.fs.mkdir(this.root, { recursive: true });
    const temp = join(this.root, `${TEMP_PREFIX}w-${randomBytes(8).toString('hex')}`);
    return { temp, fh: await this.fs.open(temp, 'wx', 0o644) };
  }

  /** Renames a finished, fsynced temp file into place as `hash` (the temp file is removed if that fails). */
  async moveIn(temp: string, hash: string): Promise<void> {
    const dir = join(this.root, hash.slice(0, 2));
    try {
      await this.ensureDir(dir);
      await this.fs.rename(temp, join(dir, hash.slice(2)));
    } catch (err) {
      await this.fs.unlink(temp).catch(() => undefined);
      throw err;
    }
    await this.fsyncDir(dir);
    await this.fsyncDir(this.root);
  }

  /** Writes `bytes` as the object `hash`: temp file in its shard, fsync, rename, fsync of the shard. */
  async writeAtomic(hash: string, bytes: Uint8Array): Promise<void> {
    const dir = join(this.root, hash.slice(0, 2));
    await this.ensureDir(dir);
    const final = join(dir, hash.slice(2));
    const temp = join(dir, `${TEMP_PREFIX}${hash.slice(2, 14)}-${randomBytes(6).toString('hex')}`);
    let renamed = false;
    try {
      const fh = await this.fs.open(temp, 'wx', 0o644);
      try {
        let off = 0;
        while (off < bytes.byteLength) {
          const { bytesWritten } = await fh.write(bytes, off, bytes.byteLength - off);
          off += bytesWritten;
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
      await this.fs.rename(temp, final);
      renamed = true;
      await this.fsyncDir(dir);
    } catch (err) {
      if (!renamed) await this.fs.unlink(temp).catch(() => undefined);
      throw err;
    }
  }

  /** Removes temp files left by writes that never finished; returns how many. */
  async sweepTemp(): Promise<number> {
    let removed = 0;
    let dirs: string[];
    try {
      dirs = await this.fs.readdir(this.root);
    } catch (err) {
      if (isNotFound(err)) return 0;
      throw err;
    }
    for (const d of dirs) {
      const dir = join(this.root, d);
      if (d.startsWith(TEMP_PREFIX)) {
        await this.fs.unlink(dir).catch(() => undefined);
        removed++;
        continue;
      }
      if (!/^[0-9a-f]{2}$/.test(d)) continue;
      for (const name of await this.fs.readdir(dir).catch(() => [] as string[])) {
        if (!name.startsWith(TEMP_PREFIX)) continue;
        await this.fs.unlink(join(dir, name)).catch(() => undefined);
        removed++;
      }
    }
    return removed;
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    await this.fs.mkdir(this.root, { recursive: true });
    const created = await this.fs.mkdir(dir, { recursive: true });
    // A new shard folder is itself a directory entry: make it durable too.
    if (created !== undefined) await this.fsyncDir(this.root);
    this.knownDirs.add(dir);
  }

  private async fsyncDir(dir: string): Promise<void> {
    const fh = await this.fs.open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
}
