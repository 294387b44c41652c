/**
 * One streaming artifact write (see `ArtifactStore.writer()`): chunks are appended to a temp
 * file in the store's folder and hashed as they pass; `commit()` fsyncs the file and moves it
 * into place under its hash. Only the chunk being written is held in memory. Calls may overlap:
 * writes are applied in call order, and `commit`/`abort` wait for the writes before them.
 */
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { PutResult } from './store.js';

type Adopt = (temp: string, hash: string, size: number) => Promise<boolean>;

export class ArtifactWriter {
  private readonly hasher: Hash = createHash('sha256');
  private tail: Promise<void> = Promise.resolve();
  private ended = false;
  private failure: unknown = null;
  /** Bytes written so far. */
  size = 0;

  constructor(
    private readonly fh: FileHandle,
    private readonly temp: string,
    private readonly adopt: Adopt,
    private readonly unlink: (path: string) => Promise<void>,
  ) {}

  /** Appends bytes; resolves once they are in the file (disk errors such as ENOSPC reject). */
  write(chunk: Uint8Array): Promise<void> {
    if (this.ended) return Promise.reject(new Error('artifact writer already ended'));
    const run = async (): Promise<void> => {
      let off = 0;
      while (off < chunk.byteLength) {
        const { bytesWritten } = await this.fh.write(chunk, off, chunk.byteLength - off);
        off += bytesWritten;
      }
      this.hasher.update(chunk);
      this.size += chunk.byteLength;
    };
    const p = this.tail.then(run);
    this.tail = p.catch((e: unknown) => {
      this.failure ??= e;
    });
    return p;
  }

  /** Makes the object durable under its hash; the writer is done afterwards. */
  async commit(): Promise<PutResult> {
    if (this.ended) throw new Error('artifact writer already ended');
    const pending = this.tail;
    this.ended = true;
    try {
      await pending;
      if (this.failure) throw this.failure;
      await this.fh.sync();
      await this.fh.close();
    } catch (err) {
      await this.fh.close().catch(() => undefined);
      await this.unlink(this.temp).catch(() => undefined);
      throw err;
    }
    const hash = this.hasher.digest('hex');
    const created = await this.adopt(this.temp, hash, this.size);
    return { hash, size: this.size, created };
  }

  /** Drops what was written (idempotent; never throws). */
  async abort(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.tail;
    await this.fh.close().catch(() => undefined);
    await this.unlink(this.temp).catch(() => undefined);
  }
}
