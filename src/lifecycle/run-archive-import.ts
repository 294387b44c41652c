/**
 * Installing a run archive (`run-archive.ts`) into a stopped data folder: all or nothing.
 *
 * 1. The archive is read as a stream and checked like a backup (`walkArchive`): manifest,
 *    signature (when trusted keys are given, required), every entry's size and SHA-256,
 *    nothing missing or extra. The manifest's tenant must be the one imported into.
 * 2. Artifacts go into the artifact store as they are read (content-addressed: an object
 *    already there is kept). They belong to nobody until step 4 commits, so an import that
 *    fails here leaves only unowned objects, which garbage collection removes; objects this
 *    import created are removed at once.
 * 3. The event piece is checked (`verifyEventChain`, from its checkpoint, every event of the
 *    tenant) and kept, byte for byte, as `DATA/imported-events/<tenant>/<sha256>.ndjson`: a
 *    separate, verifiable segment of the source's chain (`orchestrator events verify FILE`).
 *    The local chain is never touched, so its own verification is unchanged.
 * 4. One transaction: each DAG version is installed (its hash recomputed), kept when present
 *    with the same hash, or refuses the whole import when present with another hash; the
 *    tenant's ownership of each artifact is recorded; the runs are imported with every check of
 *    `import runs` (`importRunRecords`), and keep their logs and artifacts.
 *
 * @example
 * const r = await importRunArchive('demo.tar.gz', { ports, dataDir: './data', tenant: 'demo', trust });
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtifactStore, namedHashes, type ArtifactWriter } from '../artifacts/index.js';
import { ApiError, readNdjsonExport, sha256Hex } from '../core/index.js';
import { dagCanonicalJson, dagHash, semverKey } from '../dags/index.js';
import type { TrustStore } from '../dags/signature.js';
import { verifyEventChain } from '../events/index.js';
import { importRunRecordsIn, type ImportReport } from '../runs/transfer.js';
import { SCHEMA, type Ports, type StorePorts } from '../store/index.js';
import { BundleError } from '../bundles/index.js';
import { fsyncPath } from './fsync.js';
import { collect, walkArchive } from './restore.js';
import { artifactEntry, RUN_ARCHIVE_FILES, RUN_ARCHIVE_KIND, type RunArchiveManifest } from './run-archive.js';

/** Folder (under the data folder) of the event segments imported from other installations. */
export const IMPORTED_EVENTS_DIR = 'imported-events';

export interface RunArchiveImportOptions {
  ports: StorePorts;
  dataDir: string;
  tenant: string;
  /** Trusted keys: the archive must be signed by one of them. Absent: not verified. */
  trust?: TrustStore;
  /** With `trust`: an unsigned archive is accepted too (as `import runs --allow-unsigned`). */
  allowUnsigned?: boolean;
  nowMs?: number;
}

export interface RunArchiveImportReport {
  ok: true;
  tenant: string;
  runs: ImportReport;
  dags: { imported: number; unchanged: number };
  artifacts: number;
  events: number;
  /** The kept event segment, relative to the data folder (null when the archive has no events). */
  eventSegment: string | null;
  signedBy: string[];
}

const refuse = (message: string, extra: Record<string, unknown> = {}) => new ApiError('VALIDATION_FAILED', `${message}; nothing was imported`, extra);

