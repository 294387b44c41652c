/**
 * The plugin folder's manifest (`plugin.json`, CONTRACT §9) and what a loaded plugin is.
 */
import semver from 'semver';
import { z } from 'zod';
import type { PluginRef } from '../pool/protocol.js';

export const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** The schema of `plugin.json`. */
export const PluginManifestSchema = z.object({
  name: z.string().regex(NAME_RE, 'lowercase letters, digits, ".", "_" or "-", at most 64'),
  version: z.string().refine((v) => semver.valid(v) === v, 'must be a SemVer 2.0 version'),
  entry: z.string().min(1),
  description: z.string().max(4096).default(''),
  inputsSchema: z.record(z.string(), z.unknown()).optional(),
  capabilities: z
    .object({ network: z.boolean().default(false), exec: z.array(z.string()).default([]) })
    .default({ network: false, exec: [] }),
});
export type PluginManifest = z.infer<typeof PluginManifestSchema>;

/** A loaded plugin: what DAG validation, pinning, `/admin/warm` and the pool need. */
export interface ResolvedPlugin {
  name: string;
  version: string;
  /** `name@version`. */
  ref: string;
  /** Content hash (built-ins: of their name and version; folders: of every file, `plugin-files.ts`). */
  hash: string;
  builtin: boolean;
  /** The tenant that owns it (a bundle's plugin), or null for built-in and operator plugins. */
  owner: string | null;
  description: string;
  inputsSchema?: Record<string, unknown>;
  capabilities: { network: boolean; exec: string[] };
  /** Folder plugins only: the plugin folder and the entry's file path. */
  dir?: string;
  entryPath?: string;
  /** What the worker needs to run it. */
  workerRef: PluginRef;
}

/** A plugin folder that cannot be loaded; `path` names the offending file or folder. */
export class PluginLoadError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'PluginLoadError';
    this.path = path;
  }
}
