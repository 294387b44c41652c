/**
 * The files of a plugin folder and the plugin's content hash. The hash covers every file of
 * the folder (not only `plugin.json` and the entry: a helper module the entry imports is code
 * too), so a DAG pinned to a plugin's hash notices any change to what would run.
 *
 * Content hash = SHA-256 of the RFC 8785 canonical JSON of
 * `{"files":[{"path","sha256","size"}…]}` (regular files, `/`-separated paths relative to the
 * folder, sorted by path) — plus `{"path","link"}` entries for symbolic links, which are
 * recorded by their target and never followed. A bundle's plugin (files in memory) and the same
 * files installed on disk have the same hash.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalHash, sha256Hex } from '../../core/hash.js';

/** A file of a plugin folder, in memory. */
export interface PluginFile {
  /** Path relative to the plugin folder (`/`-separated). */
  path: string;
  data: Buffer;
}

/** What the content hash is made of, for one entry of the folder. */
export type PluginFileEntry = { path: string; sha256: string; size: number } | { path: string; link: string };

const byPath = (a: { path: string }, b: { path: string }): number => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path));

/**
 * The content hash of a plugin from its entries (in any order).
 *
 * @example
 * pluginContentHash([{ path: 'plugin.json', sha256: 'e3b0…', size: 0 }]) // '9f2c…'
 */
export function pluginContentHash(entries: readonly PluginFileEntry[]): string {
  return canonicalHash({ files: [...entries].sort(byPath) });
}

/**
 * The content hash of in-memory plugin files (a bundle's plugin folder).
 *
 * @example
 * hashPluginFiles([{ path: 'index.mjs', data: Buffer.from('export default async () => ({})') }])
 */
export function hashPluginFiles(files: readonly PluginFile[]): string {
  return pluginContentHash(files.map((f) => ({ path: f.path, sha256: sha256Hex(f.data), size: f.data.length })));
}

/**
 * Walks a plugin folder: regular files are passed to `onFile`, symbolic links to `onLink`
 * (never followed), anything else (a socket, a device) throws an Error naming it. Names are
 * visited in sorted order.
 */
function walk(dir: string, onFile: (abs: string, rel: string) => void, onLink: (abs: string, rel: string) => void): void {
  const visit = (abs: string, rel: string) => {
    for (const name of readdirSync(abs).sort()) {
      const p = join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(p);
      if (st.isSymbolicLink()) onLink(p, r);
      else if (st.isDirectory()) visit(p, r);
      else if (st.isFile()) onFile(p, r);
      else throw new Error(`${p}: only regular files and folders can be in a plugin folder`);
    }
  };
  visit(dir, '');
}

/**
 * The content hash of a plugin folder on disk (files are read one at a time, never all held).
 *
 * @example
 * hashPluginDir('plugins/digest-manifest') // '5d1e…'
 */
export function hashPluginDir(dir: string): string {
  const entries: PluginFileEntry[] = [];
  walk(
    dir,
    (abs, path) => {
      const data = readFileSync(abs);
      entries.push({ path, sha256: createHash('sha256').update(data).digest('hex'), size: data.length });
    },
    (abs, path) => entries.push({ path, link: readlinkSync(abs) }),
  );
  return pluginContentHash(entries);
}

/**
 * Every regular file under `dir` (recursively), with `/`-separated relative paths, sorted.
 * A symlink or any other special file is refused (an Error naming it): bundles carry files only.
 *
 * @example
 * readPluginDir('plugins/digest-manifest').map((f) => f.path) // ['index.mjs', 'plugin.json']
 */
export function readPluginDir(dir: string): PluginFile[] {
  const out: PluginFile[] = [];
  walk(
    dir,
    (abs, path) => out.push({ path, data: readFileSync(abs) }),
    (abs) => {
      throw new Error(`${abs}: symlinks cannot be bundled`);
    },
  );
  return out.sort(byPath);
}
