/**
 * Disk watermarks (CONTRACT §12): `checks.disk` of admin health turns `degraded` when free
 * space falls below `--disk-warn-free` (default 10 % of the file system), and mutating requests
 * are refused with 507 `INSUFFICIENT_STORAGE` below `--disk-min-free` (default 256 MiB) — before
 * SQLite or the artifact store hit the wall, so what is stored stays consistent and reads go
 * on. Free space is what an unprivileged writer may use (`statfs` `bavail`), of the emptiest of
 * the file systems holding the database and the artifacts; it is re-read at most every 500 ms.
 *
 * @example
 * const disk = new DiskWatermarks([dataDir], { warnFree: parseThreshold('10%'), minFree: parseThreshold('256MiB') });
 * disk.belowFloor(); // null, or { freeBytes, minFreeBytes }
 */
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CheckResult, HealthCheck } from '../ops/index.js';

/** A free-space threshold: bytes, or a percentage of the file system's size. */
export type Threshold = { bytes: number } | { percent: number };

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1000, kib: 1024, m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tb: 1000 ** 4, tib: 1024 ** 4 };

/**
 * `10%`, `256MiB`, `2GB`, `1048576`: a percentage (0–100) or a size with an optional unit
 * (binary `KiB MiB GiB TiB` or `K M G T`, decimal `KB MB GB TB`).
 *
 * @example parseThreshold('256MiB') // { bytes: 268435456 }
 */
export function parseThreshold(text: string): Threshold {
  const t = text.trim();
  const pct = /^(\d+(?:\.\d+)?)\s*%$/.exec(t);
  if (pct) {
    const percent = Number(pct[1]);
    if (percent > 100) throw new Error(`${text}: a percentage is at most 100`);
    return { percent };
  }
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(t);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new Error(`${text}: expected a size (e.g. 256MiB, 2GB, 1048576) or a percentage (10%)`);
  return { bytes: Math.floor(Number(m[1]) * unit) };
}

export interface DiskSpace {
  free: number;
  total: number;
}

export interface DiskOptions {
  warnFree: Threshold;
  minFree: Threshold;
  /** Injectable for tests of the arithmetic (default `statfsSync`). */
  statfs?: (path: string) => DiskSpace;
  cacheMs?: number;
}

/** The file system holding `path`, or its nearest existing parent (a folder made later). */
function statfsSpace(path: string): DiskSpace {
  for (let p = path; ; p = dirname(p)) {
    try {
      const s = statfsSync(p);
      return { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(p) === p) throw e;
    }
  }
}

function bytesOf(t: Threshold, total: number): number {
  return 'bytes' in t ? t.bytes : Math.ceil((total * t.percent) / 100);
}

const MiB = 1024 * 1024;
const mib = (n: number) => `${Math.floor(n / MiB)} MiB`;

export class DiskWatermarks {
  private cached: { at: number; space: DiskSpace } | null = null;
  private readonly statfs: (path: string) => DiskSpace;

  constructor(private readonly paths: readonly string[], private readonly opts: DiskOptions) {
    this.statfs = opts.statfs ?? statfsSpace;
  }

  /**
   * Free space of the emptiest file system among the paths: a reading at most `cacheMs` old
   * (the floor check runs on every write request), or a new one with `fresh`.
   */
  space(fresh = false): DiskSpace {
    const now = Date.now();
    if (!fresh && this.cached && now - this.cached.at < (this.opts.cacheMs ?? 500)) return this.cached.space;
    let worst: DiskSpace | null = null;
    for (const p of this.paths) {
      const s = this.statfs(p);
      if (!worst || s.free < worst.free) worst = s;
    }
    const space = worst ?? { free: Number.MAX_SAFE_INTEGER, total: Number.MAX_SAFE_INTEGER };
    this.cached = { at: now, space };
    return space;
  }

  /** `--disk-min-free` in bytes on a file system of `totalBytes` (a percentage depends on it). */
  floorBytes(totalBytes: number): number {
    return bytesOf(this.opts.minFree, totalBytes);
  }

  /** Below `--disk-min-free`: the numbers, for the refusal; otherwise null. */
  belowFloor(): { freeBytes: number; minFreeBytes: number } | null {
    const s = this.space();
    const min = this.floorBytes(s.total);
    return s.free < min ? { freeBytes: s.free, minFreeBytes: min } : null;
  }

  /**
   * `checks.disk`: degraded below the warning level or the floor. Always a new reading: an
   * operator (or a probe) asking for health after a disk filled up must not get the cached
   * reading of the last write request (CI saw `ok` 0.3 s after a tmpfs filled).
   */
  check(): CheckResult {
    const s = this.space(true);
    const warn = bytesOf(this.opts.warnFree, s.total);
    const min = this.floorBytes(s.total);
    const pct = s.total > 0 ? Math.round((s.free / s.total) * 1000) / 10 : 0;
    const free = `${mib(s.free)} free of ${mib(s.total)} (${pct}%)`;
    if (s.free < min) return { status: 'degraded', detail: `${free}: below --disk-min-free (${mib(min)}), writes are refused` };
    if (s.free < warn) return { status: 'degraded', detail: `${free}: below --disk-warn-free (${mib(warn)})` };
    return { status: 'ok', detail: free };
  }

  healthCheck(): HealthCheck {
    return { name: 'disk', run: () => this.check() };
  }
}
