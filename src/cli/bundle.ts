/**
 * `orchestrator bundle create|verify|import` (CONTRACT §8, §10). See docs/BUNDLES.md.
 * Summaries go to stdout as one JSON line; progress goes to stderr, and only when stderr is a
 * terminal. Exit codes: 0 ok, 1 invalid bundle or any other failure, 2 tenant missing.
 */
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { ApiError, parseJsonBounded, sha256Hex, systemClock } from '../core/index.js';
import type { TrustStore } from '../dags/signature.js';
import type { Store } from '../store/index.js';
import { DataDirLockedError } from '../store/errors.js';
import type { VerifiedBundle } from '../bundles/index.js';
import { TenantRequiredError, UsageError, type Flags } from './args.js';
import { EXIT, type Command } from './commands.js';

function progress(): ((message: string) => void) | undefined {
  return process.stderr.isTTY ? (m) => process.stderr.write(`bundle: ${m}…\n`) : undefined;
}

// Each command's run imports the bundle, DAG, engine and store modules when it runs (commands.ts).
async function trustFrom(flags: Flags, command: string): Promise<TrustStore> {
  const dirs = (flags['trust-dir'] as string[] | undefined) ?? [];
  if (dirs.length === 0) throw new UsageError(`--trust-dir is required (usage: orchestrator ${command})`);
  const { TrustStore } = await import('../dags/signature.js');
  const trust = new TrustStore();
  for (const d of dirs) trust.addDir(resolve(d));
  if (trust.size === 0) throw new UsageError(`no public keys (*.pem, *.pub) in ${dirs.join(', ')}`);
  return trust;
}

/** Reads a bundle file, refusing one over the size limit before reading it. */
async function readBundleFile(file: string): Promise<Buffer> {
  const { BundleError, DEFAULT_BUNDLE_LIMITS } = await import('../bundles/index.js');
  const size = statSync(file).size;
  if (size > DEFAULT_BUNDLE_LIMITS.maxBundleBytes) {
    throw new BundleError('LIMIT_EXCEEDED', `${file} is larger than ${DEFAULT_BUNDLE_LIMITS.maxBundleBytes} bytes`, { limit: 'maxBundleBytes' });
  }
  return readFileSync(file);
}

function summary(v: VerifiedBundle): Record<string, unknown> {
  return {
    bundleSha256: v.bundleSha256,
    rootHash: v.rootHash,
    signedBy: v.signedBy,
    tenants: v.tenants,
    createdBy: v.manifest.createdBy,
    files: v.fileCount,
    bytes: v.totalBytes,
    dags: v.dags.map((d) => ({ dagId: d.doc.dagId, version: d.doc.version, hash: d.hash, signedBy: d.signedBy })),
    schedules: v.schedules.map((s) => ({ scheduleId: s.scheduleId, dagId: s.incoming.doc.dagId, cron: s.incoming.doc.cron, signedBy: s.incoming.signedBy })),
    plugins: v.plugins.map((p) => ({ name: p.name, version: p.version })),
  };
}

function errorJson(e: ApiError): Record<string, unknown> {
  return { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) };
}

