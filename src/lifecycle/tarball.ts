/**
 * Streaming `.tar.gz` for backups: the ustar headers and strict header checks of the offline
 * bundles (`src/bundles/tar.ts`) and their gzip header rules (`src/bundles/gzip.ts`), written
 * and read as streams, because a backup holds a whole database and artifact store and must
 * never be held in memory. The writer only writes regular files (no folder entries); the
 * reader refuses anything the writer would not make: a bad header, a folder, a symlink, a path
 * outside the safe alphabet, data past the end, non-zero bytes after the end marker, a second
 * gzip member, a damaged or truncated gzip stream.
 *
 * @example
 * const w = await TarGzWriter.create('/backups/x.tar.gz', 1);
 * await w.add('a.txt', Buffer.from('hi'));
 * await w.finish();
 * await readTarGz('/backups/x.tar.gz', async (e) => { for await (const c of e.data) … });
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { fsyncPath } from './fsync.js';
import { BundleError, bundleLimits, checkGzipHeader, decodeHeader, encodeHeader, gzipStream, tarPadding, TAR_END, type BundleLimits } from '../bundles/index.js';

/** Limits for backup archives: any number of entries, files up to ustar's 8 GiB. */
export const BACKUP_LIMITS: BundleLimits = bundleLimits({
  maxBundleBytes: Number.MAX_SAFE_INTEGER,
  maxUnpackedBytes: Number.MAX_SAFE_INTEGER,
  maxEntries: Number.MAX_SAFE_INTEGER,
  maxFileBytes: 8 * 1024 ** 3 - 1,
});

/**
 * Writes a `.tar.gz` to a temp name beside `file`; {@link finish} fsyncs it and renames it into
 * place, {@link abort} removes it: a reader never sees a partial archive under the final name.
 */
export class TarGzWriter {
  private readonly tar = new PassThrough({ highWaterMark: 1 << 20 });
  private readonly done: Promise<void>;
  private failure: unknown;
  /** Uncompressed bytes written so far. */
  written = 0;
  /** Compressed bytes, and their SHA-256 (the archive file's), as they are written. */
  compressed = 0;
  private readonly hash = createHash('sha256');

  private constructor(readonly file: string, private readonly temp: string, level: number, out: WriteStream) {
    const tap = new Transform({
      transform: (c: Buffer, _e, cb) => {
        this.hash.update(c);
        this.compressed += c.length;
        cb(null, c);
      },
    });
    this.done = pipeline(this.tar, ...gzipStream(level), tap, out);
    this.done.catch((e: unknown) => {
      this.failure = e;
    });
  }

  static async create(file: string, level: number): Promise<TarGzWriter> {
    const temp = `${file}.partial-${randomBytes(4).toString('hex')}`;
    const out = createWriteStream(temp, { flags: 'wx' });
    await new Promise<void>((res, rej) => out.once('open', () => res()).once('error', rej));
    return new TarGzWriter(file, temp, level, out);
  }

  private async write(buf: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    this.written += buf.length;
    if (!this.tar.write(buf)) {
      await new Promise<void>((res, rej) => {
        const onErr = (e: unknown) => rej(e);
        this.done.catch(onErr);
        this.tar.once('drain', () => res());
      });
    }
  }

  /**
   * Adds a file entry of `size` bytes from a buffer or a stream of chunks; `onChunk` sees every
   * chunk (to hash it on the way). Throws when the source does not give exactly `size` bytes.
   */
  async add(path: string, data: Buffer | AsyncIterable<Buffer>, size = Buffer.isBuffer(data) ? data.length : -1, onChunk?: (c: Buffer) => void): Promise<void> {
    if (size < 0) throw new Error(`size of ${path} unknown`);
    await this.write(encodeHeader({ name: path, typeflag: '0' }, size));
    let n = 0;
    for await (const c of Buffer.isBuffer(data) ? [data] : data) {
      n += c.length;
      if (n > size) throw new Error(`${path} grew while it was being archived`);
      onChunk?.(c);
      await this.write(c);
    }
    if (n !== size) throw new Error(`${path} has ${n} bytes, ${size} expected`);
    await this.write(tarPadding(size));
  }

