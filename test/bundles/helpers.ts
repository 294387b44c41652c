/**
 * Shared parts of the bundle tests: signed sample DAGs, a real Store + DagService in a temp
 * folder, a snapshot of everything installed, and re-packing helpers to build damaged bundles.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../src/core/index.js';
import { DagService } from '../../src/dags/service.js';
import { dsseSign, signDag, TrustStore } from '../../src/dags/signature.js';
import { SqlitePorts, Store } from '../../src/store/index.js';
import { gunzipStrict, gzipDeterministic } from '../../src/bundles/gzip.js';
import { bundleLimits } from '../../src/bundles/limits.js';
import { BUNDLE_FORMAT_V1, BUNDLE_PAYLOAD_TYPE, buildManifest, MANIFEST_PATH, SIGNATURE_PATH } from '../../src/bundles/manifest.js';
import { canonicalJson } from '../../src/core/hash.js';
import { readTar, writeRawTar, writeTar, type RawTarEntry } from '../../src/bundles/tar.js';
import { reloadablePlugins, type ReloadableRegistry } from '../../src/engine/plugins/plugins.js';
import { PROGRAM_ARGS } from '../helpers/program.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const FIXTURES = join(ROOT, 'fixtures');
export const DEV_KEY_FILE = join(FIXTURES, 'keys', 'dev-signing.key');
export const TRUST_DIR = join(FIXTURES, 'keys', 'trust');
export const devKey = readFileSync(DEV_KEY_FILE, 'utf8');
export const trust = TrustStore.fromDir(TRUST_DIR);

/** A signed two-step DAG (noop → echo, or through `plugin` when given). */
export function dag(dagId: string, version = '1.0.0', opts: { description?: string; plugin?: string; key?: string } = {}): any {
  return signDag(
    {
      dagId,
      version,
      metadata: { description: opts.description ?? `${dagId} ${version}` },
      steps: [
        { id: 'a', plugin: opts.plugin ?? 'noop' },
        { id: 'b', plugin: 'echo', with: { x: '${{ steps.a.outputs.v }}' } },
      ],
      edges: [{ from: 'a', to: 'b' }],
    } as any,
    opts.key ?? devKey,
  );
}

/** A plugin folder's files (plugin.json + index.mjs). */
export function pluginFiles(name: string, version = '1.0.0', body = 'export default async () => ({ ok: true });\n') {
  return [
    { path: 'index.mjs', data: Buffer.from(body) },
    { path: 'plugin.json', data: Buffer.from(JSON.stringify({ name, version, entry: 'index.mjs', description: `${name} plugin` }, null, 2)) },
  ];
}

/** Writes a plugin folder to disk; returns its path. */
export function writePluginDir(parent: string, name: string, version = '1.0.0'): string {
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  for (const f of pluginFiles(name, version)) writeFileSync(join(dir, f.path), f.data);
  return dir;
}

/** The tenants the sample bundles are for. */
export const TENANTS = ['acme', 'other'];

export interface Env {
  dir: string;
  dataDir: string;
  /** Root of the tenant-owned plugin folders (`<dir>/<tenant>/<name>@<version>/`). */
  pluginsDir: string;
  /** A real registry over `operatorDir` and `pluginsDir`; `reload()` it to see what an import installed. */
  registry: ReloadableRegistry;
  /** An (empty) operator plugins folder, as `serve --plugins-dir`. */
  operatorDir: string;
  store: Store;
  dags: DagService;
  close(): void;
}