export const bundleCreateCommand: Command = {
  name: 'bundle create',
  summary: 'Create a signed, deterministic offline bundle (.tgz) of signed DAG documents, signed schedule documents and plugin folders.',
  examples: ['orchestrator bundle create --out demo.tgz --key fixtures/keys/dev-signing.key --tenant demo --dag fixtures/dags/demo/hello.json'],
  flags: [
    { name: 'out', kind: 'string', help: 'bundle file to write' },
    { name: 'key', kind: 'string', help: 'private key signing the manifest (PKCS8 PEM, Ed25519 or P-256)' },
    { name: 'tenant', kind: 'list', help: 'tenant the bundle may be imported for (required; repeat for several)' },
    { name: 'dag', kind: 'list', help: 'signed DAG document (JSON file)' },
    { name: 'schedule', kind: 'list', help: 'signed schedule document (a *.schedule.json file, docs/SCHEDULES.md)' },
    { name: 'plugin', kind: 'list', help: 'plugin folder (plugin.json + entry)' },
    { name: 'trust-dir', kind: 'list', help: 'also verify the result against these keys before writing it' },
  ],
  async run(f, pos) {
    const usageLine = 'orchestrator bundle create --out FILE --key KEY --tenant T... [--dag FILE]... [--schedule FILE]... [--plugin DIR]...';
    if (pos.length) throw new UsageError(`unexpected argument ${pos[0]} (usage: ${usageLine})`);
    if (!f.out || !f.key) throw new UsageError(`--out and --key are required (usage: ${usageLine})`);
    const tenants = (f.tenant as string[] | undefined) ?? [];
    if (tenants.length === 0) throw new UsageError(`--tenant is required: a bundle is imported only into the tenants it names (usage: ${usageLine})`);
    const dagFiles = (f.dag as string[] | undefined) ?? [];
    const scheduleFiles = (f.schedule as string[] | undefined) ?? [];
    const pluginDirs = (f.plugin as string[] | undefined) ?? [];
    if (dagFiles.length + scheduleFiles.length + pluginDirs.length === 0) throw new UsageError('give at least one --dag, --schedule or --plugin');
    const privateKeyPem = readFileSync(String(f.key), 'utf8');
    const [{ loadPrivateKey }, { createBundle, readPluginDir, verifyBundle }] = await Promise.all([import('../dags/keys.js'), import('../bundles/index.js')]);
    const { keyid } = loadPrivateKey(privateKeyPem);
    const readJson = (file: string) => {
      try {
        return parseJsonBounded(readFileSync(file, 'utf8'), 64);
      } catch (e) {
        throw new ApiError('VALIDATION_FAILED', `${file}: ${(e as Error).message}`, { file });
      }
    };
    const dags = dagFiles.map(readJson);
    const schedules = scheduleFiles.map(readJson);
    const plugins = pluginDirs.map((dir) => ({ name: basename(resolve(dir)), files: readPluginDir(resolve(dir)) }));
    let created;
    try {
      created = createBundle({ dags, schedules, plugins, tenants, privateKeyPem });
    } catch (e) {
      // The refused input file, by its index among the DAGs or the schedules.
      const file = e instanceof ApiError ? (dagFiles[e.details?.index as number] ?? scheduleFiles[e.details?.scheduleIndex as number]) : undefined;
      if (e instanceof ApiError && file !== undefined) throw new ApiError(e.code, `${file}: ${e.message}`, { ...e.details, file });
      throw e;
    }
    if (f['trust-dir']) verifyBundle(created.bytes, (await trustFrom(f, 'bundle create')).anyTenant(), { onProgress: progress() });
    const out = resolve(String(f.out));
    const tmp = `${out}.tmp-${process.pid}`;
    try {
      writeFileSync(tmp, created.bytes, { mode: 0o644 });
      renameSync(tmp, out);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
    const pathsUnder = (dir: string) => created.manifest.entries.filter((e) => e.path.startsWith(dir)).map((e) => e.path);
    process.stdout.write(
      JSON.stringify({
        out,
        size: created.bytes.length,
        sha256: sha256Hex(created.bytes),
        rootHash: created.rootHash,
        signedBy: [keyid],
        tenants: created.manifest.tenants,
        files: created.manifest.entries.length,
        dags: pathsUnder('dags/'),
        schedules: pathsUnder('schedules/'),
        plugins: plugins.map((p) => p.name),
      }) + '\n',
    );
    return EXIT.OK;
  },
};

export const bundleVerifyCommand: Command = {
  name: 'bundle verify',
  args: 'FILE',
  summary: 'Verify an offline bundle (signature, hashes, layout, DAG signatures, plugins, and with --tenant that it may be imported there); installs nothing.',
  examples: ['orchestrator bundle verify demo.tgz --trust-dir fixtures/keys/trust'],
  flags: [
    { name: 'trust-dir', kind: 'list', help: 'folder of trusted SPKI PEM public keys (DIR/<tenant>/ for keys trusted only for that tenant)' },
    { name: 'tenant', kind: 'string', help: 'check as an import into this tenant would: keys trusted for it, and the bundle names it' },
  ],
  async run(f, pos) {
    if (pos.length !== 1) throw new UsageError('usage: orchestrator bundle verify FILE --trust-dir DIR [--tenant T]');
    const file = resolve(pos[0]!);
    const trust = await trustFrom(f, 'bundle verify FILE --trust-dir DIR [--tenant T]');
    const tenant = f.tenant === undefined ? undefined : String(f.tenant);
    const { verifyBundle } = await import('../bundles/index.js');
    try {
      // Without --tenant: any key of the trust folder (installation-wide or a tenant's) will do.
      const v = verifyBundle(await readBundleFile(file), tenant === undefined ? trust.anyTenant() : trust, { tenant, onProgress: progress() });
      process.stdout.write(JSON.stringify({ ok: true, file, ...summary(v) }) + '\n');
      return EXIT.OK;
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      process.stdout.write(JSON.stringify({ ok: false, file, error: errorJson(e) }) + '\n');
      process.stderr.write(`orchestrator bundle verify: ${e.code}: ${e.message}\n`);
      return EXIT.FAILED;
    }
  },
};

export const bundleImportCommand: Command = {
  name: 'bundle import',
  args: 'FILE',
  summary: 'Verify an offline bundle and install it into a tenant of a data folder (server stopped), all or nothing.',
  examples: ['orchestrator bundle import demo.tgz --tenant demo --data-dir ./offline-data --trust-dir fixtures/keys/trust'],
  flags: [
    { name: 'tenant', kind: 'string', help: 'tenant the bundle is imported for (it must name it); its plugins belong to this tenant only' },
    { name: 'data-dir', kind: 'string', default: './data', help: 'data folder' },
    { name: 'trust-dir', kind: 'list', help: 'folder of trusted SPKI PEM public keys (DIR/<tenant>/ for keys trusted only for that tenant)' },
    { name: 'plugins-dir', kind: 'list', help: 'the server\'s operator plugin folders (as given to serve --plugins-dir): DAGs and plugins are checked against them' },
  ],
  async run(f, pos) {
    const usageLine = 'orchestrator bundle import FILE --tenant T --data-dir D --trust-dir DIR [--plugins-dir DIR]...';
    if (pos.length !== 1) throw new UsageError(`usage: ${usageLine}`);
    if (!f.tenant) throw new TenantRequiredError(`--tenant is required (usage: ${usageLine})`);
    const file = resolve(pos[0]!);
    const trust = await trustFrom(f, usageLine);
    const bytes = await readBundleFile(file);
    const dataDir = resolve(String(f['data-dir']));
    const [{ installationPlugins, loadPlugins }, { SqlitePorts, Store }, { DagService }, { importBundle }] = await Promise.all([
      import('../engine/index.js'),
      import('../store/index.js'),
      import('../dags/service.js'),
      import('../bundles/index.js'),
    ]);
    // The same plugins the server loads: operator folders, the data folder's tenant plugins.
    const sources = installationPlugins(dataDir, ((f['plugins-dir'] as string[] | undefined) ?? []).map((d) => resolve(d)));
    const registry = loadPlugins(sources);
    let store: Store;
    try {
      store = Store.open({ dataDir });
    } catch (e) {
      if (!(e instanceof DataDirLockedError)) throw e;
      process.stderr.write(
        `orchestrator bundle import: cannot open the data folder: ${e.message}.\n` +
          '  A running server holds this data folder: stop it first, or put the bundle in its --dags-dir\n' +
          '  (DIR/<tenant>/*.tgz) to have it imported at the next start. Nothing was installed.\n',
      );
      return EXIT.FAILED;
    }
    try {
      const dags = new DagService({ ports: new SqlitePorts(store), clock: systemClock, trust, allowUnsigned: false, resolvePlugin: registry.resolveFor });
      const report = await importBundle(bytes, { tenant: String(f.tenant), dags, tenantPluginsDir: sources.tenantRoot, onProgress: progress() });
      process.stdout.write(JSON.stringify({ ok: true, file, ...report }) + '\n');
      return EXIT.OK;
    } catch (e) {
      if (e instanceof ApiError) {
        process.stdout.write(JSON.stringify({ ok: false, file, error: errorJson(e) }) + '\n');
        process.stderr.write(`orchestrator bundle import: ${e.code}: ${e.message}\n  nothing was installed.\n`);
        return EXIT.FAILED;
      }
      throw e;
    } finally {
      store.close();
    }
  },
};

export const BUNDLE_COMMANDS: Command[] = [bundleCreateCommand, bundleVerifyCommand, bundleImportCommand];
