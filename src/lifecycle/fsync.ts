/**
 * Makes a file or folder durable (`fsync` through a read-only handle; on a folder, it makes
 * the names created or renamed in it durable).
 *
 * @example await fsyncPath('/backups/x.tar.gz'); await fsyncPath('/backups');
 */
import { open } from 'node:fs/promises';

export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
