/**
 * From source, the plugin host cannot run through tsx: tsx compiles with esbuild's service (a
 * child process) and writes a cache under /tmp, and a host has neither child processes nor
 * write access there. So the server bundles the host entry and the worker thread with the
 * same esbuild options as `npm run build` (bundle/esbuild-config.mjs) into a folder of its work
 * root, once per process (a few tens of ms), named by the bundle's hash. Only runtime.ts calls
 * this, only in source mode; esbuild is a dev dependency and is never bundled.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { esbuildOptions } from '../../bundle/esbuild-config.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Builds (or finds) `<parent>/host-<hash>/{host.cjs,worker.cjs}`; returns that folder. */
export async function buildSourceHost(parent: string, version: string): Promise<string> {
  const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  const result = await esbuild.build({
    ...esbuildOptions({
      root: ROOT,
      entries: [
        { in: 'src/engine/pool/host-main.ts', out: 'host' },
        { in: 'src/engine/pool/worker.ts', out: 'worker' },
      ],
      outdir: join(parent, 'out'),
      version,
    }),
    write: false,
    logLevel: 'error',
  });
  const files = result.outputFiles.map((f) => ({ name: basename(f.path), bytes: f.contents }));
  const hash = createHash('sha256');
  for (const f of files) hash.update(f.name).update(f.bytes);
  const dir = join(parent, `host-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(join(dir, 'host.cjs'))) return dir;
  mkdirSync(parent, { recursive: true });
  const tmp = `${dir}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    mkdirSync(tmp, { mode: 0o755 });
    for (const f of files) writeFileSync(join(tmp, f.name), f.bytes, { mode: 0o644 });
    chmodSync(tmp, 0o755);
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(join(dir, 'host.cjs'))) throw e;
  }
  return dir;
}
