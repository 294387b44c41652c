/**
 * Content-addressed artifact store over a folder: `<root>/ab/cdef…` where `abcdef…` is the
 * SHA-256 of the bytes. Pure filesystem: tenant ownership lives in the database, not here.
 *
 * Durability (folder.ts): an object is written to a temp file in its final folder, fsynced,
 * renamed into place and the folder fsynced, so a crash leaves either no object or a whole one
 * (plus, at worst, a temp file that {@link ArtifactStore.sweepTemp} removes at start-up). Disk errors
 * (`ENOSPC`, `EDQUOT`, …) are rethrown unchanged so callers can map them (core `toApiError`
 * turns disk-full into 507).
 */
import { createHash } from 'node:crypto';
import type { ReadStream } from 'node:fs';
import * as nodeFsp from 'node:fs/promises';
import { join } from 'node:path';
import { ApiError } from '../core/errors.js';
import { HASH_RE } from '../core/ids.js';
import { isNotFound, ShardedFolder, type StoreFs } from './folder.js';
import { ArtifactWriter } from './writer.js';

export type { StoreFs };

export interface ArtifactStat {
  hash: string;
  size: number;
}

export interface PutResult extends ArtifactStat {
  /** false when the object already existed and nothing was written. */
  created: boolean;
}

/**
 * Checks an artifact hash (`<64 hex>` or `sha256:<64 hex>`) and returns the bare lowercase
 * hex form. Throws `ApiError('NOT_FOUND')` for anything else, before any filesystem call.
 *
 * @example normalizeArtifactHash('sha256:' + 'a'.repeat(64)) // 'aaaa…'
 */
export function normalizeArtifactHash(input: unknown): string {
  if (typeof input === 'string') {
    const hex = input.startsWith('sha256:') ? input.slice(7) : input;
    if (HASH_RE.test(hex)) return hex;
  }
  throw new ApiError('NOT_FOUND', 'artifact not found');
}

function checkHash(hash: unknown): string {
  if (typeof hash !== 'string' || !HASH_RE.test(hash)) {
    throw new ApiError('NOT_FOUND', 'artifact not found');
  }
  return hash;
}

/**
 * @example
 * const store = new ArtifactStore(join(dataDir, 'artifacts'));
 * await store.sweepTemp();
 * const { hash, size } = await store.put('hello');
 * const bytes = await store.get(hash); // Buffer 'hello'
 */
export class ArtifactStore {
  readonly root: string;
  private readonly fs: StoreFs;
  private readonly folder: ShardedFolder;
  /** Per-hash serialisation of put and remove (see {@link remove}). */
  private readonly busy = new Map<string, Promise<unknown>>();
  private readonly onChange?: (deltaBytes: number) => void;

  /**
   * @param root the artifacts folder (usually `<dataDir>/artifacts`); created on demand.
   * @param options.onChange told the size of every object created (+) or removed (-).
   */
  constructor(root: string, options: { fs?: StoreFs; onChange?: (deltaBytes: number) => void } = {}) {
    this.root = root;
    this.fs = options.fs ?? nodeFsp;
    this.folder = new ShardedFolder(root, this.fs);
    this.onChange = options.onChange;
  }

  /** Runs `fn` once no other put/remove of the same hash is under way. */
  private exclusive<T>(hash: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.busy.get(hash);
    const run = prev ? prev.then(fn, fn) : fn();
    const tail = run.catch(() => undefined);
    this.busy.set(hash, tail);
    void tail.then(() => {
      if (this.busy.get(hash) === tail) this.busy.delete(hash);
    });
    return run;
  }

  /** Absolute path of an object (hash validated first). */
  pathOf(hash: string): string {
    return this.folder.path(checkHash(hash));
  }

