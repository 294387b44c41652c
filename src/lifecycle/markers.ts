/**
 * "A backup is reading this folder": one marker file per backup under
 * `DATA/.backups-running/<pid>-<random>`, made before the backup takes its database snapshot
 * and removed when it ends. Garbage collection deletes no artifact file while a live marker
 * exists (a marker whose process is gone is stale and removed), so every object a snapshot
 * names is still there when the backup copies it. Works across processes: `orchestrator
 * backup` beside a running server.
 *
 * @example
 * const done = beginBackup(dataDir);
 * try { … } finally { done(); }
 * backupRunning(dataDir); // false
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, unlinkSync, fsyncSync } from 'node:fs';
import { join } from 'node:path';

const DIR = '.backups-running';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Marks a backup of `dataDir` as running; returns the function that ends it. */
export function beginBackup(dataDir: string): () => void {
  const dir = join(dataDir, DIR);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${process.pid}-${randomBytes(6).toString('hex')}`);
  closeSync(openSync(file, 'wx'));
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return () => {
    try {
      unlinkSync(file);
    } catch {
      /* already gone */
    }
  };
}

/** Whether a live backup is reading the folder (stale markers are removed on the way). */
export function backupRunning(dataDir: string): boolean {
  const dir = join(dataDir, DIR);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return false;
  }
  let live = false;
  for (const n of names) {
    const pid = Number(n.split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) live = true;
    else {
      try {
        unlinkSync(join(dir, n));
      } catch {
        /* raced with its owner */
      }
    }
  }
  return live;
}