  /** Ends the archive, makes it durable and gives it its final name; returns the file's SHA-256. */
  async finish(): Promise<string> {
    await this.write(TAR_END);
    this.tar.end();
    await this.done;
    await fsyncPath(this.temp);
    await rename(this.temp, this.file);
    return this.hash.digest('hex');
  }

  async abort(): Promise<void> {
    this.tar.destroy();
    await this.done.catch(() => undefined);
    await unlink(this.temp).catch(() => undefined);
  }
}

export interface TarGzEntry {
  path: string;
  size: number;
  /** The entry's bytes; must be read to the end (or left: the reader skips what is left). */
  data: AsyncIterable<Buffer>;
}

function invalid(message: string): BundleError {
  return new BundleError('ARCHIVE_INVALID', message);
}

/**
 * Reads a `.tar.gz` entry by entry, strictly (see the module comment); `onEntry` is awaited
 * for each. Any damage, truncation or trailing data throws `BundleError('ARCHIVE_INVALID')`.
 */
export async function readTarGz(file: string, onEntry: (e: TarGzEntry) => Promise<void>, onCompressedBytes?: (n: number) => void): Promise<void> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(10);
    const { bytesRead } = await fh.read(head, 0, 10, 0);
    checkGzipHeader(head.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
  const src = createReadStream(file, { highWaterMark: 1 << 20 });
  if (onCompressedBytes) src.on('data', (c) => onCompressedBytes((c as Buffer).length));
  const gunzip = createGunzip();
  src.on('error', (e) => gunzip.destroy(e));
  const reader = new BlockReader(src.pipe(gunzip));
  try {
    let off = 0;
    for (;;) {
      const h = await reader.take(512);
      if (!h) throw invalid('archive is truncated (no end-of-archive marker)');
      if (h.every((b) => b === 0)) {
        const second = await reader.take(512);
        if (!second || !second.every((b) => b === 0)) throw invalid('archive has a lone zero block');
        for (let c = await reader.rest(); c; c = await reader.rest()) {
          if (!c.every((b) => b === 0)) throw invalid('archive has data after its end-of-archive marker');
        }
        return;
      }
      const { path, type, size } = decodeHeader(h, off, BACKUP_LIMITS);
      if (type !== 'file') throw invalid(`${path}: only files are expected in a backup`);
      let left = size;
      const data = (async function* () {
        while (left > 0) {
          const c = await reader.upTo(left);
          if (!c) throw invalid(`${path}: data runs past the end of the archive`);
          left -= c.length;
          yield c;
        }
      })();
      await onEntry({ path, size, data });
      for await (const _ of data) {
        /* skip what the handler left */
      }
      const pad = (512 - (size % 512)) % 512;
      if (pad > 0 && !(await reader.take(pad))) throw invalid(`${path}: data runs past the end of the archive`);
      off += 512 + size + pad;
    }
  } catch (e) {
    if (e instanceof BundleError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('Z_')) throw invalid(`damaged gzip stream (${code})`);
    throw e;
  } finally {
    src.destroy();
    gunzip.destroy();
  }
}

/** Pulls exact byte counts out of a stream of chunks. */
class BlockReader {
  private buf: Buffer = Buffer.alloc(0);
  private readonly it: AsyncIterator<Buffer>;
  private ended = false;

  constructor(stream: Readable) {
    this.it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  private async fill(n: number): Promise<boolean> {
    while (this.buf.length < n && !this.ended) {
      const r = await this.it.next();
      if (r.done) this.ended = true;
      else this.buf = this.buf.length === 0 ? r.value : Buffer.concat([this.buf, r.value]);
    }
    return this.buf.length >= n;
  }

  /** Exactly `n` bytes, or null at the end of the stream. */
  async take(n: number): Promise<Buffer | null> {
    if (!(await this.fill(n))) return null;
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Between 1 and `max` bytes, or null at the end of the stream. */
  async upTo(max: number): Promise<Buffer | null> {
    if (!(await this.fill(1))) return null;
    const out = this.buf.subarray(0, Math.min(max, this.buf.length));
    this.buf = this.buf.subarray(out.length);
    return out;
  }

  /** Whatever comes next, until the end (null). */
  async rest(): Promise<Buffer | null> {
    return this.upTo(Number.MAX_SAFE_INTEGER);
  }
}
