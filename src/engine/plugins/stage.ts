/**
 * Plugin hosts never read plugin folders in place: each plugin a host may run is copied once
 * (per pool, per content hash) into `<stage root>/<hash>/`, owned by the server, read-only
 * (folders 0755, files 0444), and the host's permission model grants exactly those copies.
 * Why: bundle-installed plugins live inside the data folder, which the plugin user must not be
 * able to read at all; an operator's folder may not be readable by that user either; and the
 * folder's content hash (plugin-files.ts) is checked before and after the copy, so the copy is
 * the code that was hashed at load and pinned (a file changed on disk since then is refused,
 * not run).
 *
 * Symbolic links are followed only when their target is inside the plugin folder (the copy
 * holds the target's bytes); a link leading outside is left out and reported — a permission
 * grant on the copy would otherwise let the plugin read what the link points to.
 *
 * @example
 * const stage = new PluginStage('/srv/orch-work/.plugins-1a2b', (m) => logger.warn(m));
 * const ref = await stage.prepare(plugin); // { dir, workerRef } pointing into the copy
 */
import { chmod, copyFile, lstat, mkdir, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { hashPluginDir } from './files.js';
import { StepError, type PluginRef } from '../pool/protocol.js';
import type { ResolvedPlugin } from './plugins.js';

export interface StagedPlugin {
  /** The read-only copy. */
  dir: string;
  /** What a worker runs: the entry inside the copy. */
  workerRef: PluginRef;
}

function inside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep));
}

export class PluginStage {
  private readonly staged = new Map<string, Promise<StagedPlugin>>();

  constructor(
    readonly root: string,
    private readonly warn: (message: string) => void,
  ) {}

  /** The staged copy of a folder plugin (built-ins have nothing to stage: undefined). */
  prepare(plugin: ResolvedPlugin): Promise<StagedPlugin> | undefined {
    if (plugin.builtin || !plugin.dir || !plugin.entryPath) return undefined;
    let p = this.staged.get(plugin.hash);
    if (!p) {
      p = this.copy(plugin);
      this.staged.set(plugin.hash, p);
      p.catch(() => this.staged.delete(plugin.hash));
    }
    return p;
  }

  private async copy(plugin: ResolvedPlugin): Promise<StagedPlugin> {
    const src = await realpath(plugin.dir!);
    const entryRel = relative(src, plugin.entryPath!);
    const dir = join(this.root, plugin.hash);
    const tmp = `${dir}.tmp`;
    await mkdir(this.root, { recursive: true });
    await rm(tmp, { recursive: true, force: true });
    // The folder's content hash (every file, links by target) before and after the copy: what
    // is copied is what was loaded and pinned, or the plugin's steps fail.
    const unchanged = (): void => {
      if (hashPluginDir(src) !== plugin.hash) {
        throw new StepError('PLUGIN_LOAD_FAILED', `plugin ${plugin.ref} changed on disk since it was loaded; reload the plugins (POST /admin/warm)`, {
          retryable: false,
        });
      }
    };
    try {
      unchanged();
      await this.copyTree(src, src, tmp, plugin.ref, new Set([src]));
      unchanged();
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
      throw e;
    }
    const entryUrl = `${pathToFileURL(join(dir, entryRel)).href}?h=${plugin.hash.slice(0, 16)}`;
    return { dir, workerRef: { name: plugin.name, version: plugin.version, entryUrl } };
  }

  /** Copies `from` (inside the plugin's real folder `root`) to `to`: files 0444, folders 0755. */
  private async copyTree(root: string, from: string, to: string, ref: string, seen: Set<string>): Promise<void> {
    await mkdir(to, { mode: 0o755 });
    for (const name of await readdir(from)) {
      const src = join(from, name);
      const dst = join(to, name);
      let st = await lstat(src);
      let real = src;
      if (st.isSymbolicLink()) {
        real = await realpath(src).catch(() => '');
        if (!real || !inside(root, real)) {
          this.warn(`plugin ${ref}: symbolic link ${relative(root, src)} leads outside the plugin folder; left out of the plugin host`);
          continue;
        }
        st = await stat(real);
      }
      if (st.isDirectory()) {
        if (seen.has(real)) continue; // a link back up the tree
        await this.copyTree(root, real, dst, ref, new Set([...seen, real]));
      }
      else if (st.isFile()) {
        await copyFile(real, dst);
        await chmod(dst, 0o444);
      }
    }
    await chmod(to, 0o755);
  }
}