/** A real Store, plugin registry (built-ins, an operator folder, tenant plugins) and DagService in a temp folder. */
export function openEnv(): Env {
  const dir = mkdtempSync(join(tmpdir(), 'orch-bundle-'));
  const dataDir = join(dir, 'data');
  const pluginsDir = join(dir, 'tenant-plugins');
  const operatorDir = join(dir, 'operator-plugins');
  mkdirSync(operatorDir);
  const store = Store.open({ dataDir });
  const registry = reloadablePlugins({ operator: [operatorDir], tenantRoot: pluginsDir });
  const dags = new DagService({ ports: new SqlitePorts(store), clock: systemClock, trust, allowUnsigned: false, resolvePlugin: registry.resolveFor });
  return {
    dir,
    dataDir,
    pluginsDir,
    registry,
    operatorDir,
    store,
    dags,
    close() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function listTree(dir: string, rel = ''): string[] {
  let names: string[];
  try {
    names = readdirSync(join(dir, rel)).sort();
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const r = rel ? `${rel}/${n}` : n;
    const p = join(dir, r);
    return statSync(p).isDirectory() ? [`${r}/`, ...listTree(dir, r)] : [`${r} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`];
  });
}

/** Every row of every table, and every file of the plugins folder: compared before/after. */
export function snapshot(env: Env): string {
  const db = env.store.db.sqlite;
  const tables = (db.prepare("select name from sqlite_master where type = 'table' order by name").all() as Array<{ name: string }>).map((t) => t.name);
  const rows = Object.fromEntries(tables.map((t) => [t, db.prepare(`select * from "${t}"`).all()]));
  return JSON.stringify({ rows, plugins: listTree(env.pluginsDir) });
}

/** The files of a bundle (no checks beyond the archive layers). */
export function unpackFiles(bytes: Buffer): Map<string, Buffer> {
  const limits = bundleLimits();
  const out = new Map<string, Buffer>();
  for (const e of readTar(gunzipStrict(bytes, limits.maxUnpackedBytes), limits)) if (e.type === 'file') out.set(e.path, Buffer.from(e.data));
  return out;
}

/** Re-packs files as they are (no new manifest), plus optional raw entries. */
export function repack(files: Map<string, Buffer>, raw: RawTarEntry[] = []): Buffer {
  const tar = writeTar([...files.entries()].map(([path, data]) => ({ path, data })), bundleLimits());
  return gzipDeterministic(raw.length ? Buffer.concat([writeRawTar(raw).subarray(0, -1024), tar]) : tar);
}

/**
 * Packs arbitrary payload files with a freshly computed manifest for `tenants` (exactly as
 * given) signed by `key`; `tenants: null` makes a format /1 manifest (before tenant binding).
 */
export function packSigned(payload: Map<string, Buffer>, key = devKey, tenants: string[] | null = TENANTS): Buffer {
  const list = [...payload.entries()].map(([path, data]) => ({ path, data }));
  // The tenants as given (unsorted or repeated ones too), not normalised as buildManifest would.
  const manifest: Record<string, unknown> = { ...buildManifest(list, 'test', ['x']), tenants };
  if (tenants === null) {
    delete manifest.tenants;
    manifest.format = BUNDLE_FORMAT_V1;
  }
  const mBytes = Buffer.from(canonicalJson(manifest));
  const sig = Buffer.from(JSON.stringify(dsseSign(BUNDLE_PAYLOAD_TYPE, mBytes, key)));
  return gzipDeterministic(writeTar([...list, { path: MANIFEST_PATH, data: mBytes }, { path: SIGNATURE_PATH, data: sig }], bundleLimits()));
}

/** The payload files of a bundle (without manifest.json / manifest.sig.json). */
export function payloadOf(bytes: Buffer): Map<string, Buffer> {
  const files = unpackFiles(bytes);
  files.delete(MANIFEST_PATH);
  files.delete(SIGNATURE_PATH);
  return files;
}

/** Flips one bit of `buf` at `index` (in place). */
export function flip(buf: Buffer, index: number, mask = 0x01): Buffer {
  buf[index] = buf[index]! ^ mask;
  return buf;
}

/** Runs the CLI as a child process (../helpers/program.ts); `json` is stdout's last line parsed. */
export function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string; json: any }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...PROGRAM_ARGS, ...args], {
      cwd: ROOT,
      env: { ...process.env, ORCH_DATA_DIR: '', ORCH_TRUST_DIR: '', ORCH_PLUGINS_DIR: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      let json: unknown;
      try {
        json = JSON.parse(stdout.trim().split('\n').pop() ?? '');
      } catch {
        json = undefined;
      }
      resolve({ code: code ?? -1, stdout, stderr, json });
    });
  });
}
