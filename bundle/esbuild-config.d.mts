import type { BuildOptions } from 'esbuild';

/** See esbuild-config.mjs. */
export function esbuildOptions(o: {
  root: string;
  entries: Array<{ in: string; out: string }>;
  outdir: string;
  version: string;
  sqliteSha256?: string;
  define?: Record<string, string>;
}): BuildOptions;