  /**
   * Stores bytes (a string is stored as UTF-8) and returns their hash. Skips the write when the
   * object already exists with the right size. With `expectedHash`, bytes that hash otherwise
   * are refused (`ApiError('VALIDATION_FAILED')`) and nothing is written.
   */
  async put(data: Uint8Array | string, expectedHash?: string): Promise<PutResult> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const hash = createHash('sha256').update(bytes).digest('hex');
    if (expectedHash !== undefined && normalizeArtifactHash(expectedHash) !== hash) {
      throw new ApiError('VALIDATION_FAILED', 'artifact bytes do not match their hash', {
        expected: expectedHash,
        actual: hash,
      });
    }
    const size = bytes.byteLength;
    return this.exclusive(hash, async () => {
      const existing = await this.stat(hash);
      // An object stored again is touched: its age restarts, so garbage collection (which
      // spares objects younger than its grace period) never takes it before the new owner's
      // record commits. Should the touch fail, the object is written anew (fresh mtime).
      if (existing && existing.size === size && (await this.touch(hash))) return { hash, size, created: false };
      await this.folder.writeAtomic(hash, bytes);
      if (!existing) this.onChange?.(size);
      return { hash, size, created: true };
    });
  }

  private async touch(hash: string): Promise<boolean> {
    const now = new Date();
    return this.fs.utimes(this.pathOf(hash), now, now).then(() => true, () => false);
  }

  /**
   * Deletes an object if `stillUnused(ageMs)` says so, asked while no put of the same hash can
   * run: a put waits for the removal and then writes the object anew, and a removal that
   * follows a put sees the put's fresh modification time. `ageMs` is the object's age by its
   * modification time; it may answer asynchronously (a store port's read), and no put of the
   * hash runs until it has. Returns the bytes freed, or null when the object was kept or absent.
   *
   * @example
   * await cas.remove(hash, async (age) => age > graceMs && !(await ports.retention.ownedByAnyone(hash)));
   */
  remove(hash: string, stillUnused: (ageMs: number) => boolean | Promise<boolean>): Promise<number | null> {
    const path = this.pathOf(hash);
    return this.exclusive(hash, async () => {
      let st: { size: number; mtimeMs: number; isFile(): boolean };
      try {
        st = await this.fs.stat(path);
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
      if (!st.isFile() || !(await stillUnused(Date.now() - st.mtimeMs))) return null;
      await this.fs.unlink(path);
      this.onChange?.(-st.size);
      return st.size;
    });
  }

  /**
   * Every stored object (hash, size, age by modification time), shard by shard; temp files
   * and foreign names are skipped.
   *
   * @example
   * for await (const o of cas.objects()) total += o.size;
   */
  async *objects(): AsyncGenerator<{ hash: string; size: number; ageMs: number }> {
    let shards: string[];
    try {
      shards = (await this.fs.readdir(this.root)).filter((d) => /^[0-9a-f]{2}$/.test(d)).sort();
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    for (const d of shards) {
      const names = (await this.fs.readdir(join(this.root, d)).catch(() => [] as string[])).sort();
      for (const name of names) {
        const hash = d + name;
        if (!HASH_RE.test(hash)) continue;
        const st = await this.fs.stat(join(this.root, d, name)).catch(() => null);
        if (st?.isFile()) yield { hash, size: st.size, ageMs: Date.now() - st.mtimeMs };
      }
    }
  }

  /**
   * A streaming write: bytes go to a temp file as they come (hashed on the way), and
   * `commit()` moves the finished file into place — memory stays bounded whatever the size.
   *
   * @example
   * const w = await store.writer();
   * for await (const chunk of child.stdout) await w.write(chunk);
   * const { hash, size } = await w.commit();
   */
  async writer(): Promise<ArtifactWriter> {
    const { temp, fh } = await this.folder.openTemp();
    return new ArtifactWriter(fh, temp, (t, hash, size) => this.adopt(t, hash, size), (t) => this.fs.unlink(t));
  }

  /**
   * Moves a finished, fsynced temp file into place as the object `hash` (or drops it when an
   * intact object is already there). Used by {@link ArtifactWriter.commit}.
   */
  private async adopt(temp: string, hash: string, size: number): Promise<boolean> {
    const existing = await this.stat(hash);
    if (existing && existing.size === size) {
      await this.fs.unlink(temp).catch(() => undefined);
      return false;
    }
    await this.folder.moveIn(temp, hash);
    return true;
  }

  /** The object's bytes, or null when absent. */
  async get(hash: string): Promise<Buffer | null> {
    const path = this.pathOf(hash);
    try {
      return await this.fs.readFile(path);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async has(hash: string): Promise<boolean> {
    return (await this.stat(hash)) !== null;
  }

  /** Size of the object, or null when absent. */
  async stat(hash: string): Promise<ArtifactStat | null> {
    const path = this.pathOf(hash);
    try {
      const st = await this.fs.stat(path);
      return st.isFile() ? { hash, size: st.size } : null;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /**
   * A read stream over a (possibly large) object, or null when absent. The file is opened
   * before this returns, so a present object cannot turn into a stream error later.
   *
   * @example
   * const s = await store.stream(hash);
   * if (s) return new Response(Readable.toWeb(s.stream), { headers: { 'content-length': String(s.size) } });
   */
  async stream(hash: string): Promise<{ size: number; stream: ReadStream } | null> {
    const path = this.pathOf(hash);
    let fh: nodeFsp.FileHandle;
    try {
      fh = await this.fs.open(path, 'r');
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
    try {
      const st = await fh.stat();
      return { size: st.size, stream: fh.createReadStream({ autoClose: true }) };
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Removes temp files left by writes that never finished (a crash mid-put). Call at start-up,
   * before serving. Returns how many were removed.
   */
  sweepTemp(): Promise<number> {
    return this.folder.sweepTemp();
  }
}
