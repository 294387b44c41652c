/**
 * The console's files, ready to serve: each asset with its bytes, a gzip copy and an entity
 * tag. The single executable (and `node dist/main.cjs`) carries them embedded by the build;
 * from source they are built with esbuild on first use (`npm start` pays ~0.3 s on the first
 * `/console/` request, never at start-up).
 *
 * @example
 * const { index, assets } = await loadConsoleAssets();
 * assets.get('assets/main-0123abcd.js')?.gzip;
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { embeddedConsole, sourceRoot } from '../core/runtime.js';
import type { ConsoleBuild } from './build.cjs';

/** Where index.html takes the server's `<meta>` tags (see src/console/app/index.html). */
export const HEAD_SLOT = '<!--stella:head-->';

export interface ConsoleAsset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  /** Strong entity tag: the SHA-256 of the body, quoted. */
  etag: string;
}

export interface ConsoleAssets {
  /** index.html with {@link HEAD_SLOT} still in it. */
  index: string;
  /** By path below `/console/` (`assets/main-<hash>.js`); immutable. */
  assets: ReadonlyMap<string, ConsoleAsset>;
  /** Every file gzipped, added up (the budget is 300 KB). */
  gzipBytes: number;
}

function prepare(build: ConsoleBuild): ConsoleAssets {
  const assets = new Map<string, ConsoleAsset>();
  let index: string | undefined;
  for (const [path, f] of Object.entries(build.files)) {
    if (path === 'index.html') {
      index = f.text;
      continue;
    }
    const body = Buffer.from(f.text, 'utf8');
    const etag = `"${createHash('sha256').update(body).digest('hex')}"`;
    assets.set(path, { type: f.type, body, gzip: gzipSync(body, { level: 9 }), etag });
  }
  if (index === undefined) throw new Error('the console build has no index.html');
  return { index, assets, gzipBytes: build.gzipBytes };
}

async function buildFromSource(): Promise<ConsoleBuild> {
  // A runtime require: the bundler must not pull esbuild into the server bundle.
  const req = createRequire(import.meta.url);
  const { buildConsole } = req('./build.cjs') as typeof import('./build.cjs');
  return buildConsole({ root: sourceRoot() });
}

let loading: Promise<ConsoleAssets> | undefined;

/** The console's files, loaded (or built) once per process; a failed build is retried next call. */
export function loadConsoleAssets(): Promise<ConsoleAssets> {
  loading ??= (async () => {
    const embedded = embeddedConsole();
    return prepare(embedded !== undefined ? (JSON.parse(embedded) as ConsoleBuild) : await buildFromSource());
  })();
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}
