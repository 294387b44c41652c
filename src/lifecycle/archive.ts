/**
 * The retention archive (`--retention-archive-dir DIR`): what a pass is about to prune, written
 * first as the usual NDJSON export (canonical lines, manifest with count and SHA-256) into
 * `DIR/<tenant>/<kind>-<time>-<n>.ndjson`, durably (temp file, fsync, rename, folder fsync),
 * so nothing is deleted without a record. An interrupted write leaves only a `.partial` file,
 * which the next pass removes; runs whose deletion was interrupted are archived again by the
 * next pass (an archive may repeat a run, never miss one).
 *
 * @example
 * const file = await writeArchive({ dir, tenant: 'demo', kind: 'runs', records, nowMs: Date.now() });
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ndjsonExport } from '../core/index.js';
import { fsyncPath } from './fsync.js';

let counter = 0;

export interface ArchiveRequest {
  dir: string;
  tenant: string;
  kind: 'runs' | 'events';
  records: Iterable<unknown> | AsyncIterable<unknown>;
  /** Extra manifest fields (an event archive's chain checkpoint). */
  extend?: (m: { count: number; sha256: string }) => Record<string, unknown>;
  nowMs: number;
  /** Called between chunks of lines, so a big archive never holds the event loop for long. */
  pause?: () => Promise<void>;
}

/** Writes one archive file; returns its path and how many records it holds. */
export async function writeArchive(r: ArchiveRequest): Promise<{ file: string; count: number }> {
  const folder = join(r.dir, r.tenant);
  await mkdir(folder, { recursive: true });
  const stamp = new Date(r.nowMs).toISOString().replace(/[-:]/g, '').replace('.', '');
  const file = join(folder, `${r.kind}-${stamp}-${process.pid}-${++counter}.ndjson`);
  const partial = `${file}.partial`;
  const out = createWriteStream(partial, { flags: 'wx' });
  let count = -1;
  try {
    let n = 0;
    for await (const line of ndjsonExport(r.records, r.extend)) {
      count++;
      if (!out.write(line)) await new Promise<void>((res) => out.once('drain', () => res()));
      if (++n % 256 === 0) await r.pause?.();
    }
    await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
    await fsyncPath(partial);
    await rename(partial, file);
    await fsyncPath(folder);
    return { file, count };
  } catch (e) {
    out.destroy();
    await unlink(partial).catch(() => undefined);
    throw e;
  }
}

/** Removes `.partial` files an interrupted pass left in a tenant's archive folder. */
export async function sweepPartials(dir: string, tenant: string): Promise<number> {
  const folder = join(dir, tenant);
  const names = await readdir(folder).catch(() => [] as string[]);
  let removed = 0;
  for (const n of names) {
    if (!n.endsWith('.partial')) continue;
    await unlink(join(folder, n)).catch(() => undefined);
    removed++;
  }
  return removed;
}