/** Installs a run archive (see the module comment); throws and installs nothing on any problem. */
export async function importRunArchive(file: string, o: RunArchiveImportOptions): Promise<RunArchiveImportReport> {
  const cas = new ArtifactStore(join(o.dataDir, 'artifacts'));
  const created: string[] = [];
  const texts = new Map<string, string>();
  let segment: { name: string; created: boolean } | undefined;
  try {
    const { manifest, signedBy } = await walkArchive<RunArchiveManifest>(
      file,
      RUN_ARCHIVE_KIND,
      {
        trust: o.trust,
        allowUnsigned: o.allowUnsigned,
        onManifest: (m) => {
          if (m.tenant !== o.tenant) throw refuse(`the archive holds tenant ${JSON.stringify(m.tenant)}'s runs, not ${JSON.stringify(o.tenant)}'s`, { field: 'tenant' });
          if (m.schemaVersion > SCHEMA.version) throw refuse(`the archive has schema version ${m.schemaVersion}, newer than this orchestrator's ${SCHEMA.version}`);
          for (const e of m.entries) {
            if (!(RUN_ARCHIVE_FILES as readonly string[]).includes(e.path) && e.path !== artifactEntry(e.sha256)) {
              throw new BundleError('MANIFEST_INVALID', `${e.path} is neither a run archive file nor an artifact named by its hash`, { path: e.path });
            }
          }
        },
      },
      async (e, data) => {
        if ((RUN_ARCHIVE_FILES as readonly string[]).includes(e.path)) {
          texts.set(e.path, (await collect(data, e.size, e.path)).toString('utf8'));
          return;
        }
        const w: ArtifactWriter = await cas.writer();
        try {
          for await (const c of data) await w.write(c);
        } catch (err) {
          await w.abort();
          throw err;
        }
        const put = await w.commit();
        if (put.created) created.push(put.hash);
        if (put.hash !== e.sha256) throw new BundleError('HASH_MISMATCH', `${e.path}: SHA-256 does not match the manifest`, { path: e.path });
      },
    );
    const read = (name: string) => {
      try {
        return readNdjsonExport(texts.get(name)!);
      } catch (err) {
        throw refuse(`${name}: ${(err as Error).message}`);
      }
    };
    const runs = read('runs.ndjson').records;
    const dags = read('dags.ndjson').records as Array<Record<string, unknown>>;
    const artifacts = read('artifacts.ndjson').records as Array<{ hash: string; mediaType: string; size: number }>;
    const events = read('events.ndjson');
    const sizes = new Map(manifest.entries.map((x) => [x.path, x.size]));
    for (const a of artifacts) {
      if (typeof a.mediaType !== 'string' || sizes.get(artifactEntry(String(a.hash))) !== a.size) throw refuse(`artifacts.ndjson: ${String(a.hash)} is not an artifact of the archive`);
    }
    const chain = verifyEventChain(events.records, events.manifest);
    if (!chain.ok) throw refuse(`events.ndjson does not verify: ${chain.problems[0]!.problem}`);
    if (Object.keys(chain.tenants).some((t) => t !== o.tenant)) throw refuse('events.ndjson holds another tenant\'s events', { field: 'tenant' });
    if (events.records.length > 0) segment = await keepSegment(o.dataDir, o.tenant, texts.get('events.ndjson')!);
    const nowMs = o.nowMs ?? Date.now();
    const report = await o.ports.transaction(async (tx) => {
      const dagReport = await installDags(tx, o.tenant, dags, nowMs);
      for (const a of artifacts) await tx.artifacts.own({ tenant: o.tenant, hash: a.hash, size: a.size, mediaType: a.mediaType, createdMs: nowMs });
      for (const d of dags) {
        const holder = `dag:${String(d.dagId)}@${String(d.version)}`;
        await tx.artifacts.addRefs([...namedHashes(dagCanonicalJson(docOf(d)))].map((hash) => ({ tenant: o.tenant, hash, holder })));
      }
      return { dags: dagReport, runs: await importRunRecordsIn(tx, runs, { tenant: o.tenant }) };
    });
    return {
      ok: true, tenant: o.tenant, ...report, artifacts: artifacts.length, events: events.records.length,
      eventSegment: segment ? `${IMPORTED_EVENTS_DIR}/${o.tenant}/${segment.name}` : null, signedBy,
    };
  } catch (e) {
    for (const h of created) await unlink(cas.pathOf(h)).catch(() => undefined);
    if (segment?.created) await unlink(join(o.dataDir, IMPORTED_EVENTS_DIR, o.tenant, segment.name)).catch(() => undefined);
    throw e;
  }
}

/** The DAG document of an exported DAG version (`export dags` record). */
function docOf(rec: Record<string, unknown>): Parameters<typeof dagHash>[0] {
  const { tenant: _t, hash: _h, active: _a, createdUtc: _c, disabledUtc: _d, signedBy: _s, pluginPins: _p, createdBy: _cb, disabledBy: _db, ...doc } = rec;
  return doc as unknown as Parameters<typeof dagHash>[0];
}

async function installDags(tx: Ports, tenant: string, dags: Array<Record<string, unknown>>, nowMs: number): Promise<{ imported: number; unchanged: number }> {
  const r = { imported: 0, unchanged: 0 };
  for (const rec of dags) {
    const doc = docOf(rec);
    const where = `DAG ${String(rec.dagId)}@${String(rec.version)}`;
    if (rec.tenant !== tenant) throw refuse(`${where} belongs to another tenant`, { field: 'tenant' });
    const hash = dagHash(doc);
    if (hash !== rec.hash) throw refuse(`${where}: hash is not the hash of its definition`, { field: 'hash' });
    const dagId = String(rec.dagId);
    const version = String(rec.version);
    const existing = await tx.catalog.getVersion(tenant, dagId, version);
    if (existing) {
      if (existing.hash !== hash) throw refuse(`${where} exists here with another hash (${existing.hash})`, { field: 'hash', dagId, version });
      r.unchanged++;
      continue;
    }
    const createdMs = Date.parse(String(rec.createdUtc));
    const sig = (doc as { signature?: unknown }).signature;
    const inserted = await tx.catalog.insertVersion({
      tenant, dagId, version, versionKey: semverKey(version), hash, definition: dagCanonicalJson(doc),
      signature: sig === undefined ? null : JSON.stringify(sig), signedBy: JSON.stringify(rec.signedBy ?? []),
      pluginPins: rec.pluginPins == null ? null : JSON.stringify(rec.pluginPins), createdMs: Number.isNaN(createdMs) ? nowMs : createdMs,
      createdBy: typeof rec.createdBy === 'string' ? rec.createdBy : null,
    });
    if (!inserted) throw refuse(`${where} was stored here by another request meanwhile; import again`, { dagId, version });
    // A version disabled where it came from stays disabled here.
    if (rec.active === false) await tx.catalog.disableVersion(tenant, dagId, version, Date.parse(String(rec.disabledUtc)) || nowMs, typeof rec.disabledBy === 'string' ? rec.disabledBy : null);
    r.imported++;
  }
  return r;
}

/**
 * Keeps the event segment as `<sha256>.ndjson` (durably: temp file, fsync, rename); `created`
 * tells whether this call wrote it (so a failed import removes only its own).
 */
async function keepSegment(dataDir: string, tenant: string, text: string): Promise<{ name: string; created: boolean }> {
  const dir = join(dataDir, IMPORTED_EVENTS_DIR, tenant);
  const name = `${sha256Hex(text)}.ndjson`;
  if (existsSync(join(dir, name))) return { name, created: false };
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${name}.${process.pid}`);
  await writeFile(tmp, text, { flag: 'w' });
  await fsyncPath(tmp);
  await rename(tmp, join(dir, name));
  await fsyncPath(dir);
  return { name, created: true };
}
